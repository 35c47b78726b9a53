"""What the exports and the dashboard read (store/reports.py), on SQLite and, when
TRANSFERS_TEST_DATABASE_URL is set, on PostgreSQL: a district's school year and nothing else,
the placements with their permits (those of earlier years too), stage counts, and what a
request counts as."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from models.stages import Stage
from models.state import RequestState
from models.within_district import Program, SeatKey
from models.within_request import WithinStage
from store import reports
from store.records import AnyState
from tests.support.reports import (
    interdistrict,
    paramount_year,
    permit_of,
    within,
    write,
    write_lottery,
    write_permits,
)


def test_requests_of_a_district_and_year_only_in_order_of_receipt(store_engine: Engine) -> None:
    made = paramount_year(store_engine)
    found = reports.requests_of(store_engine, "paramount", "2027-2028")
    assert [s.id for s in found] == [made[k].id for k in "abcdefg"]
    assert found[2] == made["c"]  # the whole state, as written
    assert [s.id for s in reports.requests_of(store_engine, "paramount", "2026-2027")] == [
        "paramount-2026-2027-out-z"]
    assert reports.requests_of(store_engine, "millard", "2027-2028") == []


def test_stages_are_counted_by_process(store_engine: Engine) -> None:
    paramount_year(store_engine)
    write(store_engine, within("millard-w1", WithinStage.placed, 1),
          within("millard-w2", WithinStage.submitted, 2))
    assert reports.stage_counts(store_engine, "paramount", "2027-2028") == {
        ("interdistrict", "approved"): 2, ("interdistrict", "denied"): 1,
        ("interdistrict", "deemed_denied"): 1, ("interdistrict", "appeal_pending"): 1,
        ("interdistrict", "under_review"): 1, ("interdistrict", "awaiting_documents"): 1,
    }
    assert reports.stage_counts(store_engine, "millard", "2027-2028") == {
        ("within", "placed"): 1, ("within", "submitted"): 1}


def test_placements_are_the_years_approvals_and_the_permits_carried_into_it(
    store_engine: Engine,
) -> None:
    made = paramount_year(store_engine)
    carried = interdistrict("paramount-2026-2027-into-x", Stage.approved, 10, direction="into",
                            school_year="2026-2027", assigned_school="keppel")
    write(store_engine, carried)
    # b's permit is in 2027-2028; a's has gone on to 2028-2029 (still a's); x's, issued for
    # 2026-2027, is in 2027-2028 now, a grade up.
    write_permits(store_engine, permit_of(made["b"]),
                  permit_of(made["a"], school_year="2028-2029", grade=5),
                  permit_of(carried, grade=5))
    found = reports.placements(store_engine, "paramount", "2027-2028")
    assert [(p.request.id, p.permit.id if p.permit else None) for p in found] == [
        ("paramount-2026-2027-into-x", "PERMIT-paramount-2026-2027-into-x"),
        ("paramount-2027-2028-into-b", "PERMIT-paramount-2027-2028-into-b"),
        ("paramount-2027-2028-out-a", "PERMIT-paramount-2027-2028-out-a"),
    ]
    assert found[2].permit is not None and found[2].permit.school_year == "2028-2029"


def test_a_placement_whose_permit_is_not_written_yet_has_none(store_engine: Engine) -> None:
    write(store_engine, within("millard-w1", WithinStage.placed, 1))
    (found,) = reports.placements(store_engine, "millard", "2027-2028")
    assert (found.request.id, found.permit) == ("millard-w1", None)


def test_the_lottery_of_the_year(store_engine: Engine) -> None:
    seats = {SeatKey(school="norris-elementary", program=Program.montessori, grade=0): 6}
    write_lottery(store_engine, seats)
    write_lottery(store_engine, seats, school_year="2026-2027")
    (record,) = reports.lotteries_of(store_engine, "millard", "2027-2028")
    assert (record.school_year, record.seat_map()) == ("2027-2028", seats)
    assert reports.lotteries_of(store_engine, "paramount", "2027-2028") == []


def test_what_a_request_counts_as() -> None:
    decided = datetime(2027, 3, 20, tzinfo=UTC)
    cases: list[tuple[AnyState, str]] = [
        (interdistrict("i1", Stage.approved, 1), "approved"),
        (interdistrict("i2", Stage.denied, 2, decided_at=decided), "denied"),
        (interdistrict("i3", Stage.appeal_pending, 3, decided_at=decided), "denied"),
        (interdistrict("i4", Stage.appeal_pending, 4), "deemed_denied"),  # never written
        (interdistrict("i5", Stage.deemed_denied, 5), "deemed_denied"),
        (interdistrict("i6", Stage.under_review, 6), "pending"),
        (interdistrict("i7", Stage.awaiting_documents, 7), "pending"),
        (within("w1", WithinStage.placed, 1), "placed"),
        (within("w2", WithinStage.waitlisted, 2), "waitlisted"),
        (within("w3", WithinStage.in_lottery, 3), "pending"),
        (within("w4", WithinStage.offer_expired, 4), "offer_expired"),
    ]
    assert [(s.id, reports.outcome(reports.counted(s))) for s, _ in cases] == [
        (s.id, o) for s, o in cases]


def deemed_then_appealed(request_id: str, n: int) -> RequestState:
    """Deemed denied (EC 46600.1), then appealed to the county: its stage says neither."""
    state = interdistrict(request_id, Stage.appeal_pending, n, decision_due=date(2027, 3, 31))
    history = [*state.history[:2], state.history[2].model_copy(
        update={"stage": Stage.deemed_denied}), state.history[3]]
    return state.model_copy(update={"history": history})


def test_a_deemed_denial_is_found_in_the_history_after_the_stage_moved_on() -> None:
    assert not reports.counted(interdistrict("i1", Stage.appeal_pending, 1)).deemed_denied
    assert reports.counted(deemed_then_appealed("i2", 2)).deemed_denied


def test_what_is_counted_reads_the_same_from_the_columns_as_from_the_states(
    store_engine: Engine,
) -> None:
    paramount_year(store_engine)
    write(store_engine, deemed_then_appealed("paramount-2027-2028-out-h", 12),
          within("millard-w1", WithinStage.offered, 1, offer_deadline=date(2027, 3, 20)))
    for district in ("paramount", "millard"):
        light = reports.counted_of(store_engine, district, "2027-2028")
        whole = [reports.counted(s)
                 for s in reports.requests_of(store_engine, district, "2027-2028")]
        assert light == whole
    (h,) = [c for c in reports.counted_of(store_engine, "paramount", "2027-2028")
            if c.id.endswith("-h")]
    assert (h.deemed_denied, reports.outcome(h)) == (True, "deemed_denied")
    (w,) = reports.counted_of(store_engine, "millard", "2027-2028")
    assert (w.process, w.decision_due, reports.outcome(w)) == ("within", None, "offered")
