"""Bulk import of report files: read, stage, validate, snap, route and insert in set-based steps."""
