"""A parent's requests in the records store (docs/portal.md "Parents signing in"): those whose
form gives the parent's address, and those of the students the district's roster links the
parent to. Read from the requests' rows; nothing here is kept about parents."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, and_, bindparam, or_, select

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



_ONE = select(RequestRow.direction, RequestRow.state, RequestRow.parent_email,
              RequestRow.district, RequestRow.student_id).where(RequestRow.id == bindparam("id"))


def request_of(engine: Engine, request_id: str, email: str,
               students: Iterable[tuple[str, str]]) -> AnyState | None:
    """The request ``request_id`` if it is one of `requests_of`'s (its parent's address is
    ``email``, or its student is one of ``students``); None for any other id, as for one that
    does not exist. Looked up by its key, and whose it is read from the row's own columns
    (the lowercased address the read model writes, the district and student): a status page
    validates no other request's state."""
    with engine.connect() as connection:
        row = connection.execute(_ONE, {"id": request_id}).one_or_none()
    if row is None:
        return None
    mine = row.parent_email == email.strip().lower()
    if not (mine or (row.district, row.student_id) in set(students)):
        return None
    return _states([(row.direction, row.state)])[0]
