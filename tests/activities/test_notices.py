"""The document store (store/documents.py), sending notices (activities/notices.py) to the
outbox and to a real SMTP server on loopback, and the notice templates."""

from __future__ import annotations

import dataclasses
import hashlib
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from jinja2 import StrictUndefined, UndefinedError, meta
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

import activities.notices as notices_module
from activities.notices import NoticeActivities
from activities.rendering import _env, render
from models.notices import Notice, NoticeKind
from rules.documents import check_document_name
from rules.errors import PolicyError
from store import notices as delivery
from store.documents import DocumentStore
from store.engine import make_engine
from tests.support import servers
from tests.support.notices import (
    CASES,
    PARENT_KINDS,
    TEMPLATES,
    appeal_facts,
    common_facts,
    parse,
)
from tests.support.ports import closed_port

# ---- the document store ------------------------------------------------------------------


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_document_is_stored_under_its_sha256(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "docs")
    content = b"%PDF-1.4 pay stub for March"
    digest = hashlib.sha256(content).hexdigest()
    stored = store.put("pay-stub.pdf", content)
    assert (stored.name, stored.sha256, stored.size) == ("pay-stub.pdf", digest, len(content))
    assert files_under(tmp_path / "docs") == [tmp_path / "docs" / digest[:2] / digest]
    assert store.get(digest) == content


def test_the_same_content_is_stored_once_whatever_its_name(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "docs")
    first = store.put("lease.pdf", b"the lease")
    second = store.put("lease (copy).pdf", b"the lease")
    assert first.sha256 == second.sha256
    assert second.name == "lease (copy).pdf"
    assert len(files_under(tmp_path / "docs")) == 1
    other = store.put("lease.pdf", b"another lease")
    assert other.sha256 != first.sha256
    assert len(files_under(tmp_path / "docs")) == 2


@pytest.mark.parametrize(
    "name",
    ["../x", "a/b.pdf", "/etc/passwd", "C:\\x", "..", ".", "a\\b", "C:x", "C:", "\\\\srv\\s\\f",
     "a/../../b", "x/.."],
)
def test_a_name_that_leaves_the_store_is_refused_and_nothing_is_written(
    tmp_path: Path, name: str
) -> None:
    store = DocumentStore(tmp_path / "docs")
    with pytest.raises(PolicyError, match="leave the document store"):
        store.put(name, b"content")
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", ["", "x" * 256, "a\x00b", "tab\there", "new\nline"])
def test_empty_long_or_control_character_names_are_refused(tmp_path: Path, name: str) -> None:
    store = DocumentStore(tmp_path / "docs")
    with pytest.raises(PolicyError):
        store.put(name, b"content")
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", ["report card.pdf", "x" * 255, "ñandú.pdf", "a..b.pdf", "..a"])
def test_plain_names_are_accepted(name: str) -> None:
    assert check_document_name(name) == name


def test_empty_content_is_refused(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "docs")
    with pytest.raises(PolicyError, match="empty"):
        store.put("empty.pdf", b"")
    assert files_under(tmp_path) == []


def test_too_large_content_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("store.documents.MAX_DOCUMENT_BYTES", 10)
    store = DocumentStore(tmp_path / "docs")
    with pytest.raises(PolicyError, match="larger than 10 bytes"):
        store.put("big.pdf", b"x" * 11)
    assert files_under(tmp_path) == []
    store.put("ok.pdf", b"x" * 10)


def test_every_template_is_a_notice_kind_and_every_kind_is_covered() -> None:
    assert {p.parent.name for p in TEMPLATES.glob("*/*.txt")} == {"en", "es"}
    assert list(TEMPLATES.glob("*.txt")) == []  # every template is in a language's folder
    assert {p.stem for p in (TEMPLATES / "en").glob("*.txt")} == {k.value for k in NoticeKind}
    # Every notice to parents in Spanish too (EC 48985); staff notices are English only.
    assert {p.stem for p in (TEMPLATES / "es").glob("*.txt")} == {k.value for k in PARENT_KINDS}
    assert set(CASES) == set(NoticeKind)


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_each_template_renders_its_key_facts(kind: NoticeKind) -> None:
    facts, expected = CASES[kind]
    rendered = render(kind.value, facts)
    text = f"{rendered.subject}\n{rendered.body}"
    for phrase in expected:
        assert phrase in text, f"{kind}: {phrase!r} missing from\n{text}"
    assert rendered.subject and "\n" not in rendered.subject
    assert not rendered.body.startswith("Subject:")
    assert "None" not in text


@pytest.mark.parametrize(
    ("language", "kind"),
    [("en", k) for k in NoticeKind] + [("es", k) for k in PARENT_KINDS],
)
def test_the_workflow_facts_cover_every_variable_a_template_uses(
    language: str, kind: NoticeKind
) -> None:
    source = (TEMPLATES / language / f"{kind.value}.txt").read_text()
    used = meta.find_undeclared_variables(_env.parse(source))
    added = {"portal_link"} if kind in PARENT_KINDS else set()  # by the activity
    assert used <= set(CASES[kind][0]) | added, used - set(CASES[kind][0])


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_a_missing_fact_is_an_error_not_a_blank(kind: NoticeKind) -> None:
    assert _env.undefined is StrictUndefined
    with pytest.raises(UndefinedError):
        render(kind.value, {})
    facts = dict(CASES[kind][0])
    del facts["request_id"]  # every notice names its request
    with pytest.raises(UndefinedError):
        render(kind.value, facts)


def test_the_subjects_carry_the_dates_parents_act_on() -> None:
    assert render("denied", CASES[NoticeKind.denied][0]).subject == (
        "Interdistrict permit denied for Ana Lopez: appeal by Wednesday, April 14, 2027"
    )
    assert render("missing_documents", CASES[NoticeKind.missing_documents][0]).subject == (
        "Documents needed for request PUSD-2027-0001 by Monday, March 15, 2027"
    )


def test_a_student_who_may_not_appeal_is_told_why_not_a_deadline() -> None:
    for kind in (NoticeKind.denied, NoticeKind.deemed_denied):
        facts = {**CASES[kind][0], **appeal_facts(may_appeal=False)}
        rendered = render(kind.value, facts)
        assert "expulsion proceedings are pending" in rendered.body
        assert "right to appeal" not in rendered.body
        # The subject agrees with the body: no appeal promised (issue "Policy fidelity").
        assert "appeal" not in rendered.subject, rendered.subject
        spanish = render(kind.value, facts, "es")
        assert "apelar" not in spanish.subject, spanish.subject


def test_the_receipt_without_missing_documents_does_not_promise_a_list() -> None:
    body = render("receipt", {**common_facts(), "received_on": "Monday, March 1, 2027"}).body
    assert "documents listed" not in body
    assert "We will send our decision in writing by email." in body


def test_an_approval_into_the_district_without_a_school() -> None:
    facts = {**common_facts(direction="into"), "permit_id": "PERMIT-X", "school": "",
             "reapply_annually": True}
    body = render("approved", facts).body
    assert "into Paramount Unified School District from Downey Unified School District" in body
    assert "School assignment" not in body
    assert "Take this permit" not in body
    assert "renewed each year" in body


def test_an_approval_without_annual_renewal_does_not_say_so() -> None:
    body = render("approved", CASES[NoticeKind.approved][0]).body
    assert "renewed each year" not in body


# ---- sending notices ---------------------------------------------------------------------


@pytest.fixture
def notice_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'notices.sqlite3'}")


def a_notice(key: str = "PUSD-2027-0001:receipt:0", **facts: Any) -> Notice:
    return Notice(
        key=key,
        request_id="PUSD-2027-0001",
        kind=NoticeKind.receipt,
        sender="pupil-services@paramount.example.org",
        to=["maria@example.com"],
        facts={**CASES[NoticeKind.receipt][0], **facts},
    )


def the_row(engine: Engine, key: str = "PUSD-2027-0001:receipt:0"):  # type: ignore[no-untyped-def]
    (row,) = [n for n in delivery.list_notices(engine) if n.key == key]
    return row


def _read(message: Any) -> tuple[Any, ...]:
    """What a mail reader shows of a message: its headers, decoded, and its text."""
    parsed = parse(bytes(message))
    headers = ("From", "To", "Subject", "Message-ID", "Content-Language")
    return (*(" ".join(str(parsed[h]).split()) for h in headers),
            parsed.get_content_type(), parsed.get_content())


@pytest.mark.parametrize("accented_subject", [False, True])
@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", [NoticeKind.receipt, NoticeKind.denied])
def test_the_plain_and_the_modern_e_mail_read_the_same(
    kind: NoticeKind, language: str, accented_subject: bool
) -> None:
    rendered = render(kind.value, CASES[kind][0], language)
    if accented_subject:  # a long one, folded, in RFC 2047 encoded words
        rendered = dataclasses.replace(
            rendered, subject=f"{rendered.subject}: decisión del miércoles, 14 de abril de 2027"
        )
    args = ("Paramount USD <pupil-services@paramount.example.org>",
            ["maria@example.com", "staff@paramount.example.org"], rendered, "<k1@transfers>")
    plain, modern = notices_module.plain_message(*args), notices_module.modern_message(*args)
    assert _read(plain) == _read(modern)
    assert bytes(plain).isascii()  # 7-bit: quoted-printable text, encoded-word subject
    assert type(notices_module.build_message(*args)) is type(plain)


def test_an_address_that_is_not_ascii_takes_the_modern_e_mail() -> None:
    rendered = render(NoticeKind.receipt.value, CASES[NoticeKind.receipt][0], "es")
    message = notices_module.build_message(
        "Distrito de Paramount <pupil-services@paramount.example.org>", ["josé@example.com"],
        rendered, "<k2@transfers>",
    )
    assert isinstance(message, EmailMessage)
    read = _read(message)
    assert read[0] == "Distrito de Paramount <pupil-services@paramount.example.org>"
    assert read[2] == " ".join(rendered.subject.split())
    assert read[-1] == rendered.body


def test_outbox_writes_one_eml_and_a_repeat_writes_nothing(
    tmp_path: Path, notice_engine: Engine
) -> None:
    outbox = tmp_path / "outbox"
    activities = NoticeActivities(notice_engine, outbox)
    notice = a_notice()
    assert activities.send_notice(notice) == "sent"
    (written,) = list(outbox.iterdir())
    digest = hashlib.sha256(notice.key.encode()).hexdigest()[:32]
    assert written.name == f"{digest}.eml"
    message = parse(written.read_bytes())
    assert message["To"] == "maria@example.com"
    assert message["From"] == "pupil-services@paramount.example.org"
    assert message["Message-ID"] == f"<{digest}@transfers>"
    assert message["Subject"].strip() == (  # the long header is folded onto its own line
        "We received your interdistrict permit request for Ana Lopez (PUSD-2027-0001)"
    )
    assert "Monday, March 1, 2027" in message.get_content()
    before = written.read_bytes()

    assert activities.send_notice(notice) == "already sent"
    assert activities.send_notice(notice) == "already sent"
    assert list(outbox.iterdir()) == [written]
    assert written.read_bytes() == before
    row = the_row(notice_engine)
    assert (row.status, row.attempts, row.kind) == ("sent", 1, "receipt")


def test_outbox_sends_each_key_once(tmp_path: Path, notice_engine: Engine) -> None:
    outbox = tmp_path / "outbox"
    activities = NoticeActivities(notice_engine, outbox)
    assert activities.send_notice(a_notice("K:receipt:0")) == "sent"
    assert activities.send_notice(a_notice("K:receipt:1")) == "sent"
    assert len(list(outbox.glob("*.eml"))) == 2
    assert list(outbox.glob(".*")) == []  # no temporary file left behind


def test_a_notice_missing_a_fact_is_refused_for_good_and_nothing_is_sent(
    tmp_path: Path, notice_engine: Engine
) -> None:
    outbox = tmp_path / "outbox"
    activities = NoticeActivities(notice_engine, outbox)
    facts = dict(CASES[NoticeKind.receipt][0])
    del facts["received_on"]
    notice = a_notice().model_copy(update={"facts": facts})
    with pytest.raises(ApplicationError) as refused:
        activities.send_notice(notice)
    assert refused.value.non_retryable
    assert "received_on" in str(refused.value)
    assert delivery.list_notices(notice_engine) == []
    assert not outbox.exists() or list(outbox.iterdir()) == []


def test_an_outbox_that_cannot_be_written_records_the_failure(
    tmp_path: Path, notice_engine: Engine
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox should be")
    activities = NoticeActivities(notice_engine, blocked)
    with pytest.raises(OSError):
        activities.send_notice(a_notice())
    row = the_row(notice_engine)
    assert row.status == "failed"
    assert row.error.startswith(("FileExistsError", "NotADirectoryError"))

    blocked.unlink()
    assert activities.send_notice(a_notice()) == "sent"
    assert len(list(blocked.glob("*.eml"))) == 1
    row = the_row(notice_engine)
    assert (row.status, row.error, row.attempts) == ("sent", "", 2)


class Collector:
    """An SMTP handler that keeps what it accepts; it refuses while ``refuse_at`` is set, for
    now (451: a 5xx is permanent, tests/activities/test_notice_failures.py)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refuse_at: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201
        if self.refuse_at == "RCPT":
            return "451 refused for now"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        if self.refuse_at == "DATA":
            return "451 refused for now"
        self.messages.append(parse(envelope.original_content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    with servers.smtp_server(handler) as port:
        yield handler, port


def test_smtp_delivers_a_key_exactly_once(
    tmp_path: Path, notice_engine: Engine, smtp_server: tuple[Collector, int]
) -> None:
    handler, port = smtp_server
    activities = NoticeActivities(notice_engine, tmp_path / "outbox", "127.0.0.1", port)
    notice = a_notice()
    assert activities.send_notice(notice) == "sent"
    assert activities.send_notice(notice) == "already sent"
    assert len(handler.messages) == 1
    assert handler.recipients == [["maria@example.com"]]
    (message,) = handler.messages
    assert message["Subject"].strip() == (  # the long header is folded onto its own line
        "We received your interdistrict permit request for Ana Lopez (PUSD-2027-0001)"
    )
    assert "Monday, March 1, 2027" in message.get_content()
    assert not (tmp_path / "outbox").exists()  # SMTP mode does not write the outbox
    row = the_row(notice_engine)
    assert (row.status, row.attempts) == ("sent", 1)


@pytest.mark.parametrize("refuse_at", ["RCPT", "DATA"])
def test_a_refusing_smtp_server_fails_the_attempt_and_a_later_one_sends_once(
    tmp_path: Path,
    notice_engine: Engine,
    smtp_server: tuple[Collector, int],
    refuse_at: str,
) -> None:
    handler, port = smtp_server
    activities = NoticeActivities(notice_engine, tmp_path / "outbox", "127.0.0.1", port)
    notice = a_notice()
    handler.refuse_at = refuse_at
    with pytest.raises(smtplib.SMTPException):
        activities.send_notice(notice)
    assert handler.messages == []
    row = the_row(notice_engine)
    assert row.status == "failed"
    assert "451" in row.error and "refused" in row.error
    assert row.sent_at is None

    handler.refuse_at = None  # the server recovers; the activity is retried
    assert activities.send_notice(notice) == "sent"
    assert activities.send_notice(notice) == "already sent"
    assert len(handler.messages) == 1
    row = the_row(notice_engine)
    assert (row.status, row.error, row.attempts) == ("sent", "", 2)


def test_an_unreachable_smtp_server_records_the_failure(
    tmp_path: Path, notice_engine: Engine
) -> None:
    activities = NoticeActivities(notice_engine, tmp_path / "outbox", "127.0.0.1", closed_port())
    with pytest.raises(OSError):
        activities.send_notice(a_notice())
    row = the_row(notice_engine)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "ConnectionRefusedError" in row.error


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_parents_notice_links_to_the_request_in_the_portal_and_a_staff_one_does_not(
    tmp_path: Path, notice_engine: Engine, language: str
) -> None:
    outbox = tmp_path / "outbox"
    activities = NoticeActivities(notice_engine, outbox, portal_url="https://portal.example.org")
    parent = a_notice().model_copy(update={"language": language})
    activities.send_notice(parent)
    link = "https://portal.example.org/requests/PUSD-2027-0001"
    assert link in parse(next(outbox.glob("*.eml")).read_bytes()).get_content()
    staff = a_notice("PUSD-2027-0001:staff_reminder:0", **CASES[NoticeKind.staff_reminder][0])
    staff = staff.model_copy(update={"kind": NoticeKind.staff_reminder})
    activities.send_notice(staff)
    bodies = [parse(p.read_bytes()).get_content() for p in outbox.glob("*.eml")]
    assert sum(link in body for body in bodies) == 1


@pytest.mark.parametrize(("zone", "offsets"), [
    ("America/Los_Angeles", {"-0800", "-0700"}),  # standard and daylight time
    (None, {"+0000", "-0000"}),
    ("Mars/Olympus_Mons", {"+0000", "-0000"}),  # unknown: UTC, never a failed notice
])
def test_the_date_header_is_in_the_districts_time_zone(
    tmp_path: Path, notice_engine: Engine, zone: str | None, offsets: set[str]
) -> None:
    outbox = tmp_path / "outbox"
    activities = NoticeActivities(notice_engine, outbox)
    facts = {"timezone": zone} if zone else {}
    activities.send_notice(a_notice(**facts))
    date_header = parse(next(outbox.glob("*.eml")).read_bytes())["Date"]
    assert str(date_header).split()[-1] in offsets
