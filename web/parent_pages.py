"""The parent portal's signed-in pages (docs/portal.md "Parents signing in"): signing in with a
code sent to the parent's address (`app.parent_signin`), "My requests", and a request's
status (`app.parents`). Read-only: every form here is a sign-in step, each with its CSRF
token; another family's request is "not found", as one that does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from app import parent_signin, parents, permit_document
from app.errors import REFUSALS
from app.parent_signin import Parent
from web import parent_labels
from web.i18n import today_in
from web.pages import download, render, speaker
from web.security import (
    PORTAL_SESSION_COOKIE,
    PRESESSION_COOKIE,
    CheckedForm,
    NotSignedIn,
    RateLimit,
    forget_cookie,
    local_path,
    set_cookie,
)

router = APIRouter()
HOME = "/requests"


def _limit(request: Request) -> None:
    """Per client address, beside the records store's per parent address limits: 20 sign-in
    steps a minute, as on the console. One for each portal (made on its first use)."""
    state = request.app.state
    if getattr(state, "parent_signin_limit", None) is None:
        state.parent_signin_limit = RateLimit(limit=20, window=60)
    state.parent_signin_limit.check(request)


async def signed_in_parent(request: Request) -> Parent:
    """The parent whose portal session came with the request; else to sign in first.
    Asynchronous only so that FastAPI runs it on the event loop: a plain function is run in
    a thread of its own, a tenth of a status page's CPU for reading an attribute."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Parent):
        raise NotSignedIn
    return principal


SignedInParent = Annotated[Parent, Depends(signed_in_parent)]


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _next(target: str) -> str:
    found = local_path(target)
    return HOME if found == "/" else found


def _said(request: Request, refusal: Exception) -> str:
    """The application's refusal in the page's language (its sentences are in the catalogs:
    `web.parent_labels.SIGN_IN_REFUSALS`)."""
    return speaker(request).gettext(str(refusal))


@router.get("/signin", name="parent_signin")
def signin_page(request: Request, next: str = HOME) -> Response:
    return render(request, "portal/signin.html", next=_next(next))


@router.post("/signin/code")
def send_code(request: Request, form: CheckedForm) -> Response:
    _limit(request)
    email, next_ = _field(form, "email"), _next(_field(form, "next"))
    try:
        parent_signin.send_code(email)
    except REFUSALS as refusal:
        return render(request, "portal/signin.html", 400, next=next_, email=email,
                      error=_said(request, refusal))
    return render(request, "portal/signin_code.html", next=next_, email=email, sent=True)


@router.post("/signin/verify")
def verify(request: Request, form: CheckedForm) -> Response:
    _limit(request)
    email, next_ = _field(form, "email"), _next(_field(form, "next"))
    try:
        token = parent_signin.redeem(email, _field(form, "code"))
    except REFUSALS as refusal:
        return render(request, "portal/signin_code.html", 400, next=next_, email=email,
                      error=_said(request, refusal))
    response = RedirectResponse(next_, status_code=303)
    set_cookie(response, PORTAL_SESSION_COOKIE, token, parent_signin.expires_at(token))
    forget_cookie(response, PRESESSION_COOKIE)
    return response


@router.post("/signout")
def sign_out(request: Request, form: CheckedForm) -> Response:
    parent_signin.sign_out(request.cookies.get(PORTAL_SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    forget_cookie(response, PORTAL_SESSION_COOKIE)
    return response


@router.get(HOME, name="my_requests")
def my_requests(request: Request, parent: SignedInParent) -> Response:
    found = parents.requests_of(parent)
    return render(request, "portal/requests.html", found=found, words=parent_labels,
                  today_in=today_in)


@router.get("/requests/{request_id}", name="request_status")
def request_status(request: Request, request_id: str, parent: SignedInParent) -> Response:
    try:
        status = parents.request_of(parent, request_id)
    except REFUSALS:
        # One answer for another family's id and a missing one: nothing to tell them apart.
        raise HTTPException(404, speaker(request).gettext("No such request.")) from None
    done = parent_labels.DONE.get(request.query_params.get("done", ""))  # after an action
    return render(request, "portal/request.html", view=status, words=parent_labels,
                  today=today_in(status.summary.timezone),
                  done=speaker(request).gettext(done) if done else None)


@router.get("/requests/{request_id}/permit.pdf", name="request_permit")
def request_permit(request: Request, request_id: str, parent: SignedInParent) -> Response:
    """The permit the request issued, as a PDF in the page's language (docs/permits.md "The
    permit as a PDF")."""
    says = speaker(request)
    try:
        found = permit_document.for_parent(parent, request_id, says.language)
    except REFUSALS as refusal:
        if str(refusal) == permit_document.NO_PERMIT:  # their own request, without a permit
            raise HTTPException(404, says.gettext("This request has no permit to print.")) \
                from None
        raise HTTPException(404, says.gettext("No such request.")) from None
    return download(found.name, found.media_type, found.content)
