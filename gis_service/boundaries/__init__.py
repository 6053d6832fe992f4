"""Boundary generations and their administrative units: loading, checking, deriving."""
