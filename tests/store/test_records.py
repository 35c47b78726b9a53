"""The records store (store/records.py) and notice delivery records (store/notices.py), on
SQLite and, when TRANSFERS_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import Engine, func, select

from models.stages import Stage
from models.state import RequestState
from store import notices, records
from store.schema import EventRow, RequestRow
from tests.support.factories import STAGES, T0, as_utc, make_request, state_at
from tests.support.races import at_once


def record(engine: Engine, state: RequestState) -> None:
    records.record_event(engine, state, state.history[-1])


def event_count(engine: Engine, request_id: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(EventRow).where(EventRow.request_id == request_id)
        ).scalar_one()


def request_row(engine: Engine, request_id: str) -> RequestRow:
    (row,) = [r for r in records.list_requests(engine) if r.id == request_id]
    return row


# ---- record_event ------------------------------------------------------------------------


def test_first_event_inserts_the_request_and_its_audit_entry(store_engine: Engine) -> None:
    state = state_at(1)
    record(store_engine, state)
    assert records.get_request(store_engine, state.id) == state
    assert records.get_history(store_engine, state.id) == state.history
    row = request_row(store_engine, state.id)
    assert (row.district, row.student_id, row.direction, row.school_year) == (
        "paramount",
        "S1001",
        "out",
        "2027-2028",
    )
    assert (row.stage, row.is_open, row.last_seq) == ("submitted", True, 1)


def test_later_events_update_the_request_and_append_to_the_trail(store_engine: Engine) -> None:
    for seq in (1, 2, 3):
        record(store_engine, state_at(seq, decision_due=date(2027, 3, 31)))
    stored = records.get_request(store_engine, "PUSD-2027-0001")
    assert stored is not None
    assert stored.stage is Stage.under_review
    assert stored.decision_due == date(2027, 3, 31)
    assert [h.seq for h in records.get_history(store_engine, stored.id)] == [1, 2, 3]
    row = request_row(store_engine, stored.id)
    assert (row.stage, row.last_seq, row.decision_due) == ("under_review", 3, date(2027, 3, 31))
    assert as_utc(row.updated_at) == T0 + timedelta(hours=3)
    assert as_utc(row.received_at) == T0


def test_a_retried_write_of_the_same_seq_is_written_once(store_engine: Engine) -> None:
    first, second = state_at(1), state_at(2)
    record(store_engine, first)
    record(store_engine, second)
    record(store_engine, second)  # the activity is retried after a lost reply
    record(store_engine, second)
    assert event_count(store_engine, second.id) == 2
    assert records.get_history(store_engine, second.id) == second.history
    assert records.get_request(store_engine, second.id) == second


def test_an_older_state_never_overwrites_a_newer_one(store_engine: Engine) -> None:
    record(store_engine, state_at(1))
    newest = state_at(4)  # approved: closed
    record(store_engine, newest)
    record(store_engine, state_at(2))  # a late retry of an older write lands afterwards
    record(store_engine, state_at(3))
    assert records.get_request(store_engine, newest.id) == newest
    row = request_row(store_engine, newest.id)
    assert (row.stage, row.is_open, row.last_seq) == ("approved", False, 4)
    # ... but its audit entry, which was missing, is kept.
    assert records.get_history(store_engine, newest.id) == newest.history


def test_history_is_ordered_by_seq_whatever_the_write_order(store_engine: Engine) -> None:
    full = state_at(4)
    for seq in (3, 1, 4, 2):
        records.record_event(store_engine, state_at(seq), full.history[seq - 1])
    history = records.get_history(store_engine, full.id)
    assert [h.seq for h in history] == [1, 2, 3, 4]
    assert [h.event for h in history] == ["event-1", "event-2", "event-3", "event-4"]
    assert [h.actor for h in history] == ["avalos", "system", "avalos", "system"]
    assert [h.reason for h in history] == ["why 1", "why 2", "why 3", "why 4"]


def test_history_instants_come_back_as_the_same_instants(store_engine: Engine) -> None:
    # A district-local instant is stored as an instant, not as a wall-clock reading.
    pacific = timezone(timedelta(hours=-8))
    state = state_at(1)
    local = state.history[0].model_copy(update={"at": datetime(2027, 3, 1, 9, 0, tzinfo=pacific)})
    records.record_event(store_engine, state, local)
    (entry,) = records.get_history(store_engine, state.id)
    assert entry.at.tzinfo is not None
    assert entry.at == datetime(2027, 3, 1, 17, 0, tzinfo=UTC)


def test_history_of_an_unknown_request_is_empty(store_engine: Engine) -> None:
    assert records.get_history(store_engine, "nope") == []
    assert records.get_request(store_engine, "nope") is None


def test_histories_of_two_requests_stay_apart(store_engine: Engine) -> None:
    record(store_engine, state_at(1, "A"))
    record(store_engine, state_at(1, "B"))
    record(store_engine, state_at(2, "B"))
    assert [h.seq for h in records.get_history(store_engine, "A")] == [1]
    assert [h.seq for h in records.get_history(store_engine, "B")] == [1, 2]


def test_request_ids_like(store_engine: Engine) -> None:
    for request_id in ("PUSD-2027-0001", "PUSD-2027-0001-2", "PUSD-2027-0002"):
        record(store_engine, state_at(1, request_id))
    assert sorted(records.request_ids_like(store_engine, "PUSD-2027-0001")) == [
        "PUSD-2027-0001",
        "PUSD-2027-0001-2",
    ]


# ---- find_open_request -------------------------------------------------------------------


def test_find_open_request_finds_the_open_one(store_engine: Engine) -> None:
    record(store_engine, state_at(2, "OPEN"))
    assert records.find_open_request(store_engine, "paramount", "S1001", "2027-2028") == "OPEN"


def test_find_open_request_ignores_closed_requests(store_engine: Engine) -> None:
    record(store_engine, state_at(4, "CLOSED"))  # approved
    withdrawn = [Stage.submitted, Stage.withdrawn]
    record(store_engine, state_at(2, "WITHDRAWN", stages=withdrawn))
    assert records.find_open_request(store_engine, "paramount", "S1001", "2027-2028") is None
    record(store_engine, state_at(1, "NEW"))
    assert records.find_open_request(store_engine, "paramount", "S1001", "2027-2028") == "NEW"


def test_find_open_request_matches_student_year_and_district(store_engine: Engine) -> None:
    record(store_engine, state_at(1, "OPEN"))
    assert records.find_open_request(store_engine, "paramount", "S9999", "2027-2028") is None
    assert records.find_open_request(store_engine, "paramount", "S1001", "2028-2029") is None
    assert records.find_open_request(store_engine, "downey", "S1001", "2027-2028") is None


def test_a_request_that_closes_is_no_longer_found(store_engine: Engine) -> None:
    record(store_engine, state_at(3, "R"))
    assert records.find_open_request(store_engine, "paramount", "S1001", "2027-2028") == "R"
    record(store_engine, state_at(4, "R"))
    assert records.find_open_request(store_engine, "paramount", "S1001", "2027-2028") is None


# ---- list_requests -----------------------------------------------------------------------

REVIEW = [Stage.submitted, Stage.under_review]
DOCS = [Stage.submitted, Stage.awaiting_documents]
APPROVED = [Stage.submitted, Stage.approved]


def seed_listing(engine: Engine) -> None:
    def student(n: int) -> dict:
        return {"student": {"id": f"S{n}"}}

    record(engine, state_at(
        2, "A", REVIEW, decision_due=date(2027, 3, 10), overdue=True,
        request=make_request(**student(1)),
    ))
    record(engine, state_at(
        2, "B", REVIEW, decision_due=date(2027, 3, 20), request=make_request(**student(2)),
    ))
    record(engine, state_at(2, "C", DOCS, request=make_request(**student(3))))
    # Closed, with a stale overdue flag and an early due date: never in the open listings.
    record(engine, state_at(
        2, "D", APPROVED, decision_due=date(2027, 3, 1), overdue=True,
        request=make_request(**student(4)),
    ))
    record(engine, state_at(
        2, "E", REVIEW, decision_due=date(2027, 3, 5),
        request=make_request(district="other", **student(5)),
    ))


def ids(rows: list[RequestRow]) -> list[str]:
    return [r.id for r in rows]


def test_list_requests_orders_by_next_deadline_then_decision_due(store_engine: Engine) -> None:
    seed_listing(store_engine)
    # D is closed and C waits on no date: neither has a next deadline; D's decision date
    # puts it before C.
    assert ids(records.list_requests(store_engine)) == ["E", "A", "B", "D", "C"]
    assert ids(records.list_requests(store_engine, limit=2)) == ["E", "A"]


def test_list_requests_by_district(store_engine: Engine) -> None:
    seed_listing(store_engine)
    assert ids(records.list_requests(store_engine, district="paramount")) == ["A", "B", "D", "C"]
    assert ids(records.list_requests(store_engine, district="other")) == ["E"]


def test_list_requests_by_stage(store_engine: Engine) -> None:
    seed_listing(store_engine)
    assert ids(records.list_requests(store_engine, stage="under_review")) == ["E", "A", "B"]
    assert ids(records.list_requests(store_engine, stage="awaiting_documents")) == ["C"]
    assert ids(records.list_requests(store_engine, stage="approved")) == ["D"]
    assert records.list_requests(store_engine, stage="denied") == []


def test_list_requests_overdue_only_open_ones(store_engine: Engine) -> None:
    seed_listing(store_engine)
    assert ids(records.list_requests(store_engine, overdue=True)) == ["A"]


def test_list_requests_due_before_is_strict_and_open_only(store_engine: Engine) -> None:
    seed_listing(store_engine)
    assert ids(records.list_requests(store_engine, due_before=date(2027, 3, 20))) == ["E", "A"]
    assert ids(records.list_requests(store_engine, due_before=date(2027, 3, 21))) == [
        "E", "A", "B",
    ]
    assert records.list_requests(store_engine, due_before=date(2027, 3, 5)) == []


def test_list_requests_open_only(store_engine: Engine) -> None:
    seed_listing(store_engine)
    assert ids(records.list_requests(store_engine, open_only=True)) == ["E", "A", "B", "C"]


def test_list_requests_filters_combine(store_engine: Engine) -> None:
    seed_listing(store_engine)
    listed = records.list_requests(
        store_engine, district="paramount", stage="under_review", due_before=date(2027, 3, 21)
    )
    assert ids(listed) == ["A", "B"]
    assert ids(records.list_requests(store_engine, district="other", overdue=True)) == []


# ---- notice delivery records -------------------------------------------------------------


def claim(engine: Engine, key: str = "R1:receipt:0") -> bool:
    return notices.claim(
        engine, key, "R1", "receipt", ["maria@example.com", "staff@example.org"],
        "We received your request", "Dear Maria Lopez, ...",
    )


def only_notice(engine: Engine, key: str = "R1:receipt:0"):  # type: ignore[no-untyped-def]
    (row,) = [n for n in notices.list_notices(engine) if n.key == key]
    return row


def test_a_new_key_is_claimed_and_recorded(store_engine: Engine) -> None:
    assert claim(store_engine) is True
    row = only_notice(store_engine)
    assert (row.request_id, row.kind, row.status, row.attempts) == ("R1", "receipt", "sending", 1)
    assert row.recipients == "maria@example.com, staff@example.org"
    assert row.subject == "We received your request"
    assert row.body == "Dear Maria Lopez, ..."
    assert row.sent_at is None


def test_a_sent_key_is_never_claimed_again(store_engine: Engine) -> None:
    assert claim(store_engine) is True
    notices.mark_sent(store_engine, "R1:receipt:0")
    assert claim(store_engine) is False
    assert claim(store_engine) is False
    row = only_notice(store_engine)
    assert (row.status, row.attempts, row.error) == ("sent", 1, "")
    assert row.sent_at is not None


def test_a_failed_notice_can_be_claimed_again(store_engine: Engine) -> None:
    assert claim(store_engine) is True
    notices.mark_failed(store_engine, "R1:receipt:0", "SMTPDataError: 451 try later")
    row = only_notice(store_engine)
    assert (row.status, row.error, row.attempts) == ("failed", "SMTPDataError: 451 try later", 1)

    assert claim(store_engine) is True
    row = only_notice(store_engine)
    assert (row.status, row.attempts) == ("sending", 2)

    notices.mark_sent(store_engine, "R1:receipt:0")
    row = only_notice(store_engine)
    assert (row.status, row.error, row.attempts) == ("sent", "", 2)
    assert claim(store_engine) is False


def test_keys_are_independent(store_engine: Engine) -> None:
    assert claim(store_engine, "R1:receipt:0") is True
    notices.mark_sent(store_engine, "R1:receipt:0")
    assert claim(store_engine, "R1:denied:5") is True
    assert {n.key: n.status for n in notices.list_notices(store_engine)} == {
        "R1:receipt:0": "sent",
        "R1:denied:5": "sending",
    }


def test_list_notices_by_request(store_engine: Engine) -> None:
    claim(store_engine, "R1:receipt:0")
    notices.claim(store_engine, "R2:receipt:0", "R2", "receipt", ["x@example.com"], "s", "b")
    assert [n.key for n in notices.list_notices(store_engine, "R2")] == ["R2:receipt:0"]
    assert len(notices.list_notices(store_engine)) == 2


def test_schema_creation_survives_concurrent_first_starts(tmp_path) -> None:
    """The worker and the CLI can open a fresh database at the same moment."""
    from store.engine import make_engine

    for run in range(5):
        url = f"sqlite:///{tmp_path / f'race{run}.sqlite3'}"
        _, errors = at_once([lambda url=url: make_engine(url).dispose()] * 6)
        assert errors == []


def test_the_stages_of_many_requests_in_one_read(store_engine: Engine) -> None:
    record(store_engine, state_at(1, "A"))
    record(store_engine, state_at(3, "B"))
    found = records.stages_of(store_engine, ["A", "B", "NOT-THERE"])
    assert found == {"A": STAGES[0].value, "B": STAGES[2].value}
    assert records.stages_of(store_engine, []) == {}
