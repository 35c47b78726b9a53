"""Sign-in in the records store (docs/cross-cutting.md "Sign-in"; parents: docs/portal.md
"Parents signing in"): one-time codes and the sessions they open, each of a kind (``staff``
or ``parent``) that only the same kind redeems or reads. Codes and tokens are kept only as
SHA-256 hashes, so a copy of the store signs no one in; every limit is enforced by one
conditional UPDATE, so two tries at once cannot both pass."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, bindparam, func, select, update

from store.schema import SignInCode, StaffSession

CODE_DIGITS = 8
CODE_LIFETIME = timedelta(minutes=10)
WRONG_TRIES = 5  # then the code is dead: 5 guesses of 10^8
CODES_PER_WINDOW, CODE_WINDOW = 3, timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)  # a working day
STAFF, PARENT = "staff", "parent"  # whose code or session


class SignInError(ValueError):
    """A sign-in refused; the message says why and what to do."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_code(engine: Engine, email: str, now: datetime, kind: str = STAFF) -> str:
    """A new one-time code for ``email``; refused when too many were asked for lately."""
    with engine.begin() as connection:
        recent = connection.execute(
            select(func.count()).select_from(SignInCode)
            .where(SignInCode.email == email, SignInCode.kind == kind,
                   SignInCode.issued_at > now - CODE_WINDOW)
        ).scalar_one()
        if recent >= CODES_PER_WINDOW:
            raise SignInError(f"{CODES_PER_WINDOW} codes were sent in the last "
                              f"{CODE_WINDOW.seconds // 60} minutes: use the last one, or wait")
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        connection.execute(SignInCode.__table__.insert().values(
            email=email, code_hash=_hash(code), issued_at=now,
            expires_at=now + CODE_LIFETIME, attempts=0, kind=kind))
    return code


def redeem_code(engine: Engine, email: str, code: str, now: datetime, kind: str = STAFF) -> None:
    """Take the newest code of ``kind`` sent to ``email``: once, before it expires, within its
    tries."""
    with engine.begin() as connection:
        row = connection.execute(
            select(SignInCode).where(SignInCode.email == email, SignInCode.kind == kind)
            .order_by(SignInCode.issued_at.desc(), SignInCode.id.desc()).limit(1)
        ).one_or_none()
        if row is None:
            raise SignInError("no code was sent to this address: ask for one")
        if row.used_at is not None:
            raise SignInError("that code was used already: ask for a new one")
        if _aware(row.expires_at) <= now:
            raise SignInError("the code has expired: ask for a new one")
        if row.attempts >= WRONG_TRIES:
            raise SignInError("too many wrong codes: ask for a new one")
        right = hmac.compare_digest(row.code_hash, _hash(code.strip()))
        if right:
            taken = connection.execute(
                update(SignInCode).where(SignInCode.id == row.id, SignInCode.used_at.is_(None),
                                         SignInCode.attempts < WRONG_TRIES)
                .values(used_at=now)
            ).rowcount
        else:  # counted, and kept: the refusal below must not roll the count back
            connection.execute(update(SignInCode).where(SignInCode.id == row.id)
                               .values(attempts=SignInCode.attempts + 1))
    if not right:
        left = WRONG_TRIES - row.attempts - 1
        raise SignInError(f"wrong code ({left} tries left)" if left else
                          "wrong code: too many wrong codes, ask for a new one")
    if taken != 1:  # another try took it first
        raise SignInError("that code was used already: ask for a new one")


@dataclass(frozen=True)
class Session:
    email: str
    method: str
    subject: str
    expires_at: datetime
    kind: str = STAFF


def open_session(engine: Engine, email: str, method: str, subject: str, now: datetime,
                 kind: str = STAFF) -> str:
    """A new session's token (the caller keeps it; the store keeps its hash)."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(StaffSession.__table__.insert().values(
            token_hash=_hash(token), email=email, method=method, subject=subject,
            issued_at=now, expires_at=now + SESSION_LIFETIME, kind=kind))
    return token


_SESSION = select(StaffSession).where(StaffSession.token_hash == bindparam("token_hash"))


def session_of(engine: Engine, token: str, now: datetime, kind: str = STAFF) -> Session | None:
    """The session of ``kind`` that ``token`` opened, while it is open (a parent's token is
    no staff session, nor the reverse)."""
    with engine.connect() as connection:
        row = connection.execute(_SESSION, {"token_hash": _hash(token)}).one_or_none()
    if (row is None or row.kind != kind or row.revoked_at is not None
            or _aware(row.expires_at) <= now):
        return None
    return Session(row.email, row.method, row.subject, _aware(row.expires_at), row.kind)


def close_session(engine: Engine, token: str, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(update(StaffSession).where(StaffSession.token_hash == _hash(token))
                           .values(revoked_at=now))


def _aware(instant: datetime) -> datetime:
    """SQLite gives back naive datetimes; every instant here is UTC."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
