"""Notices in the parent's language (activities/rendering.py, activities/templates/<language>/)
and their delivery records with retries and the escalation to staff (activities/notices.py,
store/notices.py), against a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import smtplib
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError, meta
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.notices import (
    ESCALATE_AFTER,
    NO_STAFF_NOTE,
    NoticeActivities,
    notice_language,
)
from activities.rendering import (
    DATE_NAMES,
    _env,
    localise_facts,
    normalise_language,
    parse_english_long_date,
    render,
    translate_label,
)
from infra.codec import DATA_CONVERTER
from models.notices import Notice, NoticeKind
from rules import calendar
from store import notices as delivery
from store.schema import NoticeRow
from tests.support import notices as samples
from tests.support.servers import smtp_server

PARENT = "maria@example.com"
STAFF = "pupil-services@paramount.example.org"
SENDER = "notices@paramount.example.org"
KEY = "PUSD-2027-0001:denied:7"
ESCALATION_KEY = f"{KEY}:undelivered"


def one_line(text: str) -> str:
    return " ".join(text.split())


def text_of(kind: NoticeKind, language: str, /, **more: Any) -> str:
    rendered = render(kind.value, {**samples.CASES[kind][0], **more}, language)
    return f"{rendered.subject}\n{rendered.body}"


# ---- languages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("es", "es"), ("ES", "es"), ("es-MX", "es"), ("es_US", "es"), (" Es-419 ", "es"),
     ("Spanish", "es"), ("español", "es"), ("en", "en"), ("en-US", "en"), ("", "en"),
     (None, "en"), ("vi", "vi"), ("zh-Hant-TW", "zh"), ("../en", "../en")],
)
def test_languages_are_normalised_to_their_primary_subtag(given: str | None, expected: str) -> None:
    assert normalise_language(given) == expected


def test_the_notice_language_comes_from_the_notice_else_from_its_facts() -> None:
    facts = {**samples.CASES[NoticeKind.denied][0]}
    notice = Notice(key=KEY, request_id="R", kind=NoticeKind.denied, sender=SENDER, to=[PARENT],
                    facts=facts)
    assert notice_language(notice) == "en"
    assert notice_language(notice.model_copy(update={"language": "es-MX"})) == "es-MX"
    in_facts = notice.model_copy(update={"facts": {**facts, "language": "es"}})
    assert notice_language(in_facts) == "es"
    # As the activity receives it from a workflow that does not set Notice.language yet: the
    # payload carries "language": "en", and the facts' language still counts.
    (payload,) = DATA_CONVERTER.payload_converter.to_payloads([in_facts])
    (received,) = DATA_CONVERTER.payload_converter.from_payloads([payload], [Notice])
    assert received.language == "en"
    assert notice_language(received) == "es"
    both = in_facts.model_copy(update={"language": "vi"})
    assert notice_language(both) == "vi"


# ---- dates -------------------------------------------------------------------------------


def test_english_long_dates_are_recognised_exactly() -> None:
    assert parse_english_long_date("Wednesday, March 31, 2027") == date(2027, 3, 31)
    assert parse_english_long_date("Tuesday, February 29, 2028") == date(2028, 2, 29)
    for not_a_date in (
        "Thursday, March 31, 2027",  # the wrong weekday
        "Monday, February 30, 2027",  # no such day
        "Wednesday, March 31, 2027.",  # more than a date
        "by Wednesday, March 31, 2027",
        "wednesday, march 31, 2027",
        "Wednesday, March 031, 2027",
        "2027-03-31",
        "",
    ):
        assert parse_english_long_date(not_a_date) is None, not_a_date


def test_every_day_the_calendar_writes_is_recognised_and_written_in_spanish() -> None:
    day = date(2027, 1, 1)
    while day < date(2029, 1, 1):
        assert parse_english_long_date(calendar.long_date(day)) == day
        day += timedelta(days=1)
    spanish = DATE_NAMES["es"]
    assert spanish.long_date(date(2027, 3, 31)) == "miércoles, 31 de marzo de 2027"
    assert spanish.long_date(date(2027, 3, 1)) == "lunes, 1 de marzo de 2027"
    assert spanish.long_date(date(2028, 2, 29)) == "martes, 29 de febrero de 2028"
    assert spanish.long_date(date(2027, 12, 25)) == "sábado, 25 de diciembre de 2027"
    assert spanish.long_date(date(2027, 9, 5)) == "domingo, 5 de septiembre de 2027"


def test_only_facts_that_are_exactly_a_date_are_rewritten() -> None:
    facts = {
        "decision_due": "Wednesday, March 31, 2027",
        "reason": "not renewed for 2028-2029 by Friday, March 31, 2028",
        "dates": ["Monday, March 1, 2027", "grade 1"],
        "nested": {"on": "Saturday, May 1, 2027"},
        "grade": 5,
        "may_appeal": True,
    }
    assert localise_facts(facts, "es") == {
        "decision_due": "miércoles, 31 de marzo de 2027",
        "reason": "not renewed for 2028-2029 by Friday, March 31, 2028",  # prose: as given
        "dates": ["lunes, 1 de marzo de 2027", "grade 1"],
        "nested": {"on": "sábado, 1 de mayo de 2027"},
        "grade": 5,
        "may_appeal": True,
    }
    assert localise_facts(facts, "en") is facts
    assert localise_facts(facts, "vi") is facts  # no date names: as given


# ---- templates in Spanish ----------------------------------------------------------------


def test_a_denial_in_spanish_gives_the_appeal_deadline_as_a_spanish_date() -> None:
    facts = samples.CASES[NoticeKind.denied][0]
    rendered = render("denied", facts, "es")
    assert (rendered.language, rendered.note) == ("es", "")
    assert rendered.subject == (
        "Permiso interdistrital denegado para Ana Lopez: puede apelar hasta el miércoles, "
        "14 de abril de 2027"
    )
    body = one_line(rendered.body)
    assert body.startswith("Estimado(a) Maria Lopez:")
    assert "el último día para apelar es el miércoles, 14 de abril de 2027" in body
    assert "con fecha del martes, 16 de marzo de 2027" in body
    assert "dentro de los 30 días calendario" in body
    assert "ante Los Angeles County Office of Education (LACOE)" in body
    assert "se considerará abandonada" in body
    # The denial reasons are the seed's words for codes: in Spanish from the catalog.
    assert "- Falta de cupo disponible (nivel de grado o programa especializado)" in rendered.body
    assert "- Se proporcionó información falsa o engañosa en la solicitud" in rendered.body
    assert not any(reason in rendered.body for reason in facts["reasons"])
    assert "Wednesday" not in body and "April" not in body


def test_a_spanish_denial_without_the_right_to_appeal_gives_no_deadline() -> None:
    facts = {**samples.CASES[NoticeKind.denied][0], **samples.appeal_facts(may_appeal=False)}
    body = render("denied", facts, "es").body
    assert "expulsion proceedings are pending" in body
    assert "derecho a apelar" not in body


def test_a_spanish_receipt_says_the_direction_in_spanish() -> None:
    out = one_line(text_of(NoticeKind.receipt, "es"))
    assert ("para Ana Lopez, residente de Paramount Unified School District, para asistir a "
            "Downey Unified School District") in out
    assert "El lunes, 1 de marzo de 2027, Paramount Unified School District recibió" in out
    assert "out of" not in out
    into = one_line(render("receipt", {**samples.common_facts(direction="into"),
                                       "received_on": "Monday, March 1, 2027"}, "es").body)
    assert ("residente de Downey Unified School District, para asistir a Paramount Unified "
            "School District") in into
    assert "documentos que le indicaremos" not in into


def test_spanish_within_district_notices_keep_the_rule_references() -> None:
    placed = one_line(text_of(NoticeKind.within_placed, "es"))
    assert "hasta el miércoles, 30 de junio de 2032" in placed
    assert "Regla 5110.1 IV.D" in placed and "(IV.A)" in placed
    offer = one_line(text_of(NoticeKind.within_offer, "es"))
    assert "a más tardar el martes, 11 de mayo de 2027" in offer
    receipt = one_line(text_of(NoticeKind.within_receipt, "es", kind="current_year"))
    assert "Regla 5110.1 IX.B" in receipt
    deemed = one_line(text_of(NoticeKind.deemed_denied, "es"))
    assert "46600.1" in deemed and "a más tardar el miércoles, 25 de agosto de 2027" in deemed


# The Spanish templates say the direction from codes, not from the English direction_text.
DIRECTION = {"direction_text": {"direction", "district_name", "other_district"}}


def variables(language: str, kind: NoticeKind) -> set[str]:
    source = (samples.TEMPLATES / language / f"{kind.value}.txt").read_text()
    return set(meta.find_undeclared_variables(_env.parse(source)))


def with_codes(names: set[str]) -> set[str]:
    found = set(names)
    for prose, codes in DIRECTION.items():
        if prose in found:
            found = (found - {prose}) | codes
    return found


@pytest.mark.parametrize("kind", samples.PARENT_KINDS)
def test_the_spanish_template_uses_the_same_facts_as_the_english_one(kind: NoticeKind) -> None:
    english, spanish = variables("en", kind), variables("es", kind)
    assert with_codes(english) == with_codes(spanish), (english ^ spanish)
    assert not spanish & set(DIRECTION), "English prose in a Spanish notice"
    # What the workflows pass, and the portal's link the activity adds.
    assert spanish <= set(samples.CASES[kind][0]) | {"portal_link"}


@pytest.mark.parametrize("kind", samples.PARENT_KINDS)
def test_every_spanish_notice_renders_with_its_dates_in_spanish(kind: NoticeKind) -> None:
    facts = samples.CASES[kind][0]
    rendered = render(kind.value, facts, "es")
    assert (rendered.language, rendered.note) == ("es", "")
    text = f"{rendered.subject}\n{rendered.body}"
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.body.startswith(f"Estimado(a) {facts['parent_name']}:")
    assert "None" not in text
    used = variables("es", kind)
    prose = " ".join(str(v) for k, v in facts.items() if isinstance(v, str)
                      and parse_english_long_date(v) is None)
    for name in used:
        value = facts[name]
        if isinstance(value, str) and (day := parse_english_long_date(value)):
            assert DATE_NAMES["es"].long_date(day) in one_line(text), name
            if value not in prose:  # an English date may only come from English prose
                assert value not in one_line(text), name
    # No English left but what the facts bring (English prose as the workflows give it).
    given = [v for v in facts.values() if isinstance(v, str)]
    given += [x for v in facts.values() if isinstance(v, list) for x in v]
    rest = one_line(text)
    for value in sorted(given, key=len, reverse=True):
        rest = rest.replace(one_line(value), "") if value.strip() else rest
    english = re.compile(r"\b(Dear|the|request|school year|permit|by|your|and)\b")
    assert not english.search(rest), english.findall(rest)


@pytest.mark.parametrize("kind", samples.PARENT_KINDS)
def test_a_missing_fact_is_an_error_in_spanish_too(kind: NoticeKind) -> None:
    with pytest.raises(UndefinedError):
        render(kind.value, {}, "es")
    facts = dict(samples.CASES[kind][0])
    del facts["request_id"]
    with pytest.raises(UndefinedError):
        render(kind.value, facts, "es")


# ---- the fallback to English -------------------------------------------------------------


def test_a_language_without_templates_falls_back_to_english_and_says_so() -> None:
    facts = samples.CASES[NoticeKind.denied][0]
    english = render("denied", facts)
    for asked, named in (("vi", "vi"), ("vi-VN", "vi"), ("Tagalog", "tagalog"), ("x!", "x!")):
        rendered = render("denied", facts, asked)
        assert (rendered.subject, rendered.body) == (english.subject, english.body)
        assert rendered.language == "en"
        assert rendered.note == f"no {named} template for denied: sent in English"
    assert "Wednesday, April 14, 2027" in english.subject  # English dates stay English


def test_staff_notices_are_english_only() -> None:
    rendered = render("staff_reminder", samples.CASES[NoticeKind.staff_reminder][0], "es")
    assert rendered.language == "en"
    assert rendered.note == "no es template for staff_reminder: sent in English"
    assert "statutory deadline Wednesday, August 25, 2027" in rendered.body
    assert render("staff_reminder", samples.CASES[NoticeKind.staff_reminder][0]).note == ""


# ---- the delivery record -----------------------------------------------------------------


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """SQLite, and PostgreSQL too when TRANSFERS_TEST_DATABASE_URL is set (tests/conftest)."""
    return store_engine


def a_notice(
    language: str = "es", staff: list[str] | None = None, kind: NoticeKind = NoticeKind.denied,
    key: str = KEY, **more: Any,
) -> Notice:
    return Notice(
        key=key, request_id="PUSD-2027-0001", kind=kind, sender=SENDER, to=[PARENT],
        facts={**samples.CASES[kind][0], **more}, language=language,
        staff=[STAFF] if staff is None else staff,
    )


def rows(engine: Engine) -> dict[str, NoticeRow]:
    return {row.key: row for row in delivery.list_notices(engine)}


def test_the_record_keeps_the_language_and_the_fallback_note(
    tmp_path: Path, engine: Engine
) -> None:
    activities = NoticeActivities(engine, tmp_path / "outbox")
    assert activities.send_notice(a_notice("es-MX")) == "sent"
    assert activities.send_notice(a_notice("vi", key="K:denied:vi")) == "sent"
    legacy = a_notice("en", key="K:denied:facts")
    legacy = legacy.model_copy(update={"facts": {**legacy.facts, "language": "ES"}})
    assert activities.send_notice(legacy) == "sent"
    found = rows(engine)
    assert (found[KEY].status, found[KEY].language, found[KEY].note) == ("sent", "es", "")
    assert found[KEY].subject.endswith("miércoles, 14 de abril de 2027")
    assert "el último día para apelar es el miércoles, 14 de abril de 2027" in one_line(
        found[KEY].body
    )
    vietnamese = found["K:denied:vi"]
    assert (vietnamese.status, vietnamese.language) == ("sent", "en")
    assert vietnamese.note == "no vi template for denied: sent in English"
    assert vietnamese.subject.endswith("Wednesday, April 14, 2027")
    assert (found["K:denied:facts"].language, found["K:denied:facts"].note) == ("es", "")

    messages = {samples.parse(p.read_bytes())["Message-ID"]: samples.parse(p.read_bytes())
                for p in (tmp_path / "outbox").glob("*.eml")}
    spanish = next(m for m in messages.values() if m["Content-Language"] == "es"
                   and "miércoles, 14 de abril" in m.get_content())
    assert "miércoles, 14 de abril de 2027" in one_line(str(spanish["Subject"]))
    assert sorted(m["Content-Language"] for m in messages.values()) == ["en", "es", "es"]


def test_a_claim_records_what_is_sent_and_a_sent_notice_is_left_as_it_is(
    engine: Engine,
) -> None:
    args = (KEY, "R1", "denied", [PARENT], "Asunto", "Cuerpo")
    assert delivery.claim(engine, *args, language="es")
    row = rows(engine)[KEY]
    assert (row.status, row.attempts, row.language, row.note, row.error, row.subject) == (
        "sending", 1, "es", "", "", "Asunto"
    )
    delivery.mark_failed(engine, KEY, "SMTPServerDisconnected: gone")
    # The next attempt sends another text: its claim brings the record up to date.
    assert delivery.claim(engine, KEY, "R1", "denied", [PARENT], "Subject", "Body",
                          language="en", note="no vi template for denied: sent in English")
    row = rows(engine)[KEY]
    assert (row.status, row.attempts, row.subject, row.language, row.note) == (
        "sending", 2, "Subject", "en", "no vi template for denied: sent in English"
    )
    delivery.mark_sent(engine, KEY)
    assert not delivery.claim(engine, *args, language="es")
    assert delivery.record(engine, *args, language="es") == "sent"
    row = rows(engine)[KEY]
    assert (row.status, row.attempts, row.subject, row.language) == ("sent", 2, "Subject", "en")


def test_a_notice_with_nobody_to_send_it_to_is_recorded_queued(engine: Engine) -> None:
    args = (KEY, "R1", "staff_escalation", [], "Asunto", "Cuerpo")
    assert delivery.record(engine, *args, language="es", note=NO_STAFF_NOTE) == "queued"
    row = rows(engine)[KEY]
    assert (row.status, row.attempts, row.language, row.note, row.error) == (
        "queued", 0, "es", NO_STAFF_NOTE, ""
    )
    # Recorded again: brought up to date.
    assert delivery.record(engine, KEY, "R1", "staff_escalation", [], "Subject", "Body",
                           language="en", note=NO_STAFF_NOTE) == "queued"
    assert (rows(engine)[KEY].subject, rows(engine)[KEY].language) == ("Subject", "en")


# ---- retries and the escalation, against a real SMTP server ------------------------------


DEFERRED = "451"  # RFC 5321: transient, try again later
REFUSED = "550"  # permanent
ANSWERS = {
    ("RCPT", DEFERRED): "451 4.2.1 mailbox busy, try again later",
    ("DATA", DEFERRED): "451 4.3.0 message deferred, try again later",
    ("RCPT", REFUSED): f"550 5.1.1 <{PARENT}>: mailbox unavailable",  # names the address
    ("DATA", REFUSED): "550 5.7.1 message refused",
}


class Server:
    """An SMTP handler that keeps what it accepts and refuses, with ``code`` (451, transient,
    by default; 550, permanent), what is addressed to ``refused`` (at RCPT or at DATA); it
    notes the parent notice's delivery status at each connection's RCPT."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()
        self.refuse_at = "RCPT"
        self.code = DEFERRED
        self.status_during_attempts: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201
        if address == PARENT:
            found = await asyncio.to_thread(rows, self.engine)
            self.status_during_attempts.append(found[KEY].status)
        if self.refuse_at == "RCPT" and address in self.refused:
            return ANSWERS["RCPT", self.code]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        if self.refuse_at == "DATA" and self.refused & set(envelope.rcpt_tos):
            return ANSWERS["DATA", self.code]
        self.messages.append(samples.parse(envelope.original_content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def server(engine: Engine) -> Iterator[tuple[Server, int]]:
    handler = Server(engine)
    with smtp_server(handler) as port:
        yield handler, port


@pytest.fixture
def activities(tmp_path: Path, engine: Engine, server: tuple[Server, int]) -> NoticeActivities:
    """The notice activities, sending through the test's SMTP server."""
    return NoticeActivities(engine, tmp_path / "outbox", "127.0.0.1", server[1])


def attempt(activities: NoticeActivities, notice: Notice, number: int) -> str:
    """One attempt of the activity, as the worker runs the workflow's retries."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, attempt=number)
    return environment.run(activities.send_notice, notice)


def failed_attempt(activities: NoticeActivities, notice: Notice, number: int) -> None:
    """An attempt that fails for now (a 4xx): the SMTP error, retried by the workflow."""
    with pytest.raises(smtplib.SMTPException) as raised:
        attempt(activities, notice, number)
    assert DEFERRED in str(raised.value)


@pytest.mark.parametrize("refuse_at", ["RCPT", "DATA"])
def test_an_undelivered_notice_is_retried_escalated_once_and_sent_once(
    engine: Engine, server: tuple[Server, int], activities: NoticeActivities, refuse_at: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, _ = server
    handler.refuse_at = refuse_at
    at_claim: list[str] = []  # the record's status as each attempt claims it
    claim = delivery.claim

    def watched_claim(engine_: Engine, key: str, *rest: Any, **named: Any) -> bool:
        if key == KEY:
            row = rows(engine).get(KEY)
            at_claim.append(row.status if row else "none")
        return claim(engine_, key, *rest, **named)

    monkeypatch.setattr(delivery, "claim", watched_claim)
    notice = a_notice("es")
    handler.refused = {PARENT, STAFF}  # the server refuses everything

    for number in range(1, ESCALATE_AFTER):
        failed_attempt(activities, notice, number)
        row = rows(engine)[KEY]
        assert (row.status, row.attempts, row.sent_at) == ("failed", number, None)
        assert DEFERRED in row.error and row.error.startswith(
            "SMTPRecipientsRefused" if refuse_at == "RCPT" else "SMTPDataError"
        )
        assert (row.language, row.recipients) == ("es", PARENT)
        assert ESCALATION_KEY not in rows(engine)  # not yet: retries first
    # No record before the first claim, then failed after each attempt; "sending" while an
    # attempt is on.
    assert at_claim == ["none"] + ["failed"] * (ESCALATE_AFTER - 2)
    assert handler.status_during_attempts == ["sending"] * (ESCALATE_AFTER - 1)

    # Attempt 5 fails: staff are told, but the server refuses them too. The escalation is
    # recorded as failed; the parent notice's attempt fails as before.
    failed_attempt(activities, notice, ESCALATE_AFTER)
    found = rows(engine)
    assert (found[KEY].status, found[KEY].attempts) == ("failed", ESCALATE_AFTER)
    escalation = found[ESCALATION_KEY]
    assert (escalation.status, escalation.attempts, escalation.kind) == (
        "failed", 1, "staff_escalation"
    )
    assert DEFERRED in escalation.error
    assert (escalation.recipients, escalation.request_id, escalation.language) == (
        STAFF, "PUSD-2027-0001", "en"
    )
    assert handler.messages == []

    # Staff can be reached again, the parent cannot: the next attempt sends the escalation.
    handler.refused = {PARENT}
    failed_attempt(activities, notice, ESCALATE_AFTER + 1)
    (told,) = handler.to(STAFF)
    assert told["Subject"] == (
        "ESCALATION: PUSD-2027-0001 notice could not be delivered (denied)"
    )
    assert told["From"] == SENDER
    content = told.get_content()
    assert f"The denied notice to {PARENT} could not be delivered" in content
    assert f"attempt {ESCALATE_AFTER + 1} failed with" in content and DEFERRED in content
    assert KEY in content and "cannot be held to a deadline" in content
    assert "transfers notices PUSD-2027-0001" in content
    found = rows(engine)
    assert (found[ESCALATION_KEY].status, found[ESCALATION_KEY].attempts) == ("sent", 2)
    assert (found[KEY].status, found[KEY].attempts) == ("failed", ESCALATE_AFTER + 1)

    # Later failing attempts do not tell staff again.
    failed_attempt(activities, notice, ESCALATE_AFTER + 2)
    failed_attempt(activities, notice, ESCALATE_AFTER + 3)
    assert len(handler.to(STAFF)) == 1
    assert rows(engine)[ESCALATION_KEY].attempts == 2

    # The parent's server accepts again: sent once, in Spanish; a further call sends nothing.
    handler.refused = set()
    assert attempt(activities, notice, ESCALATE_AFTER + 4) == "sent"
    assert attempt(activities, notice, ESCALATE_AFTER + 5) == "already sent"
    assert attempt(activities, notice, 1) == "already sent"
    (delivered,) = handler.to(PARENT)
    assert delivered["Content-Language"] == "es"
    assert "el último día para apelar es el miércoles, 14 de abril de 2027" in one_line(
        delivered.get_content()
    )
    assert len(handler.messages) == 2
    row = rows(engine)[KEY]
    assert (row.status, row.error, row.attempts) == ("sent", "", ESCALATE_AFTER + 4)
    assert row.sent_at is not None
    assert set(rows(engine)) == {KEY, ESCALATION_KEY}


def test_without_staff_addresses_the_escalation_is_recorded_only(
    engine: Engine, server: tuple[Server, int], activities: NoticeActivities
) -> None:
    handler, _ = server
    handler.refused = {PARENT}
    notice = a_notice("es", staff=[])
    for number in range(1, ESCALATE_AFTER + 3):
        failed_attempt(activities, notice, number)
    escalation = rows(engine)[ESCALATION_KEY]
    assert (escalation.status, escalation.attempts, escalation.recipients) == ("queued", 0, "")
    assert escalation.note == NO_STAFF_NOTE
    assert escalation.subject == (
        "ESCALATION: PUSD-2027-0001 notice could not be delivered (denied)"
    )
    assert f"attempt {ESCALATE_AFTER + 2} failed" in escalation.body  # the latest attempt
    assert handler.messages == []
    handler.refused = set()
    assert attempt(activities, notice, ESCALATE_AFTER + 3) == "sent"
    assert len(handler.messages) == 1


def test_an_undelivered_staff_notice_is_not_escalated(
    engine: Engine, server: tuple[Server, int], activities: NoticeActivities
) -> None:
    handler, _ = server
    handler.refused = {STAFF}
    notice = Notice(
        key="PUSD-2027-0001:staff_reminder:2027-03-24", request_id="PUSD-2027-0001",
        kind=NoticeKind.staff_reminder, sender=SENDER, to=[STAFF], staff=[STAFF],
        facts=samples.CASES[NoticeKind.staff_reminder][0],
    )
    for number in range(1, ESCALATE_AFTER + 2):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            attempt(activities, notice, number)
    assert list(rows(engine)) == [notice.key]
    assert rows(engine)[notice.key].attempts == ESCALATE_AFTER + 1


def test_an_unrenderable_notice_records_nothing_and_escalates_nothing(
    tmp_path: Path, engine: Engine
) -> None:
    activities = NoticeActivities(engine, tmp_path / "outbox")
    notice = a_notice("es")
    notice = notice.model_copy(update={"facts": {k: v for k, v in notice.facts.items()
                                                 if k != "appeal_deadline"}})
    with pytest.raises(Exception, match="appeal_deadline") as refused:
        attempt(activities, notice, ESCALATE_AFTER)
    assert getattr(refused.value, "non_retryable", False)
    assert rows(engine) == {}


@pytest.mark.parametrize(("language", "words"), [
    ("en", "it is valid once that district endorses it (Education Code 46600(a)(3))"),
    ("es", "es válido una vez que ese distrito lo respalde (Código de Educación 46600(a)(3))"),
])
def test_an_approval_out_of_the_district_says_the_permit_awaits_its_endorsement(
    language: str, words: str
) -> None:
    facts = samples.CASES[NoticeKind.approved][0]
    assert words in one_line(render("approved", facts, language).body)
    into = {**facts, **samples.common_facts(direction="into")}
    assert "46600(a)(3)" not in render("approved", into, language).body


def _labels_the_rules_give() -> list[str]:
    """Every label a workflow may put in a translated fact (activities.rendering.TRANSLATED)."""
    from models.decisions import DENIAL_REASON_TEXT
    from models.within_district import Program, SeatKey
    from rules.documents import DOCUMENT_LABELS

    seat = SeatKey(school="norris", program=next(iter(Program)), grade=1)
    return [
        *DOCUMENT_LABELS.values(), *DENIAL_REASON_TEXT.values(),
        "the required documents were not received",
        "the release from the district of residence was not received",
        "no appeal was filed with the Los Angeles County Office of Education (LACOE)",
        "the waitlist ended on the first day of school; a current-year request (IX) may be made",
        "kindergarten", *(f"grade {n}" for n in range(1, 13)),
        f"{seat.describe()} is not open to within-district transfers (VII)",
    ]


@pytest.mark.parametrize("label", _labels_the_rules_give())
def test_every_label_the_rules_give_has_its_spanish(label: str) -> None:
    spanish = translate_label(label, "es")
    assert spanish != label, f"no Spanish for {label!r} in activities/locale/es"
    words = spanish.replace("Los Angeles County Office of Education (LACOE)", "")  # a name
    assert not re.search(r"\b(the|of|is|not|was|and)\b", words), spanish
    assert translate_label(label, "en") == label  # English: the label itself


def test_a_label_inside_a_label_is_translated_too() -> None:
    assert translate_label("grade 1 of the core program at Norris Elementary School is not open "
                           "to within-district transfers (VII)", "es") == (
        "grado 1 del programa core en Norris Elementary School no está abierto a "
        "transferencias dentro del distrito (VII)")
    assert translate_label("an unknown label", "es") == "an unknown label"


@pytest.mark.parametrize(("language", "told"), [
    ("en", "First obtain the release (the permit) from your district of residence"),
    ("es", "Primero obtenga el permiso de salida de su distrito de residencia"),
])
def test_an_into_district_receipt_says_to_obtain_the_release_first(
    language: str, told: str
) -> None:
    into = {**samples.CASES[NoticeKind.receipt][0], **samples.common_facts("into")}
    out = {**samples.CASES[NoticeKind.receipt][0], **samples.common_facts("out")}
    assert told in one_line(render("receipt", into, language).body)
    assert told not in one_line(render("receipt", out, language).body)


@pytest.mark.parametrize(("kind", "language", "told"), [
    (NoticeKind.missing_documents, "en", "upload them on your request's page in the portal"),
    (NoticeKind.missing_documents, "es", "súbalos en la página de su solicitud en el portal"),
    (NoticeKind.within_offer, "en", "answer on your request's page in the portal"),
    (NoticeKind.within_offer, "es", "responda en la página de su solicitud en el portal"),
])
def test_a_parent_is_told_to_act_in_the_portal(kind: NoticeKind, language: str, told: str
                                               ) -> None:
    facts = samples.CASES[kind][0]
    text = one_line(render(kind.value, facts, language).body)
    assert told in text and facts["portal_link"] in text
    without = {k: v for k, v in facts.items() if k != "portal_link"}  # no portal configured
    assert told not in one_line(render(kind.value, without, language).body)
