"""Sign-in for a front whose sessions live in the person's browser (the staff console):
the same two ways in as `app.signin`, the same limits (the records store counts codes and
tries for every front alike), ending in a session of the records store whose token the
front keeps in a cookie, never in the data folder's ``sessions.json``."""

from __future__ import annotations

from datetime import UTC, datetime

from app import context, oidc
from app.errors import Refused
from app.principal import Principal
from app.signin import roster_entries
from store import sessions
from store.sessions import SignInError


def _now() -> datetime:
    return datetime.now(UTC)


def _roster_address(email: str) -> str:
    entries = roster_entries(email.strip())
    if not entries:
        raise Refused(f"{email} is not a staff address of any district's roster")
    return entries[0].member.email.lower()


def redeem(email: str, code: str) -> str:
    """The token of a new session for ``email``, once the code sent to it holds (once, in
    time, within its tries: `store.sessions.redeem_code`)."""
    address = _roster_address(email)
    try:
        sessions.redeem_code(context.engine(), address, code, _now())
    except SignInError as error:
        raise Refused(str(error)) from None
    return sessions.open_session(context.engine(), address, "code", f"code:{address}", _now())


def provider() -> oidc.OidcSettings | None:
    """The district's OpenID Connect provider (``TRANSFERS_OIDC_*``), or None when none is
    set; a half-set configuration is refused with what is missing."""
    try:
        return oidc.OidcSettings.from_environment()
    except ValueError as error:
        raise Refused(str(error)) from None


async def begin_provider(redirect_uri: str) -> oidc.Authorization:
    """A sign-in with the provider begun: the front sends the browser to ``url`` and keeps
    the rest (the PKCE verifier, the nonce) on its side until the callback."""
    settings = provider()
    if settings is None:
        raise Refused("no OpenID Connect provider is set (TRANSFERS_OIDC_ISSUER)")
    return await oidc.begin(settings, redirect_uri)


async def finish_provider(authorization: oidc.Authorization, callback_url: str) -> str:
    """The token of a new session for the roster address the provider vouches for."""
    settings = provider()
    if settings is None:
        raise Refused("no OpenID Connect provider is set (TRANSFERS_OIDC_ISSUER)")
    identity = await oidc.finish(settings, authorization, callback_url)
    if not identity.email or not identity.email_verified:
        raise Refused("the provider did not vouch for an e-mail address: the roster knows "
                      "staff by their address")
    address = _roster_address(identity.email)
    return sessions.open_session(context.engine(), address, "oidc",
                                 f"oidc:{identity.issuer}#{identity.subject}", _now())


def principal(token: str) -> Principal | None:
    """Who the session ``token`` proves, while it is open (and its address still on a
    roster); None else."""
    if not token:
        return None
    session = sessions.session_of(context.engine(), token, _now())
    if session is None:
        return None
    entries = roster_entries(session.email)
    if not entries:
        return None
    return Principal(name=entries[0].member.name, subject=session.subject, email=session.email)


def expires_at(token: str) -> datetime | None:
    session = sessions.session_of(context.engine(), token, _now())
    return session.expires_at if session else None


def sign_out(token: str) -> None:
    if token:
        sessions.close_session(context.engine(), token, _now())
