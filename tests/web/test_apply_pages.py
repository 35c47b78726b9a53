"""Parents applying in the portal, in process (Starlette's TestClient; docs/portal.md "Parents
applying"), against a real Temporal server (the time-skipping one) and worker: a roster
guardian applies out of the district and lands on the request's page with the receipt sent;
the checklist follows the reason; a bad field is shown beside the field and starts nothing;
a family the roster does not know applies into the district declaring the relationship; a
within-district application outside its window is refused with the day it opens; a POST
without its token is refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app import context
from store import notices, records
from store.schema import RosterLinkRow, RosterPersonRow
from tests.support.console import portal_client, token, use_own_store
from tests.support.e2e import district_toml, local_today, within_district_toml
from tests.support.parents import sign_in_parent
from tests.support.waiting import eventually

PARENT = "lucia.garcia@example.org"  # the roster's guardian of Mateo (T-100) in testdistrict
NEW_FAMILY = "new.family@example.org"  # known to no roster and no request
CLOSED = "closedtown"  # a within-district district whose window for its year opens later
OPEN = "opentown"  # one whose next-year window (VIII.A, its own dates) is open now
TODAY = local_today()
YEAR = f"{TODAY.year}-{TODAY.year + 1}"  # district_toml's current year, open now
LATER = f"{TODAY.year + 2}-{TODAY.year + 3}"  # closedtown's: opens September 1 a year on
NEXT = f"{TODAY.year + 1}-{TODAY.year + 2}"  # opentown's, open from January 1 of this year


@pytest.fixture
def env(private_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """A server of the module's own: the portal signs its proofs by the wall clock."""
    return private_env


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The portal's store (the worker's, when there is one), the test districts, the roster."""
    use_own_store(monkeypatch, tmp_path)
    districts = tmp_path / "districts"
    districts.mkdir()
    (districts / "testdistrict.toml").write_text(district_toml(TODAY))
    head = {"id": CLOSED, "name": "Closedtown Public Schools", "state": "NE",
            "timezone": "America/Chicago", "contact": "Student Services",
            "notices_from": "ss@closedtown.example.org",
            "staff_notices_to": ["ss@closedtown.example.org"]}
    first_day = date(TODAY.year + 2, 8, 15)
    (districts / f"{CLOSED}.toml").write_text(within_district_toml(
        head, {}, LATER, first_day, [("abbott-elementary", "regular", 5, 3)]))
    wide_open = {"next_year_opens_month": 1, "next_year_opens_day": 1,
                 "next_year_closes_month": 1, "next_year_closes_day": 31}
    (districts / f"{OPEN}.toml").write_text(within_district_toml(
        {**head, "id": OPEN, "name": "Opentown Public Schools"}, wide_open, NEXT,
        date(TODAY.year + 1, 8, 15), [("ackerman-elementary", "regular", 4, 3)]))
    monkeypatch.setenv("TRANSFERS_DISTRICTS_DIR", str(districts))
    _roster()


def _roster() -> None:
    """Lucia, guardian of Mateo (grade 10 at Central High) in testdistrict, and of Sofia
    (grade 3, home school Abbott) in closedtown."""
    now = datetime.now(UTC)
    with Session(context.engine()) as session, session.begin():
        for district, student, given, grade, school in (
            ("testdistrict", "T-100", "Mateo", 10, "central-high"),
            (CLOSED, "C-200", "Sofia", 3, "abbott-elementary"),
            (OPEN, "O-300", "Pia", 3, "abbott-elementary"),
        ):
            common = {"district": district, "school_year": YEAR, "attendance_area": None,
                      "active": True, "updated_at": now}
            session.add(RosterPersonRow(
                sourced_id=f"g-{district}", kind="guardian", role="parent", identifier="",
                given_name="Lucia", family_name="Garcia", email=PARENT, email_key=PARENT,
                grade=None, school_id=None, home_school_id=None, **common))
            session.add(RosterPersonRow(
                sourced_id=f"s-{student}", kind="student", role="student",
                identifier=student, given_name=given, family_name="Garcia", email=None,
                email_key=None, grade=grade, school_id=school, home_school_id=school,
                **common))
            session.add(RosterLinkRow(district=district, student=f"s-{student}",
                                      guardian=f"g-{district}"))
        session.add(RosterPersonRow(  # another family's, not Lucia's
            sourced_id="s-T-300", kind="student", role="student", identifier="T-300",
            given_name="Otro", family_name="Nino", email=None, email_key=None, grade=9,
            school_id="central-high", home_school_id=None, district="testdistrict",
            school_year=YEAR, attendance_area=None, active=True, updated_at=now))


def _form(http: TestClient, district: str) -> str:
    page = http.get(f"/apply/{district}")
    assert page.status_code == 200, page.text
    return token(page.text)


WORK = {"direction": "out", "reason": "parent_employment", "student": "T-100",
        "parent.relationship": "natural_parent", "parent.name": "Lucia Garcia",
        "school_year": YEAR, "other_district": "Downey Unified"}


def _apply(http: TestClient, district: str, fields: dict[str, str]) -> Any:
    return http.post(f"/apply/{district}", data={"csrf": _form(http, district), **fields})


async def _with_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                       env: WorkflowEnvironment, worker: Worker) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", env.client.namespace)
    monkeypatch.setenv("TRANSFERS_TASK_QUEUE", worker.task_queue)


async def _receipt(request_id: str) -> Any:
    sent = await eventually(lambda: [n for n in notices.list_notices(context.engine(),
                                                                     request_id)
                                     if n.kind == "receipt" and n.status == "sent"],
                            what=f"the receipt of {request_id} sent")
    return sent[0]


async def test_a_roster_guardian_applies_out_for_work_and_lands_on_the_status_page(
    env: WorkflowEnvironment, worker: Worker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    portal: None,
) -> None:
    await _with_worker(monkeypatch, tmp_path, env, worker)

    def apply() -> tuple[str, str, str]:
        with portal_client() as http:
            sign_in_parent(http, PARENT)
            assert 'href="/apply"' in http.get("/requests").text
            form = http.get("/apply/testdistrict").text
            assert "Mateo Garcia" in form and 'value="Lucia Garcia"' in form  # the roster's
            done = _apply(http, "testdistrict", WORK)
            assert done.status_code == 303, done.text
            where = done.headers["location"]
            return where, http.get(where).text, http.get("/requests").text

    where, status, mine = await asyncio.to_thread(apply)
    request_id = where.removeprefix("/requests/")
    assert where.startswith("/requests/testdistrict-") and request_id in mine
    assert "Mateo Garcia" in status
    await _receipt(request_id)
    state = records.get_request(context.engine(), request_id)
    assert state is not None
    assert state.request.parent.email == PARENT and state.request.student.grade == 10
    assert state.request.roster is not None and state.request.roster.known
    assert records.get_history(context.engine(), request_id)[0].actor == f"parent {PARENT}"


def test_the_checklist_follows_the_reason(portal: None) -> None:
    with portal_client() as http:
        sign_in_parent(http, PARENT)
        empty = http.get("/apply/testdistrict").text
        assert "Choose into or out of the district, and a reason" in empty
        work = http.get("/apply/testdistrict/checklist",
                        params={"direction": "out", "reason": "parent_employment"}).text
        assert "pay stub" in work and "lease" not in work
        moving = http.get("/apply/testdistrict/checklist",
                          params={"direction": "out", "reason": "moving"}).text
        assert "lease" in moving and "pay stub" not in moving
        self_employed = http.get("/apply/testdistrict/checklist", params={
            "direction": "out", "reason": "parent_employment", "self_employed": "on"}).text
        assert "business license" in self_employed and "pay stub" not in self_employed
        # Without JavaScript: the form again with the checklist, nothing sent.
        shown = _apply(http, "testdistrict", {"direction": "out", "reason": "moving",
                                             "action": "checklist"})
        assert shown.status_code == 200 and "lease" in shown.text
        assert 'value="moving" checked' in shown.text
        assert "Your request was not sent" not in shown.text
    assert records.find_open_request(context.engine(), "testdistrict", "T-100", YEAR) is None


def test_a_bad_field_is_shown_beside_it_and_starts_nothing(portal: None) -> None:
    with portal_client() as http:
        sign_in_parent(http, PARENT)
        bad = _apply(http, "testdistrict", {**WORK, "parent.name": "Lucia\x07 Garcia"})
        assert bad.status_code == 400
        assert 'aria-describedby="parent-name-error"' in bad.text
        assert 'id="parent-name-error"' in bad.text and "U+0007" in bad.text
        assert "parent.name" in bad.text  # the field named, the message whole
        no_reason = _apply(http, "testdistrict", {**WORK, "reason": ""})
        assert no_reason.status_code == 400
        assert 'id="reason-error"' in no_reason.text
        assert 'aria-describedby="reason-error"' in no_reason.text
        bidi = _apply(http, "testdistrict", {**WORK, "other_district": "Downey\u202e"})
        assert bidi.status_code == 400 and 'id="other_district-error"' in bidi.text
        assert "U+202E" in bidi.text
        # Another family's student, typed in: refused, whatever the roster says of them.
        anothers = _apply(http, "testdistrict", {
            **WORK, "student": "new", "student.id": "T-300", "student.first_name": "Otro",
            "student.last_name": "Nino", "student.grade": "9"})
        assert anothers.status_code == 400 and 'id="student-id-error"' in anothers.text
        assert "do not list you as this student" in anothers.text
        script = _apply(http, "testdistrict", {**WORK, "reason": "",
                                               "parent.name": "<script>x()</script>"})
        assert "<script>x()</script>" not in script.text  # shown as text, never run
    for student in ("T-100", "T-300"):
        assert records.find_open_request(context.engine(), "testdistrict", student,
                                         YEAR) is None


async def test_a_new_family_applies_into_the_district_declaring_the_relationship(
    env: WorkflowEnvironment, worker: Worker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    portal: None,
) -> None:
    await _with_worker(monkeypatch, tmp_path, env, worker)
    into = {"direction": "into", "reason": "child_care", "student.id": "DOWNEY-77",
            "student.first_name": "Nico", "student.last_name": "Nuevo", "student.grade": "9",
            "parent.name": "Ana Nueva", "school_year": YEAR, "other_district": "Downey Unified",
            "preferred_school": "central-high"}

    def apply() -> tuple[Any, Any, str]:
        with portal_client() as http:
            sign_in_parent(http, NEW_FAMILY)  # a code for an address nobody knows
            assert "No request of yours is on file yet" in http.get("/requests").text
            form = http.get("/apply/testdistrict").text
            assert 'name="student.first_name"' in form and "Parent (natural)" in form
            http.get("/language/es")  # the receipt in the language the parent applied in
            grandmother = _apply(http, "testdistrict",
                                 {**into, "parent.relationship": "not_a_parent"})
            done = _apply(http, "testdistrict",
                          {**into, "parent.relationship": "legal_custodian"})
            return grandmother, done, http.get("/requests").text

    grandmother, done, mine = await asyncio.to_thread(apply)
    assert grandmother.status_code == 400
    assert 'id="parent-relationship-error"' in grandmother.text
    assert "EC 46600.1" in grandmother.text and "Su relación con el estudiante" in grandmother.text
    assert done.status_code == 303, done.text
    request_id = done.headers["location"].removeprefix("/requests/")
    assert request_id in mine  # on "My requests" at once
    assert (await _receipt(request_id)).language == "es"
    state = records.get_request(context.engine(), request_id)
    assert state is not None and state.request.parent.relationship == "legal_custodian"
    assert state.request.student.first_name == "Nico" and state.request.direction.value == "into"


async def test_a_within_district_application_in_its_window_enters_the_lottery(
    env: WorkflowEnvironment, worker: Worker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    portal: None,
) -> None:
    await _with_worker(monkeypatch, tmp_path, env, worker)

    def apply() -> Any:
        with portal_client() as http:
            sign_in_parent(http, PARENT)
            form = http.get(f"/apply/{OPEN}").text
            assert "Pia Garcia" in form and "open now" in form
            return _apply(http, OPEN, {
                "student": "O-300", "school_year": NEXT, "school": "ackerman-elementary",
                "program": "regular", "parent.relationship": "adoptive_parent",
                "parent.name": "Lucia Garcia", "reasons": "Closer to her grandmother's."})

    done = await asyncio.to_thread(apply)
    assert done.status_code == 303, done.text
    request_id = done.headers["location"].removeprefix("/requests/")
    state = await eventually(lambda: records.get_request(context.engine(), request_id),
                             lambda found: found is not None, what=f"{request_id} recorded")
    assert state.kind.value == "next_year" and state.request.student.grade == 4  # the roster's
    assert state.request.student.residency.value == "other_resident"
    assert state.request.parent.email == PARENT


def test_a_within_district_application_outside_its_window_says_when_it_opens(
    portal: None,
) -> None:
    with portal_client() as http:
        sign_in_parent(http, PARENT)
        form = http.get(f"/apply/{CLOSED}").text
        assert "Sofia Garcia" in form and "closed now; applications open on" in form
        refused = _apply(http, CLOSED, {
            "student": "C-200", "school_year": LATER, "school": "abbott-elementary",
            "program": "regular", "parent.relationship": "natural_parent",
            "parent.name": "Lucia Garcia"})
    assert refused.status_code == 400
    assert 'id="school_year-error"' in refused.text and "no window for" in refused.text
    opens = date(TODAY.year + 1, 9, 1).strftime("%B %-d, %Y")
    assert f"Applications for this school year open on {opens}" in refused.text
    assert records.find_open_request(context.engine(), CLOSED, "C-200", None,
                                     records.WITHIN) is None


def test_a_post_without_its_token_is_refused_and_starts_nothing(portal: None) -> None:
    with portal_client() as http:
        sign_in_parent(http, PARENT)
        refused = http.post("/apply/testdistrict", data=WORK)
        assert refused.status_code == 403
        forged = http.post("/apply/testdistrict", data={**WORK, "csrf": "0" * 64})
        assert forged.status_code == 403
    with portal_client() as stranger:  # not signed in: to sign in first, nothing done
        assert stranger.get("/apply").headers["location"].startswith("/signin")
    assert records.find_open_request(context.engine(), "testdistrict", "T-100", YEAR) is None


def test_the_apply_pages_speak_spanish(portal: None) -> None:
    with portal_client() as http:
        sign_in_parent(http, PARENT)
        http.get("/language/es")
        page = http.get("/apply/testdistrict").text
        assert 'lang="es"' in page and "Solicitar un permiso" in page


def test_intakes_refusals_are_in_spanish_on_spanish_pages(portal: None) -> None:
    """Intake words its refusals in English (the CLI prints them so); a Spanish page shows
    them in Spanish, beside the same fields."""
    with portal_client() as http:
        sign_in_parent(http, PARENT)
        english = _apply(http, "testdistrict", {**WORK, "parent.name": "Lucia\x07 Garcia",
                                                "reason": ""})
        http.get("/language/es")
        spanish = _apply(http, "testdistrict", {**WORK, "parent.name": "Lucia\x07 Garcia",
                                                "reason": ""})
        grandmother = _apply(http, "testdistrict",
                             {**WORK, "parent.relationship": "not_a_parent"})
        shut = _apply(http, CLOSED, {
            "student": "C-200", "school_year": LATER, "school": "abbott-elementary",
            "program": "regular", "parent.relationship": "natural_parent",
            "parent.name": "Lucia Garcia"})
    assert english.status_code == spanish.status_code == 400
    assert "which is not allowed" in english.text and "Input should be" in english.text
    assert 'id="parent-name-error"' in spanish.text and 'id="reason-error"' in spanish.text
    assert ("parent.name: contiene U+0007 (un carácter de control), que no se permite"
            in spanish.text)
    assert "reason: Debe ser &#39;bullying&#39;, " in spanish.text
    assert "which is not allowed" not in spanish.text and "Input should be" not in spanish.text
    assert "solo puede pedirlo un padre o una madre (EC 46600.1" in grandmother.text
    assert 'id="school_year-error"' in shut.text and "no hay ningún plazo abierto" in shut.text
    assert "no window for" not in shut.text
    assert records.find_open_request(context.engine(), "testdistrict", "T-100", YEAR) is None

