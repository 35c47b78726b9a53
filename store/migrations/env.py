"""Alembic's environment for the records store.

`store.migrate` runs it with ``config.attributes["connection"]``: a connection already in
the transaction that holds the migration lock, so every revision, and the version table's
update, commits or rolls back together. The context options (the version table's schema on
PostgreSQL, batch mode on SQLite) come from `store.migrate.context_options`, which the
revision check uses too."""

from __future__ import annotations

from alembic import context

from store.migrate import context_options
from store.schema import Base

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError(
        "the records store migrates through store.migrate (`transfers db upgrade`), "
        "with a connection; there is no alembic.ini and no offline (--sql) mode"
    )

context.configure(
    connection=connection, target_metadata=Base.metadata, **context_options(connection)
)
with context.begin_transaction():
    context.run_migrations()
