"""Sending notices: rendered from templates in the parent's language, recorded, delivered to
the outbox folder as .eml or by SMTP; each key sent once (its delivery record is claimed
before sending, and a sent record is never claimed again). One gap cannot be closed: a worker
killed between the SMTP server's acceptance and the record's ``sent`` leaves it ``sending``,
and the next attempt sends it again, with the same Message-ID (one per key), by which a
receiver can drop the copy. A send whose record fails to be written (the records database
unreachable) is not repeated by the same worker process: the next attempt only records it.

The delivery record (`store.notices`, ``transfers notices``): ``sending`` during an
attempt, then ``sent``, or ``failed`` with the error (``attempts`` counts them). A failed
attempt raises: the workflow's retry policy tries again with backoff.

Unless no attempt can succeed (docs/cross-cutting.md "Notices that cannot be sent"): a
message that cannot be built, or an SMTP server's permanent answer (a 5xx, RFC 5321 4.2.1) to
the sender, a recipient or the message, raises a non-retryable ``ApplicationError``
(`NOT_BUILT`, `REFUSED`, `NOT_RENDERED`) once its record is ``failed``: retrying would only
repeat it and hold the request that waits on it. Its message is a reason code and the SMTP
code, never an address or a name: it is written in the clear into Temporal's history and the
logs. The workflow tells staff. A 4xx, a 5xx greeting or login (the relay, not this notice)
and a lost connection stay transient.

A parent who was never told cannot be held to a deadline: when attempt `ESCALATE_AFTER` (or
a later one) of a notice to a parent fails, the activity also tells the district's staff
(``Notice.staff``) in a ``staff_escalation`` notice keyed ``<notice key>:undelivered``: which
notice, to whom, and the error. That escalation has its own delivery record and is sent at
most once: when it cannot be sent either (the same SMTP server is down), it is recorded as
failed and tried again on the parent notice's next failing attempt. Without staff addresses
it is recorded (``queued``, with a note) and not sent. Either way the parent notice's attempt
still fails, so it goes on being retried.

A notice that issues a permit (``PERMIT_KINDS``) carries the permit as a PDF
(activities/permit_pdf.py), in the notice's language. It is made from the request's record
as the workflow wrote it before sending (the approval's audit entry gives the issue day) and
the district's code key, never from the clock: every attempt attaches the same bytes. The
permit's own record may not be written yet (the permit's workflow starts after the notice),
so it is not read."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import smtplib
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.errors import MessageError
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import TemplateError
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import permit_pdf
from activities.rendering import (
    ENGLISH,
    Attachment,
    RenderedNotice,
    normalise_language,
    render,
)
from models.notices import Notice, NoticeKind
from store import notices as delivery
from store import records
from store.secrets import secret

ESCALATE_AFTER = 5  # with the workflows' backoff (1 s doubling) attempt 5 starts ~15 s in
UNDELIVERED = "undelivered"  # the escalation's key: "<notice key>:undelivered"
STAFF_KINDS = frozenset({NoticeKind.staff_reminder, NoticeKind.staff_escalation,
                         NoticeKind.staff_endorsement_reminder,
                         NoticeKind.staff_agreement_ending})
NO_STAFF_NOTE = "no staff addresses for this notice: recorded here only, not sent"
# The notices that tell a parent a permit was issued: they carry it (docs/permits.md "The
# permit as a PDF").
PERMIT_KINDS = frozenset({NoticeKind.approved, NoticeKind.appeal_granted,
                          NoticeKind.within_placed})

DeliveryError = (OSError, smtplib.SMTPException)
# What the standard library raises for a message it cannot write: a header with an embedded
# line break (HeaderParseError), a character no charset takes (UnicodeEncodeError). The same
# notice fails the same way on every attempt.
BuildError = (ValueError, MessageError)

# The failures no attempt can mend: the ApplicationError types the workflows see.
NOT_RENDERED = "NoticeNotRendered"
NOT_BUILT = "NoticeNotBuilt"
REFUSED = "NoticeRefused"


class PermanentFailure(Exception):
    """A notice no attempt can deliver. ``reason`` is what may reach Temporal and the logs (a
    code, no student data); the delivery record keeps the whole error."""

    def __init__(self, type_: str, reason: str) -> None:
        super().__init__(reason)
        self.type = type_
        self.reason = reason


def permanent_code(error: BaseException) -> int | None:
    """The SMTP code of a permanent refusal of this message (5xx to MAIL, RCPT or DATA), else
    None. A refusal of every recipient is permanent only when each one's is. A 5xx greeting,
    HELO or login is the relay's state, not the notice's: retried, it heals when the relay is
    fixed, where giving up would drop every notice in flight."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return max(codes) if codes and all(500 <= c < 600 for c in codes) else None
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return error.smtp_code if 500 <= error.smtp_code < 600 else None
    return None


def _stage(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "RCPT"
    return "MAIL" if isinstance(error, smtplib.SMTPSenderRefused) else "DATA"


def notice_language(notice: Notice) -> str:
    """The language asked for: ``Notice.language`` when it is not English, else
    ``facts["language"]`` when present (what workflows pass until they set
    ``Notice.language``), else English. (Whether ``language`` was set cannot be told from
    its value once the notice has crossed the wire: it always carries one.)"""
    if normalise_language(notice.language) != ENGLISH:
        return notice.language
    in_facts = notice.facts.get("language")
    if isinstance(in_facts, str) and in_facts.strip():
        return in_facts
    return ENGLISH


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _attempt() -> int | None:
    """The activity's attempt (1 for the first); None when called outside an activity."""
    return activity.info().attempt if activity.in_activity() else None


class NoticeActivities:
    def __init__(
        self,
        engine: Engine,
        outbox_dir: Path,
        smtp_host: str | None = None,
        smtp_port: int = 25,
        portal_url: str | None = None,
        districts_dir: Path | None = None,
    ) -> None:
        self._engine = engine
        self._portal = portal_url
        self._districts = districts_dir  # the Spanish signatures' (read at each notice)
        self._outbox = outbox_dir
        self._smtp = (smtp_host, smtp_port) if smtp_host else None
        # Keys this process delivered whose record could not be marked sent (the records
        # database failed right after the send): the next attempt marks them, not resends.
        self._delivered_unrecorded: set[str] = set()

    @activity.defn(name="send_notice")
    def send_notice(self, notice: Notice) -> str:
        """Returns "sent", or "already sent" when the key was delivered before."""
        try:
            rendered = render_notice(notice, self._portal, district_contacts(self._districts))
        except TemplateError as error:  # a bug in the notice's facts: retrying cannot help
            # Jinja's message names the template's variable, not its value.
            raise ApplicationError(
                f"notice {notice.kind} cannot be rendered: {error}", type=NOT_RENDERED,
                non_retryable=True,
            ) from error
        if notice.kind in PERMIT_KINDS:
            rendered = dataclasses.replace(
                rendered, attachments=self._permit_attachments(notice, rendered.language))
        try:
            sent = self._send_once(
                notice.key, notice.request_id, notice.kind.value, notice.sender, notice.to,
                rendered, notice.facts.get("timezone"),
            )
        except PermanentFailure as failure:
            activity.logger.warning("notice %s failed for good: %s", notice.key, failure.reason)
            # From None: a chained cause would carry the error's text (addresses, the
            # header's value) into the history after all.
            raise ApplicationError(
                failure.reason, type=failure.type, non_retryable=True
            ) from None
        except DeliveryError as error:
            attempt = _attempt()
            if (
                attempt is not None and attempt >= ESCALATE_AFTER
                and notice.kind not in STAFF_KINDS
            ):
                self._escalate(notice, rendered, attempt, describe(error))
            raise
        return "sent" if sent else "already sent"

    def _permit_attachments(self, notice: Notice, language: str) -> tuple[Attachment, ...]:
        """The permit the notice's request issued, as a PDF; none when its record names none
        (a record lost: the notice still goes, and says the permit number)."""
        state = records.get_request(self._engine, notice.request_id)
        if state is None:
            activity.logger.warning("notice %s: no request record, no permit attached",
                                    notice.key)
            return ()
        document = permit_pdf.from_request(
            state, records.get_history(self._engine, state.id) or state.history,
            district_name=str(notice.facts.get("district_name") or state.request.district),
            school_name=str(notice.facts.get("school") or ""),
            key=secret(self._engine, permit_pdf.code_key_name(state.request.district)),
        )
        if document is None:
            return ()
        verify = f"{self._portal}/verify" if self._portal else None
        return (Attachment(permit_pdf.file_name(document), permit_pdf.MEDIA_TYPE,
                           permit_pdf.render_pdf(document, language, verify)),)

    def _send_once(
        self, key: str, request_id: str, kind: str, sender: str, to: list[str],
        rendered: RenderedNotice, timezone: str | None = None,
    ) -> bool:
        """Claim (record) and deliver one notice; False when it was sent before. A delivery
        error is recorded on the notice (failed) and raised; a permanent one (a message that
        cannot be built, a 5xx) as `PermanentFailure`."""
        if key in self._delivered_unrecorded:  # sent by an earlier attempt: record it only
            delivery.mark_sent(self._engine, key)
            self._delivered_unrecorded.discard(key)
            return True
        if not delivery.claim(
            self._engine, key, request_id, kind, to, rendered.subject, rendered.body,
            language=rendered.language, note=rendered.note,
        ):
            return False
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            # Built and delivered together: most build errors surface when the message is
            # written out, in the outbox or by smtplib.
            self._deliver(build_message(sender, to, rendered, f"<{digest}@transfers>",
                                        timezone), digest)
        except BuildError as error:
            delivery.mark_failed(self._engine, key, describe(error))
            raise PermanentFailure(
                NOT_BUILT, f"message-not-built ({type(error).__name__})"
            ) from error
        except DeliveryError as error:
            delivery.mark_failed(self._engine, key, describe(error))
            code = permanent_code(error)
            if code is not None:
                raise PermanentFailure(
                    REFUSED, f"smtp-refused {code} at {_stage(error)}"
                ) from error
            raise
        self._delivered_unrecorded.add(key)
        delivery.mark_sent(self._engine, key)  # raises while the database is unreachable
        self._delivered_unrecorded.discard(key)
        return True

    def _escalate(
        self, notice: Notice, rendered: RenderedNotice, attempt: int, error: str
    ) -> None:
        """Tell staff, once, that ``notice`` could not be delivered. Never raises for a
        delivery error: the parent notice's own error is the attempt's outcome."""
        key = f"{notice.key}:{UNDELIVERED}"
        escalation = render(
            NoticeKind.staff_escalation.value,
            escalation_facts(notice, rendered, attempt, error, key),
        )
        if not notice.staff:
            delivery.record(
                self._engine, key, notice.request_id, NoticeKind.staff_escalation.value, [],
                escalation.subject, escalation.body, escalation.language, NO_STAFF_NOTE,
            )
            activity.logger.warning(
                "notice %s undelivered after %d attempts (%s); no staff addresses: "
                "escalation recorded only", notice.key, attempt, error.partition(":")[0],
            )
            return
        try:
            self._send_once(
                key, notice.request_id, NoticeKind.staff_escalation.value, notice.sender,
                notice.staff, escalation,
            )
        except PermanentFailure as failed:  # recorded (failed); a staff notice is not escalated
            activity.logger.warning(
                "escalation %s of undelivered notice %s failed for good: %s",
                key, notice.key, failed.reason,
            )
        except DeliveryError as failed:  # recorded (failed); tried again on the next attempt
            activity.logger.warning(
                "escalation %s of undelivered notice %s not sent either: %s",
                key, notice.key, type(failed).__name__,
            )

    def _deliver(self, message: Message, name: str) -> None:
        deliver(message, name, self._outbox, self._smtp)


def deliver(message: Message, name: str, outbox: Path, smtp: tuple[str, int] | None) -> None:
    """Hand ``message`` to the SMTP server, or with none set write it to ``outbox`` as
    ``<name>.eml`` (the embedded default's mail)."""
    if smtp is None:
        # Private whatever the process's umask: the outbox holds student data and codes.
        outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = outbox / f".{name}.tmp"
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                       "wb") as file:
            file.write(bytes(message))
        temporary.replace(outbox / f"{name}.eml")  # atomic: no half-written notice
        return
    host, port = smtp
    with smtplib.SMTP(host, port, timeout=20) as smtp_:
        smtp_.send_message(message)


# Bodies as quoted-printable UTF-8: readable in the raw .eml, and 7-bit safe for any relay.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def build_message(
    sender: str, to: list[str], rendered: RenderedNotice, message_id: str,
    timezone: str | None = None,
) -> Message:
    """The e-mail of a notice; ``message_id`` is the same for every attempt of one key.

    With ASCII addresses (nearly every notice) it is built with the standard library's
    compat32 API, which keeps the headers as written (`plain_message`). Its modern API
    (`EmailMessage`) parses every header into an object and refolds it on output: three times
    the CPU, and building the e-mails was a tenth of a busy worker's Python time
    (bench/RESULTS.md). Addresses that are not ASCII (the forms accept internationalised
    ones), which compat32 cannot write, take the modern API (`modern_message`), as every
    notice did before. A reader sees the same headers and text either way (tested)."""
    if sender.isascii() and all(address.isascii() for address in to):
        return plain_message(sender, to, rendered, message_id, timezone)
    return modern_message(sender, to, rendered, message_id, timezone)


def plain_message(
    sender: str, to: list[str], rendered: RenderedNotice, message_id: str,
    timezone: str | None = None,
) -> Message:
    text = MIMEText(rendered.body, "plain", _UTF8)
    message: Message = text
    if rendered.attachments:  # the text first, then each file (RFC 2046 multipart/mixed)
        message = MIMEMultipart("mixed")
        message.attach(text)
        for attachment in rendered.attachments:
            # Every attachment is an application's file (the permit's PDF).
            part = MIMEApplication(attachment.content, attachment.media_type.partition("/")[2])
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            message.attach(part)
    message["From"] = sender
    message["To"] = ", ".join(to)
    subject = rendered.subject  # one that is not ASCII becomes RFC 2047 encoded words
    message["Subject"] = subject if subject.isascii() else Header(subject, _UTF8)
    message["Date"] = date_header(timezone)
    message["Message-ID"] = message_id
    message["Content-Language"] = rendered.language
    return message


def modern_message(
    sender: str, to: list[str], rendered: RenderedNotice, message_id: str,
    timezone: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = rendered.subject
    message["Date"] = date_header(timezone)
    message["Message-ID"] = message_id
    message.set_content(rendered.body)  # after: it clears the Content-* headers
    for attachment in rendered.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    # After the attachments: making the message multipart moves Content-* headers inward.
    message["Content-Language"] = rendered.language
    return message


def render_notice(notice: Notice, portal_url: str | None,
                  contacts: Contacts | None = None) -> RenderedNotice:
    """The notice as it is sent (and rebuilt: app/rebuild.py): the workflow's facts, and for
    a parent the address of the request's page in the portal (``portal_link``), a setting of
    the deployment, not of the history; signed in the notice's language where the
    district's file gives its contact in it (``contacts``: `district_contacts`)."""
    facts = notice.facts
    if portal_url is not None and notice.kind not in STAFF_KINDS:
        facts = {**facts, "portal_link": f"{portal_url}/requests/{notice.request_id}"}
    said = (contacts or {}).get((str(facts.get("district_name", "")),
                                 str(facts.get("contact", ""))))
    return render(notice.kind.value, facts, notice_language(notice), said)


# A district's contact in other languages, by its name and English contact (the facts a notice
# carries, fixed at submission).
Contacts = dict[tuple[str, str], dict[str, str]]


def district_contacts(districts_dir: Path | None) -> Contacts:
    """Each district file's Spanish contact (``contact_es``), found by the name and English
    contact a notice carries: a request that carries an English contact the file no longer
    has keeps it (its Spanish is not known)."""
    from districts import list_districts, load_config
    from models.district import DistrictBase

    found: Contacts = {}
    for district_id in sorted(list_districts(districts_dir)):
        try:
            config = load_config(district_id, DistrictBase, districts_dir)
        except ValueError:
            continue  # a file that does not load: the CLI says why
        if config.contact_es:
            found.setdefault((config.name, config.contact), {"es": config.contact_es})
    return found


def date_header(timezone: str | None) -> str:
    """Now, as the ``Date:`` header says it: in the district's time zone (a parent reads
    "-0800", the district's day), UTC when the notice names none or one that is unknown."""
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return format_datetime(datetime.now(zone))


def _process(notice: Notice) -> str:
    """What the request is, for the staff_escalation template's ``direction_text``."""
    if direction_text := notice.facts.get("direction_text"):
        return str(direction_text)
    kind = notice.kind.value
    if kind.startswith("within_"):
        return "within-district transfer"
    if kind.startswith("permit_"):
        return f"permit {notice.facts.get('permit_id', '')}".strip()
    return "interdistrict permit"


FAILED = "failed"  # the escalation of a notice that failed for good: "<notice key>:failed"


def failed_notice_escalation(notice: Notice, reason: str) -> Notice | None:
    """The staff_escalation a workflow sends, once, when ``notice`` failed for good with
    ``reason`` (the non-retryable error's message: a code, no student data); None for a staff
    notice (an escalation that cannot be sent is not escalated again: no loop) or when there
    are no staff addresses. Its key differs from the retries' escalation (`UNDELIVERED`):
    that one says sending goes on, this one that it stopped. Pure: workflows call it."""
    if notice.kind in STAFF_KINDS or not notice.staff:
        return None
    key = f"{notice.key}:{FAILED}"
    detail = (
        f"The {notice.kind.value} notice to {', '.join(notice.to)} failed for good and will "
        f"not be sent again: {reason} (key {notice.key}).\n\n"
        "A parent who was never told cannot be held to a deadline: reach the parent another "
        "way, and hold them to no deadline this notice sets until they have been told. "
        f"`transfers notices {notice.request_id}` shows its delivery record and the "
        "server's answer. The request goes on without it."
    )
    return Notice(
        key=key, request_id=notice.request_id, kind=NoticeKind.staff_escalation,
        sender=notice.sender, to=list(notice.staff), language="en",
        facts=_escalation(notice, f"notice could not be sent ({notice.kind.value})", detail),
    )


def escalation_facts(
    notice: Notice, rendered: RenderedNotice, attempt: int, error: str, key: str
) -> dict[str, Any]:
    """The staff_escalation template's facts for an undelivered notice."""
    detail = (
        f"The {notice.kind.value} notice to {', '.join(notice.to)} could not be delivered: "
        f"attempt {attempt} failed with {error}\n"
        f'Subject: "{rendered.subject}" (key {notice.key}, in {rendered.language}).\n\n'
        "A parent who was never told cannot be held to a deadline: reach the parent another "
        "way, and hold them to no deadline this notice sets until they have been told. "
        "Sending goes on with backoff; `transfers notices "
        f"{notice.request_id}` shows its delivery record (this escalation is {key})."
    )
    return _escalation(notice, f"notice could not be delivered ({notice.kind.value})", detail)


def _escalation(notice: Notice, what: str, detail: str) -> dict[str, Any]:
    """The staff_escalation template's facts about ``notice``."""
    return {
        "request_id": notice.request_id,
        "what": what,
        "detail": detail,
        "direction_text": _process(notice),
        "school_year": str(notice.facts.get("school_year") or "unknown"),
        "stage": str(notice.facts.get("stage") or "unknown"),
    }
