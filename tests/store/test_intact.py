"""store/records: a damaged records store is refused by name, not worked on (the trust
issue's finding 7; docs/cross-cutting.md "A damaged records store")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from store import records
from store.engine import make_engine
from store.records import StoreUnusable, intact_engine
from tests.support.factories import state_at


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StoreUnusable, match="records.sqlite3.*is damaged.*restore it"):
        intact_engine(f"sqlite:///{path}")


def test_a_store_with_damaged_pages_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    engine = make_engine(url)
    for n in range(300):  # enough rows for several pages
        state = state_at(2, f"R{n:04d}")
        records.record_event(engine, state, state.history[-1])
    engine.dispose()
    with (tmp_path / "records.sqlite3").open("r+b") as file:
        file.seek(4096 * 5)
        file.write(os.urandom(4096 * 3))
    with pytest.raises(StoreUnusable, match="is damaged"):
        intact_engine(url)


def test_an_intact_store_is_opened(tmp_path: Path) -> None:
    engine = intact_engine(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    state = state_at(1, "R0001")
    records.record_event(engine, state, state.history[-1])
    assert [r.id for r in records.list_requests(engine)] == ["R0001"]
