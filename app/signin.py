"""Who is acting (docs/cross-cutting.md "Sign-in"): staff sign in, and every operation of a
front runs as the person a session proves.

Two ways in, both ending in a session of the records store (store/sessions.py):
- the embedded default, a one-time code sent to the staff address of the district's roster
  (the outbox in `make run`): eight digits, ten minutes, once, five wrong tries, three codes
  in fifteen minutes;
- the district's OpenID Connect provider (`app.oidc`), whose verified address must be one
  of the roster's.

A command-line front keeps its sessions' tokens in the data folder (``sessions.json``, 0600),
newest last; the roster gives the roles at each action (``context.staff``), not the session."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app import context
from app.errors import Refused
from app.principal import Principal
from app.staff_districts import district_config
from districts import list_districts
from models.district import DistrictBase, StaffMember
from store import sessions
from store.sessions import CODE_LIFETIME, SignInError

SESSIONS_FILE = "sessions.json"


@dataclass(frozen=True)
class RosterEntry:
    district: DistrictBase
    member: StaffMember


def roster_entries(email: str) -> list[RosterEntry]:
    """Every district's roster entry for ``email`` (case ignored). The files are parsed
    again only when they changed (`app.staff_districts.district_config`): the console asks
    this for every page, and parsing every district's file took 5-10 ms of each."""
    found = []
    for district_id in sorted(list_districts(context.settings().districts_dir)):
        try:
            config = district_config(district_id, DistrictBase)
        except ValueError:
            continue  # a district file that does not load is refused where it is used
        found += [RosterEntry(config, member) for member in config.staff
                  if member.email.lower() == email.lower()]
    return found


def _staff_address(email: str) -> RosterEntry:
    entries = roster_entries(email.strip())
    if not entries:
        raise Refused(f"{email} is not a staff address of any district's roster")
    return entries[0]


def _now() -> datetime:
    return datetime.now(UTC)


def send_code(email: str) -> str:
    """Send a one-time code to ``email``, a roster's staff address; what was done, in a
    sentence (never the code)."""
    # The mail's making and sending (Jinja2, Temporal's activity module) only here: every
    # command asks `signed_in` first.
    from activities.notices import deliver, plain_message
    from activities.rendering import RenderedNotice

    entry = _staff_address(email)
    address = entry.member.email
    try:
        code = sessions.issue_code(context.engine(), address.lower(), _now())
    except SignInError as error:
        raise Refused(str(error)) from None
    minutes = CODE_LIFETIME.seconds // 60
    text = RenderedNotice(
        subject=f"Your sign-in code for {entry.district.name} transfers",
        body=(f"Your sign-in code is {code}.\n\nIt works once, for {minutes} minutes. "
              "If you did not ask for it, ignore this message: nobody can sign in without "
              "it.\n"),
    )
    settings = context.settings()
    name = f"sign-in-{os.urandom(8).hex()}"
    smtp = (settings.smtp_host, settings.smtp_port) if settings.smtp_host else None
    try:
        deliver(plain_message(entry.district.notices_from, [address], text, f"<{name}@transfers>"),
                name, settings.outbox_dir, smtp)
    except OSError as error:
        raise Refused(f"the code could not be sent to {address}: {error}") from None
    return f"a sign-in code was sent to {address}; it works once, for {minutes} minutes"


def redeem(email: str, code: str) -> Principal:
    """Sign in with the code sent to ``email``: a session, kept for this front."""
    entry = _staff_address(email)
    address = entry.member.email.lower()
    try:
        sessions.redeem_code(context.engine(), address, code, _now())
    except SignInError as error:
        raise Refused(str(error)) from None
    return _open(address, "code", f"code:{address}")


async def sign_in_with_provider(open_url: Callable[[str], None]) -> Principal:
    """Sign in with the district's OpenID Connect provider (``TRANSFERS_OIDC_*``), through
    the browser and a loopback redirect."""
    from app import oidc  # Authlib, joserfc and httpx: for this way in only

    context.engine()  # the session is kept in the store: none, no trip through the browser
    try:
        settings = oidc.OidcSettings.from_environment()
    except ValueError as error:
        raise Refused(str(error)) from None
    if settings is None:
        raise Refused("no OpenID Connect provider is set (TRANSFERS_OIDC_ISSUER): sign in "
                      "with a code sent to your address instead")
    identity = await oidc.sign_in_loopback(settings, open_url)
    if not identity.email or not identity.email_verified:
        raise Refused("the provider did not vouch for an e-mail address: the roster knows "
                      "staff by their address")
    entry = _staff_address(identity.email)
    return _open(entry.member.email.lower(), "oidc", f"oidc:{identity.issuer}#{identity.subject}")


def _open(address: str, method: str, subject: str) -> Principal:
    token = sessions.open_session(context.engine(), address, method, subject, _now())
    kept = [s for s in _kept() if s["email"] != address] + [{"email": address, "token": token}]
    _keep(kept)
    return _principal(address, subject)


def _principal(address: str, subject: str) -> Principal:
    return Principal(name=_staff_address(address).member.name, subject=subject, email=address)


def _file() -> Path:
    return context.settings().data_dir / SESSIONS_FILE


def _kept() -> list[dict[str, str]]:
    try:
        found = json.loads(_file().read_text())
    except (OSError, ValueError):
        return []
    return [s for s in found if isinstance(s, dict) and {"email", "token"} <= s.keys()] \
        if isinstance(found, list) else []


def _keep(kept: list[dict[str, str]]) -> None:
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(kept, file)
    temporary.replace(path)


def signed_in(who: str | None = None) -> Principal:
    """The person this front acts as: the session of ``who`` (a roster name or address), or
    the newest; refused when there is none open."""
    engine = context.engine()
    now = _now()
    for kept in reversed(_kept()):
        if who is not None and who.lower() != kept["email"] and not any(
            entry.member.name == who for entry in roster_entries(kept["email"])
        ):
            continue
        session = sessions.session_of(engine, kept["token"], now)
        if session is not None:
            return _principal(session.email, session.subject)
    whom = f" as {who}" if who else ""
    raise Refused(f"not signed in{whom}: sign in first with `transfers login <your address>`")


def sign_out(who: str | None = None) -> str:
    """Close the session of ``who`` (or every one this front keeps)."""
    engine = context.engine()
    now = _now()
    closed, kept = [], []
    for entry in _kept():
        if who is None or who.lower() == entry["email"] or any(
            e.member.name == who for e in roster_entries(entry["email"])
        ):
            sessions.close_session(engine, entry["token"], now)
            closed.append(entry["email"])
        else:
            kept.append(entry)
    _keep(kept)
    return f"signed out {', '.join(closed)}" if closed else "nobody was signed in"
