"""The requests of the signed-in person's districts: the home page's list, a request's page
(student and parent, deadlines, documents, notices, the timeline, and the actions the person
may take, each confirmed first), a document's download, and the timeline on its own for htmx
to refresh. Another district's request is "not found"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from app import permissions, requests, search, worklist
from app.errors import REFUSALS, Refused
from app.principal import Principal
from app.requests import AnyState
from models.stages import APPEALABLE_STAGES, Stage
from models.state import RequestState
from models.within_request import WithinStage
from web import actions
from web.i18n import today_in
from web.pages import render
from web.security import CheckedForm, SignedIn

router = APIRouter()

# Which deadlines run in which stage: a decided request owes no decision, and a deadline that
# no longer runs is not shown as overdue.
_BEFORE_DECISION = {Stage.submitted, Stage.awaiting_documents, Stage.awaiting_release,
                    Stage.under_review}
RUNNING: dict[str, set[Any]] = {
    "documents_due": {Stage.awaiting_documents},
    "release_due": {Stage.awaiting_release},
    "decision_due": _BEFORE_DECISION,
    "statutory_due": _BEFORE_DECISION,
    "appeal_deadline": set(APPEALABLE_STAGES),
    "appeal_decision_due": {Stage.appeal_pending},
    "offer_deadline": {WithinStage.offered},
}


@router.get("/", name="home")
def home(request: Request, principal: SignedIn, stage: str = "", school: str = "",
         year: str = "", process: str = "", mine: str = "") -> Response:
    """The worklist: everything of the person's districts that waits on someone, overdue
    first, then soonest, with its filters and their counts (`app.worklist`)."""
    filters = worklist.Filters(stage=stage or None, school=school or None,
                               school_year=year or None, process=process or None,
                               mine=mine == "yes")
    try:
        found = worklist.worklist(principal, filters)
    except REFUSALS as refusal:
        raise HTTPException(400, str(refusal)) from None
    return render(request, "home.html", work=found, filters=filters,
                  facets=worklist.FACETS)


@router.get("/search", name="search")
def search_page(request: Request, principal: SignedIn, q: str = "") -> Response:
    """Requests by student name, student id, parent name or address, request or permit id;
    accents and case ignored (`app.search`)."""
    found, refusal = [], ""
    if q:
        try:
            found = search.find(principal, q)
        except REFUSALS as refused:
            refusal = str(refused)
    return render(request, "search.html", 400 if refusal else 200, q=q, found=found,
                  refusal=refusal)


def _visible(principal: Principal, request_id: str) -> AnyState:
    try:
        return permissions.visible(principal, request_id)
    except Refused as refusal:
        raise HTTPException(404, str(refusal)) from None


def _deadlines(state: AnyState) -> list[tuple[str, Any]]:
    """The deadlines running in the request's stage, with their last days."""
    return [(name, getattr(state, name)) for name, stages in RUNNING.items()
            if state.stage in stages and getattr(state, name, None)]


def _page(request: Request, principal: Principal, state: AnyState, status: int = 200,
          **values: Any) -> Response:
    return render(
        request, "request.html", status, state=state,
        interdistrict=isinstance(state, RequestState),
        deadlines=_deadlines(state), today=today_in(state.timezone),
        notices=requests.notices(state.id), actions=permissions.actions(principal, state),
        **values,
    )


@router.get("/requests/{request_id}", name="request")
def request_page(request: Request, request_id: str, principal: SignedIn,
                 done: str = "") -> Response:
    state = _visible(principal, request_id)
    return _page(request, principal, state, done=done)


@router.get("/requests/{request_id}/timeline", name="timeline")
def timeline(request: Request, request_id: str,
             principal: SignedIn) -> Response:
    state = _visible(principal, request_id)
    return render(request, "timeline.html", state=state)


@router.get("/requests/{request_id}/documents/{sha256}", name="document")
def document(request_id: str, sha256: str,
             principal: SignedIn) -> Response:
    try:
        found = permissions.document(principal, request_id, sha256)
    except Refused as refusal:
        raise HTTPException(404, str(refusal)) from None
    # Always a download, never drawn in the console's origin (a document is the parent's).
    return FileResponse(found.path, media_type="application/octet-stream",
                        filename=found.record.name)


@router.post("/requests/{request_id}/actions/{action}", name="act")
async def act(request: Request, request_id: str, action: str,
              form: CheckedForm,
              principal: SignedIn) -> Response:
    state = _visible(principal, request_id)
    try:
        permissions.check_action(principal, state, action)
    except Refused as refusal:
        raise HTTPException(403, str(refusal)) from None
    values = {name: form.getlist(name) for name in form}
    if form.get("confirm") != "yes":
        return render(request, "confirm.html", state=state, action=action,
                      carried=actions.carried(values), values=values)
    try:
        await actions.perform(principal, request_id, action, values)
    except REFUSALS as refusal:
        refreshed = _visible(principal, request_id)
        return _page(request, principal, refreshed, 409, refusal=str(refusal),
                     refused_action=action)
    return RedirectResponse(f"/requests/{request_id}?done={action}", status_code=303)
