"""Throwaway databases for the records store: SQLite in the test's folder always, and
PostgreSQL when TRANSFERS_TEST_DATABASE_URL is set (CI sets it, and fails if it is
unreachable): a schema of the test's own, or a whole database for the fault tests, dropped
after."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL_VARIABLE = "TRANSFERS_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    """The test PostgreSQL server's URL, or None when the tests run on SQLite only."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def backends() -> list[str]:
    """The databases a store test runs on: ``sqlite``, and ``postgresql`` when configured."""
    return ["sqlite", "postgresql"] if postgres_url() else ["sqlite"]


def admin_engine(url: str) -> Engine:
    """A plain engine on ``url`` (no migrations, no schema): for creating and dropping."""
    return create_engine(url)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``schema`` as its search_path, the way TRANSFERS_DATABASE_URL names one."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def throwaway_schema(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL schema ``<prefix>_<hex>`` on the test server, dropped (with
    everything in it) on exit; yields its name."""
    url = postgres_url()
    assert url, f"{POSTGRES_URL_VARIABLE} is not set"
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = admin_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def throwaway_database(prefix: str, postgres_only: bool = False) -> Iterator[str | None]:
    """A new PostgreSQL database ``<prefix>_<hex>`` (not a schema: the fault tests cut the
    worker's connections to it), dropped on exit, yielding its URL; without PostgreSQL, None
    (the caller's SQLite default), or a skip when ``postgres_only``."""
    base = postgres_url()
    if not base:
        if postgres_only:
            pytest.skip(f"needs PostgreSQL: set {POSTGRES_URL_VARIABLE} (CI sets it)")
        yield None
        return
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_postgres(url: str) -> None:
    """Drop every table of the records store and its schema revision from ``url``'s default
    schema (the end-to-end stacks that share it start empty)."""
    from store.engine import engine_for
    from store.schema import Base

    engine = admin_engine(url)
    with engine.begin() as connection:
        for table in [*Base.metadata.tables, "alembic_version"]:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()
    # This process's engine on it was made (and migrated) for the tables just dropped: the
    # next one opened migrates the empty store again.
    engine_for.cache_clear()


def made_store() -> Engine:
    """The records store the environment names, made as the worker or `transfers db upgrade`
    make it: a front never makes one (docs/cross-cutting.md "Settings")."""
    from app import context
    from store.engine import engine_for

    return engine_for(context.settings().database_url)
