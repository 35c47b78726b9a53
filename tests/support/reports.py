"""States of known shape for the exports and the dashboard (store/reports.py, app/exports.py,
app/dashboard.py): requests of both processes as the records store holds them, their permits
and a lottery's designated seats, written by the store's own functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from models.decisions import DenialReason
from models.lottery_record import LotteryRecord, LotteryStage, SeatCount
from models.permits import PermitCondition, PermitHolder, PermitProcess, PermitState
from models.stages import Stage
from models.state import RequestState
from models.within_district import Program, SeatKey
from models.within_request import WithinKind, WithinRequest, WithinRequestState, WithinStage
from store import lotteries, permits, records
from tests.support.factories import make_request, state_at

YEAR = "2027-2028"
PACIFIC = "America/Los_Angeles"
CENTRAL = "America/Chicago"
RECEIVED = datetime(2027, 2, 1, 17, 0, tzinfo=UTC)
DUE = date(2027, 3, 31)
# 10 p.m. on March 31 in Los Angeles, already April 1 in UTC: on time in the district's zone.
LAST_EVENING = datetime(2027, 4, 1, 5, 0, tzinfo=UTC)

PATHS = {  # the stages each kind of request went through, the last its stage now
    Stage.approved: [Stage.submitted, Stage.under_review, Stage.approved],
    Stage.denied: [Stage.submitted, Stage.under_review, Stage.denied],
    Stage.appeal_pending: [Stage.submitted, Stage.under_review, Stage.denied,
                           Stage.appeal_pending],
    Stage.deemed_denied: [Stage.submitted, Stage.under_review, Stage.deemed_denied],
    Stage.under_review: [Stage.submitted, Stage.under_review],
    Stage.awaiting_documents: [Stage.submitted, Stage.awaiting_documents],
}


def interdistrict(
    request_id: str, stage: Stage, n: int, direction: str = "out",
    other: str = "Downey Unified School District", school_year: str = YEAR,
    district: str = "paramount", student: dict[str, Any] | None = None,
    **fields: Any,
) -> RequestState:
    """An interdistrict request of student ``S<n>``, received ``n`` hours after RECEIVED."""
    path = PATHS[stage]
    request = make_request(
        district=district, direction=direction, other_district=other, school_year=school_year,
        student={"id": f"S{n:04d}", "first_name": f"Student{n}", "last_name": "Tester",
                 **(student or {})},
    )
    state = state_at(len(path), request_id, stages=path, request=request, **fields)
    received = RECEIVED + timedelta(hours=n)
    if stage is Stage.approved:
        state.permit_id = state.permit_id or f"PERMIT-{request_id}"
    return state.model_copy(update={"received_at": received, "timezone": PACIFIC})


def within(
    request_id: str, stage: WithinStage, n: int, school: str = "norris-elementary",
    program: Program = Program.montessori, grade: int = 1, **fields: Any,
) -> WithinRequestState:
    """A within-district request of Millard's student ``M<n>`` for ``school``; placed there
    when ``stage`` is placed."""
    request = WithinRequest.model_validate({
        "district": "millard", "school_year": YEAR, "school": school, "program": program,
        "student": {"id": f"M{n:04d}", "first_name": f"Pupil{n}", "last_name": "Berg",
                    "grade": grade, "residency": "other_resident",
                    "home_school": "abbott-elementary", "current_school": "abbott-elementary"},
        "parent": {"name": "Ella Berg", "email": "ella@example.org",
                   "relationship": "natural_parent"},
    })
    placed = stage is WithinStage.placed
    return WithinRequestState(
        id=request_id, request=request, kind=WithinKind.next_year, timezone=CENTRAL,
        stage=stage, received_at=RECEIVED + timedelta(hours=n),
        assigned_school=school if placed else None,
        assigned_program=program if placed else None,
        permit_id=f"PERMIT-{request_id}" if placed else None, **fields,
    )


def permit_of(state: RequestState | WithinRequestState, school_year: str = YEAR,
              grade: int | None = None, school: str = "keppel",
              school_name: str = "Mark Keppel Elementary School") -> PermitState:
    """The permit ``state`` issued, as its workflow records it in ``school_year``."""
    within_district = isinstance(state, WithinRequestState)
    student = state.request.student
    return PermitState(
        id=state.permit_id or f"PERMIT-{state.id}", request_id=state.id,
        district=state.request.district,
        process=PermitProcess.within_district if within_district else PermitProcess.interdistrict,
        holder=PermitHolder(student_id=student.id, student_name=student.full_name,
                            parent_name=state.request.parent.name,
                            parent_email=state.request.parent.email),
        school=state.assigned_school or school, school_name=school_name,
        condition=PermitCondition.until_level_end, school_year=school_year,
        grade=student.grade if grade is None else grade, level_last_grade=5,
    )


def write(engine: Engine, *states: RequestState | WithinRequestState) -> None:
    for state in states:
        records.record_events(engine, state, state.history)


def write_permits(engine: Engine, *states: PermitState) -> None:
    for state in states:
        permits.save_permit(engine, state)


def write_lottery(engine: Engine, seats: dict[SeatKey, int], school_year: str = YEAR) -> None:
    lotteries.save_lottery(engine, LotteryRecord(
        id=f"lottery-millard-{school_year}", district_id="millard", school_year=school_year,
        seed="ab" * 16, stage=LotteryStage.certified,
        window_closes=datetime(2027, 2, 15, 23, 0, tzinfo=UTC),
        seats=[SeatCount(key=key, seats=n) for key, n in seats.items()],
    ))


def paramount_year(engine: Engine) -> dict[str, RequestState]:
    """Paramount's 2027-2028, of a shape a person checks by hand (the dashboard's tests
    count it; the exports' read it back):

    - ``a``: out, approved the evening of its due day (local), on time
    - ``b``: into from Compton, approved on time, placed at Keppel
    - ``c``: into, denied two days late: no_space and overcrowding
    - ``d``: out, deemed denied, never decided
    - ``e``: out, denied on time (no_space), appeal pending
    - ``f``: into, under review past its due date (overdue)
    - ``g``: out, awaiting documents (no due date yet)
    and, not counted: an approval of 2026-2027 and a request of another district."""
    on_time = datetime(2027, 3, 20, 18, 0, tzinfo=UTC)
    late = datetime(2027, 4, 2, 18, 0, tzinfo=UTC)
    made = {
        "a": interdistrict("paramount-2027-2028-out-a", Stage.approved, 1, decision_due=DUE,
                           decided_at=LAST_EVENING),
        "b": interdistrict("paramount-2027-2028-into-b", Stage.approved, 2, direction="into",
                           other="Compton Unified School District", decision_due=DUE,
                           decided_at=on_time, assigned_school="keppel"),
        "c": interdistrict("paramount-2027-2028-into-c", Stage.denied, 3, direction="into",
                           decision_due=DUE, decided_at=late,
                           denial_reasons=[DenialReason.no_space, DenialReason.overcrowding]),
        "d": interdistrict("paramount-2027-2028-out-d", Stage.deemed_denied, 4,
                           decision_due=DUE, overdue=True),
        "e": interdistrict("paramount-2027-2028-out-e", Stage.appeal_pending, 5,
                           decision_due=DUE, decided_at=on_time,
                           denial_reasons=[DenialReason.no_space]),
        "f": interdistrict("paramount-2027-2028-into-f", Stage.under_review, 6,
                           direction="into", decision_due=DUE, overdue=True),
        "g": interdistrict("paramount-2027-2028-out-g", Stage.awaiting_documents, 7),
    }
    earlier = interdistrict("paramount-2026-2027-out-z", Stage.approved, 8,
                            school_year="2026-2027", decision_due=date(2026, 3, 31),
                            decided_at=datetime(2026, 3, 1, 18, tzinfo=UTC))
    elsewhere = interdistrict("other-2027-2028-out-y", Stage.approved, 9, district="other",
                              decision_due=DUE, decided_at=on_time)
    write(engine, *made.values(), earlier, elsewhere)
    return made
