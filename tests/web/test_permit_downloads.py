"""The permit as a PDF from the portal and the console (in process; docs/permits.md "The
permit as a PDF"): a parent downloads their own request's permit, in the page's language, with
the code /verify accepts; another family's is "not found" exactly as a missing request; a
parent not signed in signs in first; a permit that has ended has none; staff download a
permit of their district only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import context, permit_codes
from models.permits import (
    PermitCondition,
    PermitHolder,
    PermitProcess,
    PermitStage,
    PermitState,
)
from models.stages import Stage
from store import permits as permit_store
from store import records
from tests.support.console import portal_client, signed_in, use_own_store
from tests.support.notices import pdf_text
from tests.support.parents import (
    DOCUMENTS_ID,
    MARIA,
    OTHER,
    not_found_alike,
    sign_in_parent,
    write_families,
)
from tests.support.read_models import interdistrict

APPROVED_ID = "paramount-2027-2028-out-fam6"  # Maria's, approved: its permit lives
THEIRS_APPROVED_ID = "paramount-2027-2028-out-fam7"  # another family's, approved
ENDED_ID = "paramount-2027-2028-out-fam8"  # Maria's, approved: its permit was revoked
CODE = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}")


def _permit(request_id: str, stage: PermitStage = PermitStage.active) -> PermitState:
    return PermitState(
        id=f"PERMIT-{request_id}", request_id=request_id, district="paramount",
        process=PermitProcess.interdistrict,
        holder=PermitHolder(student_id="S1001", student_name="Ana Lopez",
                            parent_name="Maria Lopez", parent_email=MARIA),
        school="", school_name="Downey Unified School District",
        condition=PermitCondition.until_level_end, school_year="2028-2029", grade=5,
        level_last_grade=5, stage=stage)


@pytest.fixture(autouse=True)
def families(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)
    write_families()
    engine = context.engine()
    for request_id, request in (
        (APPROVED_ID, {"student": {"first_name": "Inés", "last_name": "Muñoz"}}),
        (THEIRS_APPROVED_ID, {"student": {"id": "S2002", "first_name": "Zoe"},
                              "parent": {"name": "Olga Other", "email": OTHER}}),
        (ENDED_ID, {"student": {"id": "S1003", "first_name": "Luz"}}),
    ):
        state = interdistrict(Stage.approved, request_id, seq=2, request=request,
                              permit_id=f"PERMIT-{request_id}")
        records.record_events(engine, state, state.history)
    permit_store.save_permit(engine, _permit(APPROVED_ID))  # in its second school year
    permit_store.save_permit(engine, _permit(ENDED_ID, PermitStage.revoked))


_words = pdf_text


def test_a_parent_downloads_their_own_permit_from_the_status_page() -> None:
    with portal_client() as http:
        sign_in_parent(http, MARIA)
        page = http.get(f"/requests/{APPROVED_ID}").text
        link = f'href="/requests/{APPROVED_ID}/permit.pdf"'
        assert link in page and "Download the permit (PDF)" in page
        answer = http.get(f"/requests/{APPROVED_ID}/permit.pdf")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="PERMIT-{APPROVED_ID}.pdf"')
        assert answer.headers["cache-control"] == "no-store"
        text = _words(answer.content)
        spanish = _words(http.get(f"/requests/{APPROVED_ID}/permit.pdf",
                                  headers={"accept-language": "es"}).content)
        spanish_page = http.get(f"/requests/{APPROVED_ID}",
                                headers={"accept-language": "es"}).text
    assert "Interdistrict Attendance Permit" in text and "Inés Muñoz" in text
    assert "2028-2029" in text and "Grade 5" in text  # the year the permit is in now
    assert "http://127.0.0.1:8001/verify" in text
    (code,) = CODE.findall(text)
    assert code == permit_codes.permit_code(_permit(APPROVED_ID))
    checked = permit_codes.check(code)
    assert checked is not None and checked.status == "active"
    assert "Permiso de asistencia interdistrital" in spanish and "Inés Muñoz" in spanish
    assert CODE.findall(spanish) == [code]
    assert "Descargar el permiso (PDF)" in spanish_page


def test_another_familys_permit_is_not_found_as_a_missing_request() -> None:
    theirs = not_found_alike("/requests/{id}/permit.pdf", THEIRS_APPROVED_ID)
    assert "No such request." in theirs and "Zoe" not in theirs


def test_a_parent_not_signed_in_signs_in_first() -> None:
    with portal_client() as http:
        answer = http.get(f"/requests/{APPROVED_ID}/permit.pdf")
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"/signin?next=/requests/{APPROVED_ID}/permit.pdf")


def test_no_permit_no_download() -> None:
    """A request that issued none, and one whose permit has ended (revoked)."""
    with portal_client() as http:
        sign_in_parent(http, MARIA)
        for request_id in (DOCUMENTS_ID, ENDED_ID):
            assert "permit.pdf" not in http.get(f"/requests/{request_id}").text
            answer = http.get(f"/requests/{request_id}/permit.pdf")
            assert answer.status_code == 404
            assert "This request has no permit to print." in answer.text


def test_staff_download_a_permit_of_their_district_in_the_parents_language() -> None:
    with signed_in("nguyen@paramount.example.org") as http:
        page = http.get(f"/permits/PERMIT-{APPROVED_ID}").text
        assert f'href="/permits/PERMIT-{APPROVED_ID}/permit.pdf"' in page
        answer = http.get(f"/permits/PERMIT-{APPROVED_ID}/permit.pdf")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
        assert "Inés Muñoz" in _words(answer.content)
        ended = http.get(f"/permits/PERMIT-{ENDED_ID}")
        assert ended.status_code == 200 and "permit.pdf" not in ended.text
    with signed_in("olsen@millard.example.org") as http:
        assert http.get(f"/permits/PERMIT-{APPROVED_ID}/permit.pdf").status_code == 404
