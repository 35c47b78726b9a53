"""Engines for the records store (SQLite by default, PostgreSQL in production through
psycopg 3). The worker's opening of the store (`engine_for`) creates a brand-new database at
the code's schema; the fronts' (`existing_engine`) creates nothing and refuses a store that
is not there (docs/cross-cutting.md "Settings"). The schema itself is Alembic's
(`store.migrate`, where the choices are written down)."""

from __future__ import annotations

import random
import sqlite3
import time
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert, create_engine, event
from sqlalchemy.engine import make_url

from store import migrate


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the CLI read while the worker writes; busy_timeout rides out short locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    # Switching a fresh file to WAL needs its exclusive lock, and SQLite reports "locked" at
    # once, without waiting, when the processes opening it together collide: try again.
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 99:
                raise
            time.sleep(0.01 + 0.01 * random.random())
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: safe against a crash of
    # the process; a power cut can lose the last commits, the trade `transfers dev` makes for
    # the Temporal server's own SQLite file too (PostgreSQL is the production store).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# The worker's 16 activity threads and its event loop may each hold a connection at once.
# SQLAlchemy's default pool keeps 5 and opens and closes the others for every use: a busy
# worker spent 1-2% of its time connecting (py-spy, bench/school_year.py).
POOL_SIZE = 20


def open_engine(url: str, schema: str | None = None) -> Engine:
    """An engine on the database as it is: nothing created or migrated (`transfers db`).
    ``schema`` (PostgreSQL) puts the tables in a schema of their own: the store tests use it
    to keep runs apart."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, hide_parameters=True, pool_size=POOL_SIZE)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    # hide_parameters: a database error becomes an activity's failure message, which Temporal
    # keeps unencrypted; the parameters (a state, a notice's body) hold student data.
    return create_engine(
        url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True,
        pool_size=POOL_SIZE,
    )


def upsert_insert(dialect: str, table: Any) -> Insert:
    """An INSERT that can take ``ON CONFLICT`` for the store's database (``dialect``, an
    engine's ``dialect.name``): the store runs on SQLite or PostgreSQL, and both spell it
    the same way through their own dialect's insert."""
    # Imported here: PostgreSQL's dialects (asyncpg's among them) take 70 ms a command that
    # reads the store need not pay.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def make_engine(url: str, schema: str | None = None) -> Engine:
    """An engine on the store: an empty database is migrated to head first (a database
    made before migrations is stamped); one that has a revision is left as it is, and the
    worker checks it (`store.migrate.check_current`). Safe when the worker and the CLI open
    a fresh database at the same moment: the migrations run under a lock."""
    engine = open_engine(url, schema)
    migrate.prepare(engine)
    return engine


@cache
def engine_for(url: str) -> Engine:
    """One engine per URL per process (activities share it); the store is made when it is
    not there (the worker's way)."""
    engine = _engine_of(url)
    migrate.prepare(engine)
    return engine


@cache
def _engine_of(url: str) -> Engine:
    # One pool per URL whichever way it was opened (the tests run a worker and the fronts in
    # one process). A test that removes the store disposes it: the next use reconnects.
    return open_engine(url)


class NoStore(LookupError):
    """No records store where the settings point; nothing was created. ``where``: the
    SQLite file, or the database's URL without its password."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


_present: set[str] = set()  # URLs whose store this process has seen: asked once


@cache
def _sqlite_file(url: str) -> tuple[bool, str | None]:
    """Whether ``url`` is SQLite's, and its file (parsed once: a page asks five times)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite", parsed.database


def existing_engine(url: str) -> Engine:
    """The engine on a store that is there, as it is: no folder, file or table is created,
    nothing migrated; `NoStore` when there is none (an absent SQLite file, a database with
    no store's tables). The worker, `transfers dev` and `transfers db upgrade` make it."""
    sqlite, file = _sqlite_file(url)
    # Looked at every time, without opening it: SQLite would create a missing file.
    if sqlite and (not file or file == ":memory:" or not Path(file).is_file()):
        raise NoStore(str(Path(file).resolve()) if file else ":memory:")
    engine = _engine_of(url)
    if url not in _present:
        if not migrate.has_store(engine):
            raise NoStore(migrate.display_url(engine.url))
        _present.add(url)
    return engine
