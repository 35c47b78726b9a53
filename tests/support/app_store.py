"""The application layer's environment for the read models' tests: a data folder of the
test's own, the shipped districts, and the records store on SQLite, or on PostgreSQL (a
schema of the test's own) when TRANSFERS_TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app import context
from store.engine import engine_for
from tests.support.databases import backends, postgres_url, throwaway_schema, with_search_path

SETTINGS = ("TRANSFERS_DATABASE_URL", "TRANSFERS_DISTRICTS_DIR", "TRANSFERS_SMTP_HOST")


@pytest.fixture(params=backends())
def app_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    if request.param == "sqlite":
        # The fronts never make a store; the worker does (store.engine.engine_for).
        (tmp_path / "data").mkdir()
        engine_for(f"sqlite:///{tmp_path / 'data' / 'records.sqlite3'}")
        yield context.engine()
        return
    with throwaway_schema("rm") as schema:
        url = with_search_path(str(postgres_url()), schema)
        monkeypatch.setenv("TRANSFERS_DATABASE_URL", url)
        engine_for(url)
        engine = context.engine()
        yield engine
        engine.dispose()


def write(engine: Engine, state: Any) -> None:
    from store import records

    records.record_event(engine, state, state.history[-1])
