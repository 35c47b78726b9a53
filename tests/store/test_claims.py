"""store/claims: one open request per student, claimed atomically before a workflow starts
(docs/interdistrict.md "One open request per student and year"), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from store.claims import START_GRACE, claim, release
from store.schema import RequestRow
from tests.support.races import at_once

NOW = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)
YEAR = "2027-2028"


def recorded(engine: Engine, request_id: str, is_open: bool) -> None:
    """The request's row as its workflow writes it."""
    with engine.begin() as connection:
        connection.execute(RequestRow.__table__.insert().values(
            id=request_id, district="paramount", student_id="S1", direction="out",
            school_year=YEAR, stage="submitted" if is_open else "withdrawn", is_open=is_open,
            overdue=False, received_at=NOW, updated_at=NOW, last_seq=1, state={},
        ))


def test_a_student_is_claimed_once_per_scope(store_engine: Engine) -> None:
    assert claim(store_engine, "paramount", YEAR, "S1", "out-1", NOW) is None
    assert claim(store_engine, "paramount", YEAR, "S1", "into-1", NOW) == "out-1"
    assert claim(store_engine, "paramount", YEAR, "S1", "out-1", NOW) is None  # its own
    assert claim(store_engine, "paramount", "2028-2029", "S1", "out-2", NOW) is None
    assert claim(store_engine, "paramount", YEAR, "S2", "out-3", NOW) is None
    assert claim(store_engine, "millard", YEAR, "S1", "out-4", NOW) is None


def test_a_claim_stands_while_its_request_is_open_or_starting(store_engine: Engine) -> None:
    assert claim(store_engine, "paramount", YEAR, "S1", "first", NOW) is None
    # Not recorded yet: its start may be under way, up to the grace's last second.
    last = NOW + START_GRACE - timedelta(seconds=1)
    assert claim(store_engine, "paramount", YEAR, "S1", "second", last) == "first"
    recorded(store_engine, "first", is_open=True)
    later = NOW + timedelta(days=40)
    assert claim(store_engine, "paramount", YEAR, "S1", "second", later) == "first"


def test_a_claim_of_a_closed_or_never_started_request_is_taken_over(store_engine: Engine) -> None:
    assert claim(store_engine, "paramount", YEAR, "S1", "withdrawn", NOW) is None
    recorded(store_engine, "withdrawn", is_open=False)
    assert claim(store_engine, "paramount", YEAR, "S1", "next", NOW) is None
    assert claim(store_engine, "paramount", "2028-2029", "S1", "lost", NOW) is None
    after_grace = NOW + START_GRACE  # "lost" never wrote a record: its start failed
    assert claim(store_engine, "paramount", "2028-2029", "S1", "found", after_grace) is None
    assert claim(store_engine, "paramount", "2028-2029", "S1", "again", after_grace) == "found"


def test_a_request_that_did_not_start_releases_its_claim(store_engine: Engine) -> None:
    assert claim(store_engine, "paramount", YEAR, "S1", "failed", NOW) is None
    release(store_engine, "failed")
    assert claim(store_engine, "paramount", YEAR, "S1", "retried", NOW) is None


def test_of_submissions_at_the_same_moment_exactly_one_claims_the_student(
    store_engine: Engine,
) -> None:
    ids = [f"request-{n}" for n in range(6)]
    results, errors = at_once([
        lambda request_id=request_id: claim(store_engine, "paramount", YEAR, "S1", request_id,
                                            NOW)
        for request_id in ids
    ])
    assert errors == []
    winners = [r for r in results if r is None]
    assert len(winners) == 1
    (holder,) = set(results) - {None}
    assert holder in ids and results.count(holder) == 5
