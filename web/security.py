"""The console's cookies and its defences (docs/cross-cutting.md "The staff console").

- The session: the records store's session token (`app.browser_signin`) in a cookie that
  is HttpOnly (no script reads it), Secure (sent over HTTPS only; browsers count
  http://127.0.0.1 and http://localhost as secure, so the development console works), and
  SameSite=Lax (not sent with another site's POST), expiring with the session.
- Before sign-in, a pre-session cookie of the same kind ties the sign-in forms and an OpenID
  Connect sign-in under way to this browser.
- CSRF: every POST carries a token derived from the session's (or pre-session's) secret, and
  is refused (403, nothing done) without it, with another, or from another site's page
  (Origin, Sec-Fetch-Site).
- Sign-in attempts per client address are limited here as well as per staff address in the
  records store."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Response
from starlette.datastructures import FormData

from app.principal import Principal

SESSION_COOKIE = "transfers_session"
# The portal's own: a browser sends a host's cookies to every port, and a parent's session
# must never be taken for a staff member's (nor the other way).
PORTAL_SESSION_COOKIE = "transfers_parent_session"
PRESESSION_COOKIE = "transfers_presession"
CSRF_FIELD = "csrf"


def set_cookie(response: Response, name: str, value: str, expires: datetime | None = None
               ) -> None:
    max_age = None
    if expires is not None:
        max_age = max(0, int((expires - datetime.now(UTC)).total_seconds()))
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True,
                        samesite="lax")


def forget_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="lax")


def presession(request: Request) -> str:
    """This browser's pre-session secret: the cookie's, or a new one (which the response
    must then set: ``request.state.new_presession``)."""
    found = request.cookies.get(PRESESSION_COOKIE, "")
    if len(found) >= 32:
        return found
    made = getattr(request.state, "new_presession", None)
    if made is None:
        made = secrets.token_urlsafe(32)
        request.state.new_presession = made
    return made


def csrf_token(request: Request) -> str:
    """The token every form of this page carries: bound to the session when there is one,
    else to the pre-session. Derived, not stored: only the cookie's holder can make it."""
    # The front's own session cookie (the portal's is not the console's: a browser sends a
    # host's cookies to every port).
    own = getattr(request.app.state, "session_cookie", SESSION_COOKIE)
    secret = request.cookies.get(own) or presession(request)
    return hmac.new(b"transfers-console-csrf", secret.encode(), hashlib.sha256).hexdigest()


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:  # not sent by every browser on a same-origin POST; the token decides
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def checked_form(request: Request) -> FormData:
    """The POST's form, once it is shown to come from this console's own page in this
    browser; 403 otherwise, before anything is read or done."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    expected = csrf_token(request)
    if (not isinstance(given, str) or not hmac.compare_digest(given, expected)
            or not _same_origin(request)):
        raise HTTPException(403, "the form is not this console's own (a missing or stale "
                                 "security token, or another site's page): nothing was done")
    return form


class RateLimit:
    """At most ``limit`` tries per ``window`` seconds from one client address."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._tries: dict[str, deque[float]] = defaultdict(deque)

    def check(self, request: Request) -> None:
        who = request.client.host if request.client else "?"
        now = time.monotonic()
        tries = self._tries[who]
        while tries and tries[0] <= now - self.window:
            tries.popleft()
        if len(tries) >= self.limit:
            raise HTTPException(429, "too many sign-in attempts from this address: wait a "
                                     "minute")
        tries.append(now)


def local_path(target: str | None) -> str:
    """``target`` when it is a path of this console (a redirect after sign-in or a language
    change), "/" else: never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


class NotSignedIn(Exception):
    """The page needs a signed-in staff member: the browser goes to sign in first."""


async def signed_in(request: Request) -> Principal:
    """The staff member whose session cookie came with the request (read once for every
    request, before its route); the browser is sent to sign in when there is none. On the
    event loop (`web.parent_pages.signed_in_parent` says why)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise NotSignedIn
    return principal


# What a route asks for: the checked form of a POST, and the signed-in person.
CheckedForm = Annotated[FormData, Depends(checked_form)]
SignedIn = Annotated[Principal, Depends(signed_in)]
