"""The read model a request's row carries beside its state, for the worklist and the search
(docs/cross-cutting.md "Worklist and search"): its next deadline (last day, kind, whom it
waits on, the action that meets it), its school, the student's name, and one search text of
the names, addresses and ids a person looks a request up by, folded (`fold`). Computed from
the state on every write (`store.records`), so it is never older than the state."""

from __future__ import annotations

import unicodedata
from typing import Any

from models.state import RequestState
from models.within_request import WithinRequestState
from rules.request_deadlines import next_deadline

# Between two fields of the search text: a query may not hold it (app.search refuses
# control characters), so no match runs across two fields.
FIELD_SEPARATOR = "\n"


def fold(text: str) -> str:
    """``text`` with case and accents ignored: NFKD, combining marks dropped, casefolded
    ("José" and "JOSE" both give "jose")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def school_of(state: RequestState | WithinRequestState) -> str | None:
    """Where the request places the student, else the school asked for (None: none named)."""
    if isinstance(state, WithinRequestState):
        return state.assigned_school or state.request.school
    return state.assigned_school or state.request.preferred_school


def search_text(state: RequestState | WithinRequestState) -> str:
    request = state.request
    fields = [request.student.full_name, request.student.id, request.parent.name,
              str(request.parent.email), state.id, state.permit_id or ""]
    return FIELD_SEPARATOR.join(fold(f) for f in fields if f)


def read_model_values(state: RequestState | WithinRequestState) -> dict[str, Any]:
    """The read model's columns of ``state``'s row."""
    deadline = next_deadline(state)
    return {
        "next_due": deadline.due if deadline else None,
        "next_kind": deadline.kind.value if deadline else None,
        "next_waits_on": deadline.waits_on.value if deadline else None,
        "next_action": deadline.action if deadline else None,
        "school": school_of(state),
        "student_name": state.request.student.full_name,
        "search": search_text(state),
        "parent_email": str(state.request.parent.email).lower(),
    }
