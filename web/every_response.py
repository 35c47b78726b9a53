"""What every page of a front goes through (`web.app._front`): who is signed in, read once
off the event loop; the settings and the store read once (`app.context.read_once`); the
security headers on every response, and the pre-session cookie when the page made one.

A plain ASGI middleware: Starlette's ``@app.middleware("http")`` ran every page in a task of
its own, its body through a memory stream, a share of a small page's CPU (bench/portal.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import context
from app.errors import REFUSALS
from web.pages import HEADERS
from web.security import PRESESSION_COOKIE, set_cookie


class EveryResponse:
    def __init__(self, app: ASGIApp, session_cookie: str,
                 principal_of: Callable[[str], Any] | None) -> None:
        self.app, self.session_cookie, self.principal_of = app, session_cookie, principal_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # its state is the scope's: the page's own Request sees it
        with context.read_once():  # read once for the page
            request.state.principal = None
            token = request.cookies.get(self.session_cookie, "")
            if (self.principal_of is not None and token
                    and not scope["path"].startswith("/static/")):
                try:  # the records store, off the event loop
                    request.state.principal = await run_in_threadpool(self.principal_of, token)
                except REFUSALS:
                    request.state.principal = None

            async def with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableHeaders(scope=message)
                    for name, value in HEADERS.items():
                        headers.setdefault(name, value)
                    made = getattr(request.state, "new_presession", None)
                    setting = " ".join(headers.getlist("set-cookie"))
                    if made is not None and PRESESSION_COOKIE not in setting:
                        cookie = Response()
                        set_cookie(cookie, PRESESSION_COOKIE, made)
                        headers.append("set-cookie", cookie.headers["set-cookie"])
                await send(message)

            await self.app(scope, receive, with_headers)
