"""A parent's requests in the records store (docs/portal.md "Parents signing in"): those whose
form gives the parent's address, and those of the students the district's roster links the
parent to. Read from the requests' rows; nothing here is kept about parents."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, and_, or_, select

from models.state import RequestState
from models.within_request import WithinRequestState
from store.records import WITHIN, AnyState
from store.schema import RequestRow


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _states(rows: Iterable[tuple[str, dict]]) -> list[AnyState]:
    return [(WithinRequestState if direction == WITHIN else RequestState).model_validate(state)
            for direction, state in rows]


def requests_of(engine: Engine, email: str, students: Iterable[tuple[str, str]]
                ) -> list[AnyState]:
    """Every request whose parent's address is ``email`` (case ignored), and every request of
    the ``students`` (district, student id), newest first."""
    address = email.strip().lower()
    pairs = set(students)
    # The row's lowercased address, indexed: then each candidate's own address decides.
    by_address = RequestRow.parent_email == address
    by_student = [and_(RequestRow.district == d, RequestRow.student_id == s)
                  for d, s in pairs]
    query = (select(RequestRow.id, RequestRow.direction, RequestRow.state)
             .where(or_(by_address, *by_student))
             .order_by(RequestRow.received_at.desc(), RequestRow.id))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    found = []
    for state in _states((row.direction, row.state) for row in rows):
        mine = str(state.request.parent.email).lower() == address
        theirs = (state.request.district, state.request.student.id) in pairs
        if mine or theirs:
            found.append(state)
    return found

