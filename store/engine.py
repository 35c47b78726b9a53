"""Engine and schema creation for the records store (SQLite by default, PostgreSQL in
production through psycopg 3)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex, CreateTable

from store.schema import Base


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the CLI read while the worker writes; busy_timeout rides out short locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str, schema: str | None = None) -> Engine:
    """An engine with the schema created. ``schema`` (PostgreSQL) puts the tables in a
    schema of their own: the store tests use it to keep runs apart."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    _create_schema(engine)
    return engine


def _create_schema(engine: Engine) -> None:
    """Create missing tables and indexes with IF NOT EXISTS. The worker and the CLI may both
    do it at the same moment on a fresh database; PostgreSQL can still report such a race as
    an error, after which the next attempt finds everything there."""
    for attempt in range(5):
        try:
            with engine.begin() as connection:
                for table in Base.metadata.sorted_tables:
                    connection.execute(CreateTable(table, if_not_exists=True))
                    for index in table.indexes:
                        connection.execute(CreateIndex(index, if_not_exists=True))
            return
        except DBAPIError:
            if attempt == 4:
                raise


@cache
def engine_for(url: str) -> Engine:
    """One engine per URL per process (activities share it)."""
    return make_engine(url)
