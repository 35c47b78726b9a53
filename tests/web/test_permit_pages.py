"""Permits in the console (in process): the list and its filters, a permit of another district
not found, the actions each role is offered, a forged revocation refused; and against a real
permit workflow (the time-skipping server), a director's revocation confirmed and recorded,
and a refusal of the workflow's (EC 46600's grade limit) shown on the page."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app import context
from models.permits import (
    PermitCondition,
    PermitHolder,
    PermitInput,
    PermitPolicy,
    PermitProcess,
    PermitStage,
    PermitState,
)
from rules import calendar
from store import permits as permit_store
from tests.support.console import signed_in, token, use_own_store
from tests.support.waiting import eventually
from workflows.permit import PermitWorkflow

AVALOS, NGUYEN = "avalos@paramount.example.org", "nguyen@paramount.example.org"
YEAR = "2027-2028"


def _permit(n: int, district: str = "paramount", stage: PermitStage = PermitStage.active,
            grade: int = 3, school_year: str = YEAR,
            condition: PermitCondition = PermitCondition.until_level_end) -> PermitState:
    request_id = f"{district}-{school_year}-web{n:04d}"
    return PermitState(
        id=f"PERMIT-{request_id}", request_id=request_id, district=district,
        process=PermitProcess.interdistrict,
        holder=PermitHolder(student_id=f"S{n}", student_name=f"Student Número {n}",
                            parent_name=f"Parent {n}", parent_email=f"parent{n}@example.com"),
        school="gaines", school_name="Gaines Elementary School", condition=condition,
        school_year=school_year, grade=grade, level_last_grade=12, stage=stage)


@pytest.fixture
def env(private_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The worker's server, of this module's own: the console signs its proofs by the wall
    clock, which a shared server's clock leaves behind once other tests moved it."""
    return private_env


@pytest.fixture
def own_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)


def _save(*states: PermitState) -> None:
    for state in states:
        permit_store.save_permit(context.engine(), state)


def test_the_list_filters_and_another_districts_permit_is_not_found(own_store: None) -> None:
    due = _permit(2, stage=PermitStage.renewal_due,
                  condition=PermitCondition.reapply_annually)
    _save(_permit(1), due, _permit(3, district="millard"))
    with signed_in(AVALOS) as http:
        listed = http.get("/permits").text
        assert "Student Número 1" in listed and "Student Número 2" in listed
        assert "Student Número 3" not in listed  # Millard's
        renewals = http.get("/permits?stage=renewal_due").text
        assert due.id in renewals and _permit(1).id not in renewals
        assert http.get(f"/permits/{_permit(3, district='millard').id}").status_code == 404
        assert http.get("/permits/PERMIT-nothing").status_code == 404


def test_each_role_is_offered_its_actions_and_a_forged_revocation_is_refused(
    own_store: None,
) -> None:
    active = _permit(1)
    _save(active)
    with signed_in(AVALOS) as http:
        page = http.get(f"/permits/{active.id}").text
        assert "Revoke the permit" not in page
        forged = http.post(f"/permits/{active.id}/actions/permit.revoke",
                           data={"csrf": token(page), "reasons": "behavior", "confirm": "yes"})
        assert forged.status_code == 403 and "may not revoke a permit" in forged.text
    with signed_in(NGUYEN) as http:
        page = http.get(f"/permits/{active.id}").text
        assert "Revoke the permit" in page
        asked = http.post(f"/permits/{active.id}/actions/permit.revoke",
                          data={"csrf": token(page), "reasons": "behavior"})
        assert asked.status_code == 200 and "Nothing is done until you confirm" in asked.text
    assert permit_store.get_permit(context.engine(), active.id).stage is PermitStage.active


async def test_a_directors_revocation_goes_through_the_workflow_and_a_refusal_is_shown(
    env: WorkflowEnvironment, worker: Worker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    use_own_store(monkeypatch, tmp_path)  # the worker's records store (tmp_path), the console's
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", env.client.namespace)
    today = calendar.local_date(await env.get_current_time(), "America/Los_Angeles")
    start = today.year if today.month >= 7 else today.year - 1
    year = f"{start}-{start + 1}"
    policy = PermitPolicy(district_id="paramount", district_name="Paramount Unified",
                          timezone="America/Los_Angeles", contact="Pupil Services",
                          notices_from="ps@paramount.example.org",
                          staff_notices_to=["ps@paramount.example.org"])
    n = uuid.uuid4().int % 10_000
    young, senior = _permit(n, school_year=year), _permit(n + 1, school_year=year, grade=11)
    handles = [await env.client.start_workflow(
        PermitWorkflow.run, PermitInput(state=state, policy=policy), id=state.id,
        task_queue=worker.task_queue) for state in (young, senior)]
    engine = context.engine()
    for state in (young, senior):
        await eventually(lambda s=state: permit_store.get_permit(engine, s.id),
                         lambda found: found is not None, what=f"{state.id} in the store")

    def revoke(permit_id: str) -> tuple[int, str]:
        with signed_in(NGUYEN) as http:
            page = http.get(f"/permits/{permit_id}").text
            done = http.post(f"/permits/{permit_id}/actions/permit.revoke",
                             data={"csrf": token(page), "reasons": "behavior",
                                   "note": "three suspensions", "confirm": "yes"},
                             follow_redirects=True)
            return done.status_code, done.text

    try:
        status, text = await asyncio.to_thread(revoke, young.id)
        assert status == 200 and "Done: Revoke the permit." in text
        assert permit_store.get_permit(engine, young.id).stage is PermitStage.revoked
        status, text = await asyncio.to_thread(revoke, senior.id)
        assert status == 409 and "Refused: Revoke the permit." in text
        assert "grade 11" in text and "EC 46600" in text
        assert permit_store.get_permit(engine, senior.id).stage is PermitStage.active
    finally:
        for handle in handles:
            await handle.terminate("test over")
