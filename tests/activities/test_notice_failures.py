"""Notices that no attempt can send (activities/notices.py; docs/cross-cutting.md "Notices that
cannot be sent"): a message that cannot be built and an SMTP server's 5xx fail the activity
for good at once, with a non-retryable error whose text (the one Temporal writes into the
history in the clear, and the logs) names no one, and a delivery record ``failed`` with the
whole error. A 4xx and a lost connection stay transient. Against a real SMTP server on
loopback (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notices import (
    NOT_BUILT,
    REFUSED,
    NoticeActivities,
    failed_notice_escalation,
    permanent_code,
)
from activities.rendering import render
from infra.codec import DATA_CONVERTER
from models.notices import Notice, NoticeKind
from store import notices as delivery
from tests.support import notices as samples
from tests.support.servers import smtp_server

PARENT = "maria@example.com"
STAFF = "pupil-services@paramount.example.org"
SENDER = "notices@paramount.example.org"
KEY = "PUSD-2027-0001:denied:7"
# What must never reach Temporal's history or the logs: the student's and parent's names
# (in the facts) and the addresses.
STUDENT_DATA = ("Ana Lopez", "Maria Lopez", PARENT, "maria@", "maría@", "Bcc")


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """SQLite, and PostgreSQL too when TRANSFERS_TEST_DATABASE_URL is set (tests/conftest)."""
    return store_engine


def a_notice(
    kind: NoticeKind = NoticeKind.denied, to: str = PARENT, sender: str = SENDER,
    key: str = KEY, **facts: object,
) -> Notice:
    return Notice(
        key=key, request_id="PUSD-2027-0001", kind=kind, sender=sender, to=[to],
        facts={**samples.CASES[kind][0], **facts}, staff=[STAFF],
    )


class Server:
    """Keeps what it accepts; answers ``answer`` at ``at`` (RCPT or DATA) for ``refused``."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.refused: set[str] = set()
        self.at = "RCPT"
        self.answer = "550 5.1.1 <maria@example.com>: mailbox unavailable"
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: ANN001, ANN201
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201
        if self.at == "RCPT" and address in self.refused:
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        if self.at == "DATA" and self.refused & set(envelope.rcpt_tos):
            return self.answer
        self.messages.append(envelope.original_content)
        return "250 Message accepted for delivery"


@pytest.fixture
def server() -> Iterator[tuple[Server, int]]:
    handler = Server()
    with smtp_server(handler) as port:
        yield handler, port


def by_smtp(engine: Engine, tmp_path: Path, port: int) -> NoticeActivities:
    return NoticeActivities(engine, tmp_path / "outbox", "127.0.0.1", port)


def run(activities: NoticeActivities, notice: Notice) -> str:
    return ActivityEnvironment().run(activities.send_notice, notice)


def in_the_history(error: BaseException) -> str:
    """Everything of ``error`` that Temporal writes into the history: message, type, stack
    trace and the chain of causes, as the worker's failure converter encodes them."""
    failure = Failure()
    DATA_CONVERTER.failure_converter.to_failure(error, DATA_CONVERTER.payload_converter, failure)
    return str(failure)


def failed_for_good(activities: NoticeActivities, notice: Notice) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        run(activities, notice)
    error = raised.value
    assert error.non_retryable
    written = in_the_history(error)
    for secret in STUDENT_DATA:
        assert secret not in written, f"{secret!r} would reach the history: {written}"
    assert error.__cause__ is None  # no chained error carries the text after all
    return error


def no_student_data_logged(caplog: pytest.LogCaptureFixture) -> None:
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "failed for good" in logged
    for secret in STUDENT_DATA:
        assert secret not in logged, logged


@pytest.mark.parametrize("at", ["RCPT", "DATA"])
def test_a_5xx_fails_the_notice_for_good_at_once(
    tmp_path: Path, engine: Engine, server: tuple[Server, int], at: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = server
    handler.refused, handler.at = {PARENT}, at
    caplog.set_level(logging.WARNING)
    error = failed_for_good(by_smtp(engine, tmp_path, port), a_notice())
    assert (error.type, error.message) == (REFUSED, f"smtp-refused 550 at {at}")
    no_student_data_logged(caplog)
    # The record is failed at once, with the server's whole answer, after one attempt; the
    # workflow tells staff, not the activity (no escalation record of its own).
    (row,) = delivery.list_notices(engine)
    assert (row.key, row.status, row.attempts, row.sent_at) == (KEY, "failed", 1, None)
    assert "550" in row.error and row.error.startswith(
        "SMTPRecipientsRefused" if at == "RCPT" else "SMTPDataError"
    )
    assert handler.messages == []


def test_a_staff_notice_refused_with_a_5xx_fails_for_good_and_is_not_escalated(
    tmp_path: Path, engine: Engine, server: tuple[Server, int]
) -> None:
    handler, port = server
    handler.refused = {STAFF}
    escalation = failed_notice_escalation(a_notice(), "smtp-refused 550 at RCPT")
    assert escalation is not None
    error = failed_for_good(by_smtp(engine, tmp_path, port), escalation)
    assert error.type == REFUSED
    assert [(r.key, r.status) for r in delivery.list_notices(engine)] == [
        (f"{KEY}:failed", "failed")
    ]
    # A failed escalation has no escalation of its own: no loop.
    assert escalation.staff == []
    assert failed_notice_escalation(escalation, error.message) is None


def test_a_4xx_stays_transient_and_a_later_attempt_delivers(
    tmp_path: Path, engine: Engine, server: tuple[Server, int]
) -> None:
    handler, port = server
    handler.refused, handler.answer = {PARENT}, "451 4.2.1 mailbox busy, try again later"
    activities = by_smtp(engine, tmp_path, port)
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # retried by the workflow's policy
        run(activities, a_notice())
    assert delivery.list_notices(engine)[0].status == "failed"
    handler.refused = set()
    assert run(activities, a_notice()) == "sent"
    (row,) = delivery.list_notices(engine)
    assert (row.status, row.attempts, row.error) == ("sent", 2, "")
    assert len(handler.messages) == 1


# A header with an embedded line break: the compat32 writer refuses it as the message is
# written out (HeaderParseError); the modern API, which a non-ASCII address takes, as it is
# built (ValueError). The error's own text names the header's value: it must stay out of
# the history.
UNBUILDABLE = {
    "ascii": ({"sender": f"{SENDER}\nBcc: someone@example.net"}, "HeaderParseError"),
    "non-ascii": ({"to": "maría@example.com\nBcc: someone@example.net"}, "ValueError"),
}


@pytest.mark.parametrize("case", list(UNBUILDABLE))
@pytest.mark.parametrize("mode", ["smtp", "outbox"])
def test_a_message_that_cannot_be_built_fails_for_good_at_once(
    tmp_path: Path, engine: Engine, server: tuple[Server, int], case: str, mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = server
    change, error_type = UNBUILDABLE[case]
    notice = a_notice(**change)
    activities = (by_smtp(engine, tmp_path, port) if mode == "smtp"
                  else NoticeActivities(engine, tmp_path / "outbox"))
    caplog.set_level(logging.WARNING)
    error = failed_for_good(activities, notice)
    assert (error.type, error.message) == (NOT_BUILT, f"message-not-built ({error_type})")
    no_student_data_logged(caplog)
    # Failed at once, not left "sending" with an empty error.
    (row,) = delivery.list_notices(engine)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error.startswith(error_type)
    assert handler.messages == []
    assert not list((tmp_path / "outbox").glob("*.eml"))


def test_what_is_permanent() -> None:
    """RFC 5321: 5xx to the sender, the recipients or the message is permanent; a 4xx is not.
    A 5xx greeting or login is the relay's state and stays transient; so does a lost
    connection (no code at all)."""
    def refused(*codes: int) -> smtplib.SMTPRecipientsRefused:
        return smtplib.SMTPRecipientsRefused(
            {f"p{i}@example.com": (code, b"x") for i, code in enumerate(codes)}
        )

    assert permanent_code(refused(550)) == 550
    assert permanent_code(refused(550, 553)) == 553
    assert permanent_code(refused(550, 451)) is None  # one may yet take it
    assert permanent_code(refused(421)) is None
    assert permanent_code(smtplib.SMTPDataError(554, b"no")) == 554
    assert permanent_code(smtplib.SMTPDataError(452, b"full")) is None
    assert permanent_code(smtplib.SMTPSenderRefused(552, b"too big", SENDER)) == 552
    assert permanent_code(smtplib.SMTPConnectError(554, b"no service")) is None
    assert permanent_code(smtplib.SMTPHeloError(501, b"bad helo")) is None
    assert permanent_code(smtplib.SMTPAuthenticationError(535, b"bad login")) is None
    assert permanent_code(smtplib.SMTPServerDisconnected("gone")) is None
    assert permanent_code(ConnectionRefusedError()) is None


def test_the_escalation_of_a_failed_notice_names_it_for_staff_only() -> None:
    notice = a_notice()
    escalation = failed_notice_escalation(notice, "smtp-refused 550 at RCPT")
    assert escalation is not None
    assert (escalation.key, escalation.kind, escalation.to, escalation.staff) == (
        f"{KEY}:failed", NoticeKind.staff_escalation, [STAFF], []
    )
    text = render(escalation.kind.value, escalation.facts)
    assert text.subject == "ESCALATION: PUSD-2027-0001 notice could not be sent (denied)"
    assert f"The denied notice to {PARENT} failed for good" in text.body
    assert "smtp-refused 550 at RCPT" in text.body
    assert "transfers notices PUSD-2027-0001" in text.body
    without_staff = notice.model_copy(update={"staff": []})
    assert failed_notice_escalation(without_staff, "x") is None
