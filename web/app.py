"""The staff console as an ASGI application: its routes (sign-in, requests), its static files
(the stylesheet and htmx, committed in ``web/static``), the language switch, and what every
response carries (security headers, the pre-session cookie when one was made)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import browser_signin
from app.errors import REFUSALS
from web import permit_pages, report_pages, request_pages, signin_pages
from web.i18n import COOKIE, LANGUAGES
from web.pages import HEADERS, render
from web.security import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    NotSignedIn,
    local_path,
    set_cookie,
)


def create_app() -> FastAPI:
    console = FastAPI(title="Transfers: the staff console", docs_url=None, redoc_url=None,
                      openapi_url=None)
    console.state.oidc_pending = {}
    console.state.signin_limit = signin_pages.new_limit()
    console.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"),
                  name="static")
    console.include_router(signin_pages.router)
    console.include_router(request_pages.router)
    console.include_router(report_pages.router)
    console.include_router(permit_pages.router)

    @console.middleware("http")
    async def every_response(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.principal = None
        token = request.cookies.get(SESSION_COOKIE, "")
        if token and not request.url.path.startswith("/static/"):
            try:  # the records store, off the event loop
                request.state.principal = await run_in_threadpool(browser_signin.principal,
                                                                  token)
            except REFUSALS:
                request.state.principal = None
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        made = getattr(request.state, "new_presession", None)
        setting = " ".join(response.headers.getlist("set-cookie"))
        if made is not None and PRESESSION_COOKIE not in setting:
            set_cookie(response, PRESESSION_COOKIE, made)
        return response

    @console.get("/language/{language}", name="language")
    def choose_language(language: str, next: str = "/") -> Response:
        response = RedirectResponse(local_path(next), status_code=303)
        if language in LANGUAGES:
            # A preference, not a secret: a year, readable by no script all the same.
            response.set_cookie(COOKIE, language, max_age=365 * 24 * 3600, path="/",
                                secure=True, httponly=True, samesite="lax")
        return response

    @console.exception_handler(NotSignedIn)
    async def sign_in_first(request: Request, _: NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={_quoted(target)}", status_code=303)

    @console.exception_handler(StarletteHTTPException)
    async def refused(request: Request, error: StarletteHTTPException) -> Response:
        return render(request, "error.html", error.status_code, detail=str(error.detail),
                      code=error.status_code)

    return console


def _quoted(path: str) -> str:
    return quote(path, safe="/")
