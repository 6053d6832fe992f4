"""Database access: the embedded cluster, engines, the schema and migrations."""
