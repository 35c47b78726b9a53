"""The two fronts as ASGI applications, the staff console and the parent portal: their routes,
their static files (the stylesheet and htmx, committed in ``web/static``), the language switch,
and what every response carries (security headers, the pre-session cookie when one was
made)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import browser_signin, parent_signin
from web import (
    apply_pages,
    lottery_pages,
    parent_actions,
    parent_pages,
    permit_pages,
    portal_pages,
    public_pages,
    report_pages,
    request_pages,
    signin_pages,
)
from web.every_response import EveryResponse
from web.i18n import COOKIE, LANGUAGES
from web.pages import render
from web.security import (
    PORTAL_SESSION_COOKIE,
    SESSION_COOKIE,
    NotSignedIn,
    local_path,
)


def create_app() -> FastAPI:
    """The staff console: staff sign in (code or the district's provider) and work."""
    console = _front("Transfers: the staff console", SESSION_COOKIE, browser_signin.principal)
    console.state.oidc_pending = {}
    console.state.signin_limit = signin_pages.new_limit()
    console.include_router(signin_pages.router)
    console.include_router(request_pages.router)
    console.include_router(report_pages.router)
    console.include_router(permit_pages.router)
    console.include_router(lottery_pages.router)
    return console


def create_portal() -> FastAPI:
    """The parent portal (docs/portal.md): the district's public pages, and parents signed in
    with a code sent to their email. A front of its own (its own port, its own session
    cookie), so a district can put it on the internet and keep the console inside."""
    portal = _front("Transfers: the parent portal", PORTAL_SESSION_COOKIE,
                    parent_signin.principal, portal=True)
    portal.state.layout = "portal/base.html"  # its pages, error pages included
    portal.include_router(portal_pages.router)
    portal.include_router(parent_pages.router)
    portal.include_router(apply_pages.router)
    portal.include_router(parent_actions.router)
    portal.include_router(public_pages.router)
    return portal


# The threads the portal's pages (and their calls to the records store) run in at once, in
# each process. Threads of one process hand the interpreter to one another: Starlette's
# default, 40, took 8 ms of CPU a status page, 4 threads 6 ms (bench/portal.py, 50 parents at
# once, in turns). Once the page itself was cheaper, 2 against 4 gave 815/735/496 pages a
# second against 484/554/441 (p99 86/97/123 against 126/115/136 ms), and 1 no more than 2:
# with one, the process cannot render while it waits on the store. The console keeps the
# default: fewer people, and exports that take a while.
PORTAL_THREADS = 2


@contextlib.asynccontextmanager
async def _portal_threads(_: FastAPI) -> AsyncIterator[None]:
    to_thread.current_default_thread_limiter().total_tokens = PORTAL_THREADS
    yield


def _front(title: str, session_cookie: str,
           principal_of: Callable[[str], Any] | None, portal: bool = False) -> FastAPI:
    """What both fronts share: static files, the language switch, the sign-in redirect and
    the error page, and a middleware that reads who is signed in (``principal_of`` the
    session cookie's token, off the event loop) and adds the security headers."""
    front = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None,
                    lifespan=_portal_threads if portal else None)
    front.state.session_cookie = session_cookie  # the forms' CSRF token is bound to it
    front.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"),
                name="static")

    front.add_middleware(EveryResponse, session_cookie=session_cookie,
                         principal_of=principal_of)

    @front.get("/language/{language}", name="language")
    def choose_language(language: str, next: str = "/") -> Response:
        response = RedirectResponse(local_path(next), status_code=303)
        if language in LANGUAGES:
            # A preference, not a secret: a year, readable by no script all the same.
            response.set_cookie(COOKIE, language, max_age=365 * 24 * 3600, path="/",
                                secure=True, httponly=True, samesite="lax")
        return response

    @front.exception_handler(NotSignedIn)
    async def sign_in_first(request: Request, _: NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={_quoted(target)}", status_code=303)

    @front.exception_handler(StarletteHTTPException)
    async def refused(request: Request, error: StarletteHTTPException) -> Response:
        return render(request, "error.html", error.status_code, detail=str(error.detail),
                      code=error.status_code)

    return front


def _quoted(path: str) -> str:
    return quote(path, safe="/")
