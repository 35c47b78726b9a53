"""The records store's revisions, one file each (Alembic skips this file)."""
