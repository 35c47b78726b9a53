"""A parent's requests in the records store (docs/portal.md "Parents signing in"): those whose
form gives the parent's address, and those of the students the district's roster links the
parent to. Read from the requests' rows; nothing here is kept about parents."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, and_, or_, select

from models.state import RequestState
from models.within_request import WithinRequestState
from store.read_model import FIELD_SEPARATOR, fold
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
    # The search text holds the address folded, a field of its own: a cheap first cut, then
    # each candidate's own address decides (no look-alike folding lets anyone in).
    by_address = RequestRow.search.like(f"%{_like(fold(address))}{FIELD_SEPARATOR}%",
                                        escape="\\")
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

