"""The read model of the worklist and the search on each request's row (store/read_model.py,
store/records.py, migration 0007): written on every upsert, filled from the JSON state by
the migration for rows written before it; on SQLite and, when TRANSFERS_TEST_DATABASE_URL is
set, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, select

from models.stages import Stage
from models.within_request import RecommendationKind, WithinStage
from store import migrate, records
from store.engine import open_engine
from store.read_model import fold, read_model_values
from store.schema import RequestRow
from tests.support.databases import backends, postgres_url, throwaway_schema, with_search_path
from tests.support.read_models import interdistrict, within, within_request

D = date(2027, 3, 10)
READ_MODEL = ("next_due", "next_kind", "next_waits_on", "next_action", "school",
              "student_name", "search", "parent_email")  # 0007's columns, and 0012's


def row(engine: Engine, request_id: str) -> dict[str, Any]:
    with engine.connect() as connection:
        found = connection.execute(
            select(*(getattr(RequestRow, c) for c in READ_MODEL)).where(RequestRow.id == request_id)
        ).one()
    return dict(found._mapping)


def write(engine: Engine, state: Any) -> None:
    records.record_event(engine, state, state.history[-1])


# ---- fold --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "folded"), [
    ("José", "jose"), ("JOSÉ", "jose"), ("García-Núñez", "garcia-nunez"),
    ("Ångström", "angstrom"), ("Straße", "strasse"), ("ﬁne", "fine"), ("Zoë", "zoe"),
    ("plain", "plain"),
])
def test_fold_ignores_case_and_accents(text: str, folded: str) -> None:
    assert fold(text) == folded


# ---- written on every upsert --------------------------------------------------------------


def test_each_stage_change_rewrites_the_next_deadline(store_engine: Engine) -> None:
    rid = "paramount-2027-2028-out-t0001"
    write(store_engine, interdistrict(Stage.awaiting_documents, rid, 1, documents_due=D))
    assert row(store_engine, rid)["next_due"] == D
    assert (row(store_engine, rid)["next_kind"], row(store_engine, rid)["next_waits_on"]) == (
        "documents", "parent")
    write(store_engine, interdistrict(Stage.under_review, rid, 2, documents_due=D,
                                      decision_due=date(2027, 4, 1),
                                      statutory_due=date(2027, 4, 20)))
    found = row(store_engine, rid)
    assert (found["next_due"], found["next_kind"], found["next_waits_on"],
            found["next_action"]) == (date(2027, 4, 1), "decision", "staff", "decide")
    write(store_engine, interdistrict(Stage.approved, rid, 3, decision_due=date(2027, 4, 1),
                                      assigned_school="roosevelt-elementary",
                                      permit_id=f"PERMIT-{rid}"))
    found = row(store_engine, rid)
    assert (found["next_due"], found["next_kind"], found["next_waits_on"]) == (None, None, None)
    assert found["school"] == "roosevelt-elementary"
    assert f"permit-{rid}" in found["search"]


def test_an_older_state_never_overwrites_the_read_model(store_engine: Engine) -> None:
    rid = "paramount-2027-2028-out-t0002"
    write(store_engine, interdistrict(Stage.under_review, rid, 2, decision_due=D,
                                      statutory_due=D))
    write(store_engine, interdistrict(Stage.awaiting_documents, rid, 1, documents_due=D))
    assert row(store_engine, rid)["next_kind"] == "statutory"


def test_names_ids_and_addresses_are_searchable_folded(store_engine: Engine) -> None:
    state = within(WithinStage.awaiting_recommendation,
                   request=within_request(student_id="S-77", first="José", last="Muñoz",
                                          parent="Ángela Muñoz", email="Angela@Example.org"),
                   flags=[RecommendationKind.special_education])
    write(store_engine, state)
    found = row(store_engine, state.id)
    assert found["student_name"] == "José Muñoz"
    assert found["search"].split("\n") == [
        "jose munoz", "s-77", "angela munoz", "angela@example.org", state.id]
    assert (found["next_due"], found["next_kind"], found["next_action"], found["school"]) == (
        None, "recommendation", "within.recommend.special_education", "norris-elementary")


# ---- rows written before 0007 are filled by the migration ----------------------------------


@pytest.fixture(params=backends())
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.sqlite3'}"
        return
    with throwaway_schema("rm") as schema:
        yield with_search_path(str(postgres_url()), schema)


def test_the_migration_fills_the_rows_written_before_it(old_url: str) -> None:
    engine = open_engine(old_url)
    states = [
        interdistrict(Stage.awaiting_release, f"paramount-2027-2028-into-t{n:04d}",
                      release_due=date(2027, 3, n), request={"direction": "into"})
        for n in range(1, 4)
    ] + [within(WithinStage.offered, offer_deadline=D,
                request=within_request(first="Zoë", last="Ødegaard"))]
    with engine.begin() as connection:
        command.upgrade(migrate._config(connection), "0006")
    old_columns = sa.table("requests", *(sa.column(c.name, c.type)
                                         for c in RequestRow.__table__.columns
                                         if c.name not in READ_MODEL))
    with engine.begin() as connection:
        for state in states:
            values = records._request_values(state)
            connection.execute(sa.insert(old_columns),
                               {k: v for k, v in values.items() if k not in READ_MODEL})
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    for state in states:
        assert row(engine, state.id) == {**read_model_values(state)}
    # NFKD takes the diaeresis off ë; ø is a letter of its own, not o with a mark.
    assert row(engine, states[3].id)["search"].startswith("zoe ødegaard\n")
    engine.dispose()


# ---- a rebuild keeps it right ----------------------------------------------------------------


def test_a_rebuild_corrects_an_edited_read_model(store_engine: Engine) -> None:
    from store import rebuild

    state = interdistrict(Stage.appeal_pending, "paramount-2027-2028-out-t0009", 3,
                          appeal_decision_due=D)
    write(store_engine, state)
    with store_engine.begin() as connection:
        connection.execute(sa.update(RequestRow).where(RequestRow.id == state.id).values(
            next_due=date(2030, 1, 1), next_waits_on="staff", search="someone else"))
    before = rebuild.snapshot(store_engine)
    rebuild.write_request(store_engine, state)
    assert row(store_engine, state.id) == read_model_values(state)
    found = rebuild.differences(before, rebuild.snapshot(store_engine))
    (difference,) = [d for d in found if d.what == "request"]
    assert set(difference.columns) == {"next_due", "next_waits_on", "search"}


def test_a_bulk_load_writes_the_rows_one_by_one_would(store_engine: Engine, tmp_path: Path
                                                      ) -> None:
    states = [interdistrict(Stage.awaiting_documents, f"paramount-2027-2028-out-b{n:04d}", 2,
                            documents_due=date(2027, 3, n)) for n in range(1, 6)]
    records.record_states(store_engine, states)
    for state in states:
        assert records.get_request(store_engine, state.id) == state
        assert records.get_history(store_engine, state.id) == state.history
        assert row(store_engine, state.id) == read_model_values(state)


def test_a_history_read_with_its_process_known_is_the_one_read_without(
    store_engine: Engine,
) -> None:
    """`store.records.get_history`'s ``within``, which a status page passes to spare a
    query, reads the same entries, of the process's own kind, as looking the process up."""
    for state in (interdistrict(Stage.under_review, seq=3),
                  within(WithinStage.in_lottery, seq=3)):
        records.record_states(store_engine, [state])
        known = records.get_history(store_engine, state.id,
                                    within=state.id.startswith("millard"))
        assert known == records.get_history(store_engine, state.id) == state.history
        assert {type(entry) for entry in known} == {type(state.history[0])}
