"""Signing in and out of the console: a one-time code sent to the roster address (the
embedded default; `app.signin.send_code`, whose limits hold for every front), or the
district's OpenID Connect provider (authorization code with PKCE, `app.oidc` through
`app.browser_signin`); then a session cookie (`web.security`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from app import browser_signin, signin
from app.errors import REFUSALS
from app.oidc import Authorization
from web.pages import render, speaker
from web.security import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    CheckedForm,
    RateLimit,
    forget_cookie,
    local_path,
    presession,
    set_cookie,
)

router = APIRouter()
def new_limit() -> RateLimit:
    """Per client address, beside the records store's per staff address limits: 20 sign-in
    steps a minute are more than a person needs, and little for a script guessing codes or
    addresses. One for each console (its ``state.signin_limit``)."""
    return RateLimit(limit=20, window=60)


def _limit(request: Request) -> None:
    request.app.state.signin_limit.check(request)
PENDING_LIFETIME = 600  # seconds an OpenID Connect sign-in may take at the provider


@dataclass(frozen=True)
class Pending:
    """An OpenID Connect sign-in under way, kept on the server (the PKCE verifier and nonce
    never reach the browser), for the browser that began it."""

    authorization: Authorization
    presession: str
    next: str
    until: float


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get("/signin", name="signin")
def signin_page(request: Request, next: str = "/") -> Response:
    provider = _provider_configured()
    return render(request, "signin.html", next=local_path(next), provider=provider)


def _provider_configured() -> bool:
    try:
        return browser_signin.provider() is not None
    except REFUSALS:
        return False


@router.post("/signin/code")
def send_code(request: Request, form: CheckedForm) -> Response:
    _limit(request)
    email, next_ = _field(form, "email"), local_path(_field(form, "next"))
    try:
        said = signin.send_code(email)
    except REFUSALS as refusal:
        return render(request, "signin.html", 400, next=next_, email=email,
                      provider=_provider_configured(), error=str(refusal))
    return render(request, "signin_code.html", next=next_, email=email, sent=said)


@router.post("/signin/verify")
def verify(request: Request, form: CheckedForm) -> Response:
    _limit(request)
    email, next_ = _field(form, "email"), local_path(_field(form, "next"))
    try:
        token = browser_signin.redeem(email, _field(form, "code"))
    except REFUSALS as refusal:
        return render(request, "signin_code.html", 400, next=next_, email=email,
                      error=str(refusal))
    return _signed_in(token, next_)


def _signed_in(token: str, next_: str) -> Response:
    response = RedirectResponse(next_, status_code=303)
    set_cookie(response, SESSION_COOKIE, token, browser_signin.expires_at(token))
    forget_cookie(response, PRESESSION_COOKIE)
    return response


def _pending(request: Request) -> dict[str, Pending]:
    pending: dict[str, Pending] = request.app.state.oidc_pending
    now = time.monotonic()
    for state in [s for s, p in pending.items() if p.until <= now]:
        del pending[state]
    return pending


@router.get("/signin/oidc", name="oidc_begin")
async def oidc_begin(request: Request, next: str = "/") -> Response:
    _limit(request)
    try:
        authorization = await browser_signin.begin_provider(
            str(request.url_for("oidc_callback")))
    except REFUSALS as refusal:
        return render(request, "signin.html", 400, next=local_path(next), provider=False,
                      error=str(refusal))
    _pending(request)[authorization.state] = Pending(
        authorization, presession(request), local_path(next),
        time.monotonic() + PENDING_LIFETIME)
    return RedirectResponse(authorization.url, status_code=303)


@router.get("/signin/oidc/callback", name="oidc_callback")
async def oidc_callback(request: Request, state: str = "") -> Response:
    _limit(request)
    pending = _pending(request).pop(state, None)
    # The sign-in must come back to the browser that began it (no one else's sign-in
    # planted in this browser).
    if pending is None or pending.presession != request.cookies.get(PRESESSION_COOKIE):
        return render(request, "signin.html", 400, next="/", provider=True,
                      error=request_error(request))
    try:
        token = await browser_signin.finish_provider(pending.authorization, str(request.url))
    except REFUSALS as refusal:
        return render(request, "signin.html", 400, next=pending.next, provider=True,
                      error=str(refusal))
    return _signed_in(token, pending.next)


def request_error(request: Request) -> str:
    return speaker(request).gettext(
        "This sign-in was not begun in this browser, or it took too long: start again.")


@router.post("/signout")
def sign_out(request: Request, form: CheckedForm) -> Response:
    browser_signin.sign_out(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    forget_cookie(response, SESSION_COOKIE)
    return response
