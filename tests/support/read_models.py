"""Request states of either process in any stage, as the records store holds them, for the
read models' tests (the worklist, the search, the deadlines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models.people import Parent
from models.stages import Stage
from models.state import HistoryEntry, RequestState
from models.within_district import Program, Residency
from models.within_request import (
    WithinHistoryEntry,
    WithinKind,
    WithinRequest,
    WithinRequestState,
    WithinStage,
    WithinStudent,
)
from tests.support.factories import make_request

T0 = datetime(2027, 3, 1, 17, 0, tzinfo=UTC)


def interdistrict(
    stage: Stage, request_id: str = "paramount-2027-2028-out-t0001", seq: int = 1,
    request: dict[str, Any] | None = None, **fields: Any,
) -> RequestState:
    """A Paramount request in ``stage`` after ``seq`` audit entries."""
    history = [HistoryEntry(seq=i, at=T0 + timedelta(hours=i), stage=stage, event=f"e{i}",
                            actor="avalos") for i in range(1, seq + 1)]
    return RequestState(
        id=request_id, request=make_request(**(request or {})),
        timezone="America/Los_Angeles", stage=stage, received_at=T0, history=history,
        **fields,
    )


def within_request(
    district: str = "millard", student_id: str = "S00001", first: str = "Student",
    last: str = "Tester", parent: str = "Parent One", email: str = "parent1@example.org",
    school: str = "norris-elementary", **student: Any,
) -> WithinRequest:
    return WithinRequest(
        district=district, school_year="2027-2028",
        student=WithinStudent(
            id=student_id, first_name=first, last_name=last, grade=0,
            residency=Residency.other_resident, home_school="abbott-elementary",
            current_school="abbott-elementary", **student,
        ),
        parent=Parent(name=parent, email=email, relationship="natural_parent"),
        school=school, program=Program.montessori, reasons="closer to work",
    )


def within(
    stage: WithinStage, request_id: str = "millard-2027-2028-within-t0001", seq: int = 1,
    request: WithinRequest | None = None, kind: WithinKind = WithinKind.next_year,
    **fields: Any,
) -> WithinRequestState:
    """A Millard request in ``stage`` after ``seq`` audit entries."""
    history = [WithinHistoryEntry(seq=i, at=T0 + timedelta(hours=i), stage=stage,
                                  event=f"e{i}", actor="olsen") for i in range(1, seq + 1)]
    return WithinRequestState(
        id=request_id, request=request or within_request(), kind=kind,
        timezone="America/Chicago", stage=stage, received_at=T0, history=history,
        lottery_id=None if kind is WithinKind.current_year else "lottery-millard-2027-2028",
        **fields,
    )
