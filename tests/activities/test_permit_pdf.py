"""The permit as a PDF (docs/permits.md "The permit as a PDF"): drawn from its template in
English and Spanish with the accents as written, its issue day in the district's time zone,
the verification code the portal's /verify accepts, the same bytes every time; and the
approval's notice carries it, over SMTP as in the outbox."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from activities import permit_pdf
from activities.notices import NoticeActivities
from app import permit_codes
from models.notices import Notice, NoticeKind
from models.permits import PermitProcess
from models.stages import Stage
from models.state import HistoryEntry
from models.within_request import WithinHistoryEntry, WithinStage
from rules.permit_codes import printed_code
from store import records
from store.engine import make_engine
from store.secrets import secret
from tests.support import servers
from tests.support.app_store import app_store
from tests.support.e2e import attachments_of, text_of
from tests.support.notices import CASES, parse, pdf_text, within_facts
from tests.support.public import stored_permit
from tests.support.read_models import interdistrict, within, within_request

__all__ = ["app_store"]  # the fixture

KEY = bytes(range(32))
# 2027-03-02 06:30 UTC is still Monday, March 1 in Paramount (America/Los_Angeles).
APPROVED_AT = datetime(2027, 3, 2, 6, 30, tzinfo=UTC)
CODE = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}")


def approved(request_id: str = "paramount-2027-2028-out-pdf1", **request: Any) -> Any:
    """An out-of-district request approved at ``APPROVED_AT``, for Ana Sofía Núñez."""
    state = interdistrict(
        Stage.approved, request_id, seq=2, permit_id=f"PERMIT-{request_id}",
        request={"student": {"first_name": "Ana Sofía", "last_name": "Núñez", "grade": 5},
                 "reapply_annually": True, **request},
    )
    state.history[-1] = HistoryEntry(seq=2, at=APPROVED_AT, stage=Stage.approved,
                                     event="approved", actor="nguyen")
    state.history[0] = state.history[0].model_copy(update={"stage": Stage.under_review})
    return state


def document(state: Any = None, key: bytes = KEY, school: str = "") -> permit_pdf.PermitDocument:
    state = state or approved()
    found = permit_pdf.from_request(state, state.history, key=key, school_name=school,
                                    district_name="Paramount Unified School District")
    assert found is not None
    return found


words = pdf_text


def test_the_permit_in_english() -> None:
    text = words(permit_pdf.render_pdf(document(), "en", "https://portal.example.org/verify"))
    for said in ("Interdistrict Attendance Permit", "Paramount Unified School District",
                 "PERMIT-paramount-2027-2028-out-pdf1", "Ana Sofía Núñez", "Grade 5",
                 "2027-2028", "District of enrollment Downey Unified School District",
                 "Issued on Monday, March 1, 2027", "must reapply each school year",
                 "Education Code 46600(a)(3)",
                 printed_code(KEY, "PERMIT-paramount-2027-2028-out-pdf1"),
                 "https://portal.example.org/verify",
                 "Endorsed by Downey Unified School District"):
        assert said in text, said


def test_the_permit_in_spanish_keeps_its_accents() -> None:
    for language in ("es", "es-MX", "Español"):
        text = words(permit_pdf.render_pdf(document(), language))
        for said in ("Permiso de asistencia interdistrital", "Número de permiso",
                     "Ana Sofía Núñez", "5.º grado", "Año escolar 2027-2028",
                     "Distrito de inscripción", "lunes, 1 de marzo de 2027",
                     "Código de verificación", "Refrendado por"):
            assert said in text, (language, said)


def test_names_of_other_latin_scripts_print_as_written() -> None:
    named = dataclasses.replace(document(), student_name="Bảo Nguyễn Łukasz Ørsted")
    pdf = permit_pdf.render_pdf(named)
    assert "Student Bảo Nguyễn Łukasz Ørsted" in words(pdf)
    assert b"/FontFile2" in pdf  # DejaVu Sans, embedded: Helvetica has no "ả"
    assert b"/FontFile2" not in permit_pdf.render_pdf(document(), "es")  # all Latin-1


def test_a_language_without_a_template_is_english() -> None:
    assert permit_pdf.text(document(), "fr")[0] == "en"
    assert "Interdistrict Attendance Permit" in words(permit_pdf.render_pdf(document(), "fr"))


def test_the_same_permit_makes_the_same_bytes() -> None:
    first = permit_pdf.render_pdf(document(), "es")
    assert permit_pdf.render_pdf(document(), "es") == first
    assert permit_pdf.render_pdf(document(), "en") != first
    assert b"/CreationDate (D:20270301" in first  # the issue day, not the clock


def test_into_the_district_names_the_school_and_the_district_of_residence() -> None:
    state = approved("paramount-2027-2028-into-pdf2", direction="into",
                     reapply_annually=False, preferred_school="keppel")
    text = words(permit_pdf.render_pdf(document(state, school="Mark Keppel Elementary School")))
    assert "District of residence Downey Unified School District" in text
    assert "School Mark Keppel Elementary School" in text
    assert "until the end of the student's educational level" in text
    assert "Endorsed by" not in text


def test_a_within_district_placement_in_spanish() -> None:
    request_id = "millard-2027-2028-within-pdf3"
    state = within(WithinStage.placed, request_id, seq=1, permit_id=f"PERMIT-{request_id}",
                   request=within_request(first="José", last="Peña"))
    state.history[0] = WithinHistoryEntry(seq=1, at=APPROVED_AT, stage=WithinStage.placed,
                                          event="lottery_placed", actor="lottery")
    found = permit_pdf.from_request(state, state.history, key=KEY,
                                    district_name="Millard Public Schools",
                                    school_name="Norris Elementary School")
    assert found is not None and found.process is PermitProcess.within_district
    # Millard is on Central time: 06:30 UTC is 00:30 on March 2.
    text = words(permit_pdf.render_pdf(found, "es"))
    for said in ("Permiso de transferencia dentro del distrito", "José Peña", "Kínder",
                 "Escuela Norris Elementary School", "Programa Montessori",
                 "martes, 2 de marzo de 2027", "Regla 5110.1"):
        assert said in text, said


def test_a_request_that_issued_no_permit_has_no_document() -> None:
    state = interdistrict(Stage.under_review, seq=2)
    assert permit_pdf.from_request(state, state.history, key=KEY, district_name="P",
                                   school_name="") is None


def test_the_printed_code_is_the_one_verify_accepts(app_store: Engine) -> None:
    permit = stored_permit(7)
    state = approved(permit.request_id)
    key = secret(app_store, permit_pdf.code_key_name("paramount"))
    printed = CODE.findall(words(permit_pdf.render_pdf(document(state, key=key))))
    assert printed == [permit_codes.permit_code(permit)]
    checked = permit_codes.check(printed[0])
    assert checked is not None and checked.status == "active"


# ---- the approval's notice carries it ----------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'notices.sqlite3'}")


def approval(state: Any, kind: NoticeKind = NoticeKind.approved, **facts: Any) -> Notice:
    return Notice(
        key=f"{state.id}:{kind.value}:2", request_id=state.id, kind=kind,
        sender="pupil-services@paramount.example.org", to=["maria@example.com"],
        facts={**CASES[kind][0], "request_id": state.id, "permit_id": state.permit_id,
               **facts},
        language=state.request.parent.language,
    )


def expected(engine: Engine, state: Any, language: str, school: str = "") -> bytes:
    key = secret(engine, permit_pdf.code_key_name(state.request.district))
    return permit_pdf.render_pdf(document(state, key=key, school=school), language,
                                 "https://portal.example.org/verify")


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_approval_in_the_outbox_attaches_the_permit(
    tmp_path: Path, engine: Engine, language: str
) -> None:
    state = approved()
    state.request.parent.language = language
    records.record_events(engine, state, state.history)
    outbox = tmp_path / "outbox"
    activities = NoticeActivities(engine, outbox, portal_url="https://portal.example.org")
    assert activities.send_notice(approval(state, school="")) == "sent"
    message = parse(next(outbox.glob("*.eml")).read_bytes())
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(("plain",)).get_content()
    assert "PERMIT-paramount-2027-2028-out-pdf1" in body
    said = {"en": "attached to this e-mail as a PDF", "es": "adjunto a este correo como PDF"}
    assert said[language] in " ".join(body.split())
    (attached,) = message.iter_attachments()
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_filename() == "PERMIT-paramount-2027-2028-out-pdf1.pdf"
    pdf = attached.get_content()
    assert pdf == expected(engine, state, language)
    code = printed_code(secret(engine, permit_pdf.code_key_name("paramount")), state.permit_id)
    assert code in words(pdf)
    assert ("Código de verificación" in words(pdf)) is (language == "es")


def test_a_parent_receives_the_approval_with_the_permit_pdf_over_smtp(engine: Engine,
                                                                       tmp_path: Path) -> None:
    """A first attempt the server defers (451) and the next: the same file both times."""
    state = approved()
    records.record_events(engine, state, state.history)
    inbox = servers.Inbox()
    with servers.smtp_server(inbox) as port:
        activities = NoticeActivities(engine, tmp_path / "outbox", "127.0.0.1", port,
                                      portal_url="https://portal.example.org")
        notice = approval(state, school="")
        inbox.deferred.add("maria@example.com")
        with pytest.raises(Exception, match="451"):
            activities.send_notice(notice)
        inbox.deferred.clear()
        assert activities.send_notice(notice) == "sent"
    (received,) = inbox.to("maria@example.com")
    assert "Permit number: PERMIT-paramount-2027-2028-out-pdf1" in text_of(received)
    media, pdf = attachments_of(received)["PERMIT-paramount-2027-2028-out-pdf1.pdf"]
    assert media == "application/pdf" and pdf.startswith(b"%PDF-")
    assert pdf == expected(engine, state, "en")
    assert printed_code(secret(engine, permit_pdf.code_key_name("paramount")),
                        state.permit_id) in words(pdf)


def test_a_within_district_placement_attaches_its_permit(tmp_path: Path, engine: Engine) -> None:
    request_id = "millard-2027-2028-within-pdf4"
    state = within(WithinStage.placed, request_id, seq=1, permit_id=f"PERMIT-{request_id}")
    records.record_events(engine, state, state.history)
    outbox = tmp_path / "outbox"
    notice = Notice(key=f"{request_id}:within_placed:1", request_id=request_id,
                    kind=NoticeKind.within_placed, sender="students@millard.example.org",
                    to=["parent1@example.org"],
                    facts=within_facts(stage="placed", request_id=request_id))
    NoticeActivities(engine, outbox).send_notice(notice)
    message = message_from_bytes(next(outbox.glob("*.eml")).read_bytes())
    (name,) = attachments_of(message)
    assert name == f"PERMIT-{request_id}.pdf"
    assert "Norris Elementary School" in words(attachments_of(message)[name][1])


def test_other_notices_and_a_request_without_a_record_attach_nothing(
    tmp_path: Path, engine: Engine
) -> None:
    outbox = tmp_path / "outbox"
    activities = NoticeActivities(engine, outbox)
    activities.send_notice(approval(approved("paramount-2027-2028-out-norecord")))
    denied = approved("paramount-2027-2028-out-pdf5")
    records.record_events(engine, denied, denied.history)
    activities.send_notice(approval(denied, NoticeKind.denied))
    for path in outbox.glob("*.eml"):
        assert parse(path.read_bytes()).get_content_type() == "text/plain"
