"""What a signed-in parent reads on the portal (docs/portal.md "Parents signing in"): their
requests of both processes, each with its stage and next deadline, and one request's status
as the parent may see it: what happened and when, every deadline that runs, the documents
still missing, the notices sent to the parent, the waitlist, an offer, the appeal.

A parent sees only the requests whose form gives their address and those of the students the
roster links them to; any other id is "no request", exactly as one that does not exist. Staff
notes (who acted, their reasons, recommendations) are not the parent's: only what the
notices told them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app import context
from app.errors import Refused
from app.parent_signin import Parent
from models.stages import Stage
from models.state import RequestState
from models.within_request import WithinRequestState, WithinStage
from rules.request_deadlines import Deadline, DeadlineKind, deadlines, next_deadline
from store import notices as notice_store
from store import parents as parent_store
from store import permits as permit_store
from store import records
from store.records import AnyState

NOT_FOUND = "no such request"  # the same words for another family's id and a missing one
INTERDISTRICT, WITHIN = "interdistrict", "within"
_DENIED = {Stage.denied, Stage.deemed_denied}


@dataclass(frozen=True)
class Summary:
    """A line of "My requests"."""

    id: str
    process: str  # interdistrict | within
    student: str
    school_year: str
    stage: str
    is_open: bool
    next: Deadline | None
    timezone: str


@dataclass(frozen=True)
class Happened:
    """A timeline entry as the parent sees it: when, what, and the stage after (no actor, no
    staff reason)."""

    at: datetime
    event: str
    stage: str


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str
    status: str  # queued | sending | sent | failed
    sent_at: datetime | None
    language: str


@dataclass(frozen=True)
class Status:
    """One request's page."""

    summary: Summary
    school: str | None  # the school asked for (within) or the one preferred (interdistrict)
    timeline: list[Happened]
    deadlines: list[Deadline]
    missing_documents: list[str]
    documents_due: date | None
    notices: list[Notice]
    waitlist_position: int | None
    offer_school: str | None
    offer_deadline: date | None
    appeal_body: str | None  # after a denial that may be appealed
    appeal_deadline: date | None
    # The permit the request issued (approved, placed): its PDF is on the page
    # (app/permit_document.py, which says no for one that has ended).
    permit_id: str | None = None


def _summary(state: AnyState) -> Summary:
    within = isinstance(state, WithinRequestState)
    return Summary(
        id=state.id, process=WITHIN if within else INTERDISTRICT,
        student=state.request.student.full_name, school_year=state.request.school_year,
        stage=state.stage.value, is_open=state.is_open, next=next_deadline(state),
        timezone=state.timezone,
    )


def _mine(parent: Parent) -> list[AnyState]:
    return parent_store.requests_of(context.engine(), parent.email, parent.students)


def requests_of(parent: Parent) -> list[Summary]:
    """The parent's requests, newest first."""
    return [_summary(state) for state in _mine(parent)]


def state_of(parent: Parent, request_id: str) -> AnyState:
    """One of the parent's requests as the records store holds it; "no such request" for any
    other id."""
    state = parent_store.request_of(context.engine(), request_id, parent.email,
                                    parent.students)
    if state is None:
        raise Refused(NOT_FOUND)
    return state


def request_of(parent: Parent, request_id: str) -> Status:
    """The status of one of the parent's requests; "no such request" for any other id."""
    return _status(state_of(parent, request_id))


def _notices(state: AnyState) -> list[Notice]:
    """The notices sent to the request's parent (not the staff's own)."""
    address = str(state.request.parent.email).lower()
    rows = notice_store.list_notices(context.engine(), state.id)
    return [Notice(r.subject, r.body, r.status, r.sent_at, r.language) for r in rows
            if address in (a.strip().lower() for a in r.recipients.split(","))]


def _appeal_body(district_id: str) -> str:
    try:
        settings = context.district(district_id).interdistrict
    except (Refused, ValueError):
        settings = None
    return settings.appeal_body if settings else "the County Office of Education"


def _permit(permit_id: str | None) -> str | None:
    """The permit's id while it lives on (its workflow may not have written it yet)."""
    if permit_id is None:
        return None
    permit = permit_store.get_permit(context.engine(), permit_id)
    return permit_id if permit is None or permit.is_active else None


def _status(state: AnyState) -> Status:
    running = deadlines(state)
    # The audit trail the store keeps (the whole of it, as the staff console shows it).
    history = records.get_history(context.engine(), state.id,
                                  within=isinstance(state, WithinRequestState)) or state.history
    timeline = [Happened(e.at, e.event, str(getattr(e.stage, "value", e.stage)))
                for e in history]
    if isinstance(state, RequestState):
        appeal = next((d for d in running if d.kind is DeadlineKind.appeal), None)
        missing = [k.value for k in state.missing_documents] if state.is_open else []
        return Status(
            _summary(state), state.request.preferred_school, timeline, running, missing,
            state.documents_due if missing else None, _notices(state), None, None, None,
            _appeal_body(state.request.district) if appeal and state.stage in _DENIED
            else None,
            appeal.due if appeal and state.stage in _DENIED else None,
            _permit(state.permit_id) if state.stage is Stage.approved else None,
        )
    offered = state.stage is WithinStage.offered
    return Status(
        _summary(state), state.request.school, timeline, running, [], None, _notices(state),
        state.waitlist_position if state.stage is WithinStage.waitlisted else None,
        state.request.school if offered else None,
        state.offer_deadline if offered else None, None, None,
        _permit(state.permit_id) if state.stage is WithinStage.placed else None,
    )
