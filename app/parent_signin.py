"""Parents sign in to the portal (docs/portal.md "Parents signing in"): a one-time code sent to
their address (the outbox in the embedded default), no SIS activation key. The records
store's codes and sessions (store/sessions.py) of kind ``parent``: the same limits as staff's
(eight digits, ten minutes, once, five wrong tries, three codes in fifteen minutes), and a
parent's session is never a staff member's, nor the reverse.

Any well-formed address may sign in: a family new to every district signs in to an empty "My
requests" and applies (EC 46600.1: the relationship declared on the form). Every address gets
the same answer and the same mail, so the portal never tells whether an address is known; a
parent known to a roster or a request sees their students' requests at once."""

from __future__ import annotations

import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app import context
from app.errors import Refused
from districts import list_districts, load_config
from models.district import DistrictBase
from store import parents as parent_store
from store import roster as roster_store
from store import sessions
from store.sessions import CODE_LIFETIME, PARENT, SignInError

log = logging.getLogger(__name__)
_MAIL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="parent-code")

# Enough to refuse what is not an address at all, before the models' own check: an address
# that signs in must be one a request's form takes (models/people.py), or the parent could
# sign in and never apply.
_ADDRESS = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,252}$")
_EMAIL = TypeAdapter(EmailStr)

# The refusals, in sentences a front translates (web/parent_labels.py holds the same words).
NOT_AN_ADDRESS = "Enter your email address."
TOO_MANY_CODES = ("Three codes were sent to this address in the last 15 minutes: use the "
                  "last one, or wait.")
NO_CODE = "No code was sent to this address: ask for one."
WRONG_CODE = ("That code is not right: check it and try again. After five wrong tries, ask "
              "for a new code.")
DEAD_CODE = "That code no longer works (used, expired or tried too often): ask for a new one."


@dataclass(frozen=True)
class Parent:
    """A signed-in parent: their address, and the students the roster links them to (district,
    student id). Their requests are `app.parents.requests_of`."""

    email: str
    students: frozenset[tuple[str, str]]


def _now() -> datetime:
    return datetime.now(UTC)


def _address(email: str) -> str:
    address = email.strip().lower()
    if not _ADDRESS.match(address) or not address.isprintable():
        raise Refused(NOT_AN_ADDRESS)
    try:
        _EMAIL.validate_python(address)
    except ValidationError:
        raise Refused(NOT_AN_ADDRESS) from None
    return address


def _districts_knowing(address: str) -> list[str]:
    """The districts where ``address`` is a guardian's or a request's parent's."""
    engine = context.engine()
    found = [g.district for g in roster_store.guardians_by_email(engine, address)]
    found += [s.request.district for s in parent_store.requests_of(engine, address, ())]
    return sorted(set(found))


def send_code(email: str) -> None:
    """Send a code to ``email``, whoever's it is (refused alike when too many were asked
    for): a new family signs in with it too."""
    address = _address(email)
    try:  # three codes in fifteen minutes for each address, known or not
        code = sessions.issue_code(context.engine(), address, _now(), PARENT)
    except SignInError:
        raise Refused(TOO_MANY_CODES) from None
    # Mailed after the answer, and the sender looked up there too: neither an SMTP server's
    # seconds nor the store's look-ups can tell a known address by the answer's time.
    _MAIL.submit(_deliver, address, code)


def _sender(address: str) -> str:
    """The first district (by id) that knows the address, else the deployment's first: a
    new family's code comes from a district's own address too."""
    settings = context.settings()
    known = set(list_districts(settings.districts_dir))
    try:
        knowing = _districts_knowing(address)
    except (Refused, SQLAlchemyError) as error:  # in the mail's thread: nobody else would say
        log.warning("a parent's districts could not be read: %s", type(error).__name__)
        knowing = []
    for district_id in [*knowing, *sorted(known)]:
        if district_id in known:
            try:
                return load_config(district_id, DistrictBase, settings.districts_dir).notices_from
            except ValueError:
                continue  # a file that does not load: the CLI says why
    return "transfers@localhost"


def _deliver(address: str, code: str) -> None:
    from activities.notices import deliver, plain_message  # the mail's making: here only
    from activities.rendering import RenderedNotice

    settings = context.settings()
    sender = _sender(address)
    minutes = CODE_LIFETIME.seconds // 60
    text = RenderedNotice(
        subject="Your sign-in code for school transfer requests",  # the body says it in Spanish too
        body=(f"Your sign-in code is {code}.\n\nIt works once, for {minutes} minutes. If you "
              "did not ask for it, ignore this message: nobody can sign in without it.\n\n"
              f"Su código para entrar es {code}.\n\nSirve una vez, durante {minutes} minutos. "
              "Si no lo pidió, ignore este mensaje: nadie puede entrar sin él.\n"),
    )
    name = f"sign-in-{os.urandom(8).hex()}"
    smtp = (settings.smtp_host, settings.smtp_port) if settings.smtp_host else None
    try:
        deliver(plain_message(sender, [address], text, f"<{name}@transfers>"), name,
                settings.outbox_dir, smtp)
    except OSError as error:
        # Said to nobody but the log (without the address): the answer must not tell a
        # known address from an unknown one.
        log.warning("a parent's sign-in code could not be sent: %s", type(error).__name__)


def redeem(email: str, code: str) -> str:
    """The token of a new parent session, once the code sent to ``email`` holds (once, in
    time, within its tries): holding the code proves the address, all a parent needs."""
    address = _address(email)
    try:
        sessions.redeem_code(context.engine(), address, code, _now(), PARENT)
    except SignInError as error:
        raise _refusal(str(error)) from None
    return sessions.open_session(context.engine(), address, "code", f"parent:{address}",
                                 _now(), PARENT)


def _refusal(said: str) -> Refused:
    """The store's reason (store/sessions.py's words), as one of this module's sentences."""
    if said.startswith("no code"):
        return Refused(NO_CODE)
    if said.startswith("wrong code") and "too many" not in said:
        return Refused(WRONG_CODE)
    return Refused(DEAD_CODE)


def principal(token: str) -> Parent | None:
    """The parent whose session ``token`` is, while it is open; None else (a staff
    session's token included)."""
    if not token:
        return None
    session = sessions.session_of(context.engine(), token, _now(), PARENT)
    if session is None:
        return None
    return Parent(session.email,
                  roster_store.linked_students(context.engine(), session.email))


def expires_at(token: str) -> datetime | None:
    session = sessions.session_of(context.engine(), token, _now(), PARENT)
    return session.expires_at if session else None


def sign_out(token: str) -> None:
    if token and sessions.session_of(context.engine(), token, _now(), PARENT) is not None:
        sessions.close_session(context.engine(), token, _now())
