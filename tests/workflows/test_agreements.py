"""A permit under an agreement on the time-skipping server (EC 46600(a)(2)-(3)): issued out of
the district it awaits the district of enrollment's endorsement, with a reminder to staff on
its day (not the day before) and a notice when the due day ends; it takes its agreement's
revocation terms."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import date, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from districts import load_district
from models.actions import Decide
from models.decisions import Outcome
from models.district import Agreement, DistrictSnapshot
from models.people import Actor
from models.permits import Endorse, PermitStage, PermitState, Revoke
from rules import agreements as agreement_rules
from rules import calendar
from rules.revocation import RevocationReason
from store import notices as notice_store
from tests.support import workflows as helpers
from tests.support.factories import make_input, make_request
from tests.support.permits import TZ, permit_input, reached, school_year_now
from tests.support.waiting import eventually
from tests.support.workflows import skip_to
from workflows.agreement import AgreementWatchInput, agreement_watch_id
from workflows.agreement import AgreementWatchWorkflow as AW
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as IW
from workflows.permit import PermitWorkflow as P

DIRECTOR = Actor(name="nguyen", roles=["director"])
CLERK = Actor(name="avalos", roles=["pupil_services"])
SECOND = timedelta(seconds=1)
REMINDER = "staff_endorsement_reminder"


@pytest.fixture
def env(private_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return private_env


Start = Callable[..., Any]


@pytest.fixture
async def start(env: WorkflowEnvironment, worker: Worker) -> AsyncIterator[Start]:
    """A permit issued today, out of the district: the endorsement due in 30 days, the
    reminder ``reminder_days`` before."""
    handles: list[WorkflowHandle] = []

    async def _start(reminder_days: int = 1, **state: Any) -> tuple[WorkflowHandle, date]:
        today = calendar.local_date(await env.get_current_time(), TZ)
        inp = permit_input(school_year_now(today), grade=4, level_last_grade=5)
        due = agreement_rules.endorsement_due(today, 30)
        inp.state = inp.state.model_copy(update={
            "school": "", "school_name": "Downey Unified School District",
            "issued_on": today, "endorsement_due": due,
            "stage": PermitStage.awaiting_endorsement, **state})
        inp.policy.endorsement_reminder_days_before = reminder_days
        handle = await env.client.start_workflow(P.run, inp, id=inp.state.id,
                                                 task_queue=worker.task_queue)
        handles.append(handle)
        return handle, due

    yield _start
    for handle in handles:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")


def events(state: PermitState) -> list[str]:
    return [e.event for e in state.events]


def sent(engine: Engine, request_id: str, kind: str) -> list[notice_store.NoticeRow]:
    return [n for n in notice_store.list_notices(engine, request_id)
            if n.kind == kind and n.status == "sent"]


async def test_an_out_approval_issues_a_permit_awaiting_endorsement_with_its_agreement(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    today = await helpers.today(env)
    inp = make_input("req-agreed", today + timedelta(days=120), request=make_request(
        other_district="long-beach", reapply_annually=True))
    inp.policy.agreement = next(a for a in load_district("paramount").agreements
                                if a.partner_id == "long-beach")
    handle = await helpers.start(env, worker.task_queue, inp=inp)
    await helpers.supply_documents(handle)
    approved = await handle.execute_update(IW.decide, Decide(actor=DIRECTOR,
                                                             outcome=Outcome.approve))
    permit = env.client.get_workflow_handle(approved.permit_id)
    state = await reached(permit, lambda s: bool(s.events), "the permit issued")
    assert state.stage is PermitStage.awaiting_endorsement and state.is_active
    assert (state.issued_on, state.endorsement_due) == (today, today + timedelta(days=30))
    assert state.agreement == "Long Beach Unified School District"
    assert state.revocation_reasons == [RevocationReason.attendance, RevocationReason.behavior,
                                        RevocationReason.false_information]
    assert state.condition.value == "reapply_annually"
    await helpers.refused(permit, P.endorse, Endorse(actor=CLERK, on=today + timedelta(days=1)),
                          "in the future", query=P.status)
    await helpers.refused(permit, P.endorse, Endorse(actor=CLERK, on=today - timedelta(days=1)),
                          "before the permit was issued", query=P.status)
    endorsed = await permit.execute_update(P.endorse, Endorse(actor=CLERK))
    assert endorsed.stage is PermitStage.active and endorsed.endorsed_on == today
    assert endorsed.endorsed_by == "avalos" and "46600(a)(3)" in endorsed.events[-1].reason
    await helpers.refused(permit, P.endorse, Endorse(actor=CLERK), "was endorsed on",
                          query=P.status)
    # The agreement's end is watched by its own workflow, started with the first permit.
    watch = env.client.get_workflow_handle(
        agreement_watch_id("paramount", inp.policy.agreement))
    assert await watch.query(AW.status) == ""  # its notice day is years away
    for handle in (permit, watch):
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")


async def test_an_into_permit_needs_no_endorsement(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    inp = permit_input(school_year_now(await helpers.today(env)))
    permit = await env.client.start_workflow(P.run, inp, id=inp.state.id,
                                             task_queue=worker.task_queue)
    try:
        state = await reached(permit, lambda s: bool(s.events), "issued")
        assert state.stage is PermitStage.active
        await helpers.refused(permit, P.endorse, Endorse(actor=CLERK), "needs no endorsement",
                              query=P.status)
    finally:
        await permit.terminate("test over")


async def test_the_reminder_goes_out_on_its_day_not_the_day_before_and_staff_are_told_when_due(
    env: WorkflowEnvironment, start: Start, engine: Engine
) -> None:
    handle, due = await start(reminder_days=1)  # the reminder the day before it is due
    await reached(handle, lambda s: bool(s.events), "issued")
    remind = calendar.at_local(due - timedelta(days=1), time(8, 0), TZ)
    await skip_to(env, remind - SECOND)
    state = await handle.query(P.status)
    assert "endorsement_reminder" not in events(state)
    assert state.stage is PermitStage.awaiting_endorsement
    await skip_to(env, remind + SECOND)
    await reached(handle, lambda s: "endorsement_reminder" in events(s), "the reminder")
    (notice,) = await eventually(lambda: sent(engine, state.request_id, REMINDER),
                                 what="the reminder sent")
    assert calendar.long_date(due) in notice.subject and notice.subject.startswith("Reminder")
    await skip_to(env, calendar.end_of_day(due, TZ) - SECOND)  # its last day, still on time
    assert "endorsement_overdue" not in events(await handle.query(P.status))
    await skip_to(env, calendar.end_of_day(due, TZ) + SECOND)
    overdue = await reached(handle, lambda s: "endorsement_overdue" in events(s), "overdue")
    assert overdue.stage is PermitStage.awaiting_endorsement  # it keeps waiting
    notices = await eventually(lambda: sent(engine, state.request_id, REMINDER),
                               lambda found: len(found) == 2, what="the overdue notice")
    assert any(n.subject.startswith("OVERDUE") for n in notices)
    endorsed = await handle.execute_update(P.endorse, Endorse(actor=CLERK))
    assert endorsed.stage is PermitStage.active


async def test_the_reminder_on_the_due_day(env: WorkflowEnvironment, start: Start) -> None:
    handle, due = await start(reminder_days=0)
    remind = calendar.at_local(due, time(8, 0), TZ)
    await reached(handle, lambda s: bool(s.events), "issued")
    await skip_to(env, remind - SECOND)
    assert "endorsement_reminder" not in events(await handle.query(P.status))
    await skip_to(env, remind + SECOND)
    await reached(handle, lambda s: "endorsement_reminder" in events(s), "the reminder")


async def test_an_endorsement_before_its_reminder_means_no_reminder(
    env: WorkflowEnvironment, start: Start
) -> None:
    handle, due = await start(reminder_days=7)
    await reached(handle, lambda s: bool(s.events), "issued")
    await handle.execute_update(P.endorse, Endorse(actor=CLERK))
    await skip_to(env, calendar.end_of_day(due, TZ) + SECOND)
    state = await handle.query(P.status)
    assert state.stage is PermitStage.active
    assert not {"endorsement_reminder", "endorsement_overdue"} & set(events(state))


async def test_a_permit_still_awaiting_its_endorsement_on_july_1_goes_on_awaiting_it(
    env: WorkflowEnvironment, start: Start, engine: Engine
) -> None:
    """The next school year's run keeps the stage, and does not tell staff again of a
    reminder and a due day already told."""
    today = await helpers.today(env)  # due today, whatever the date: before its June 30
    handle, _ = await start(reminder_days=1, endorsement_due=today)
    state = await reached(handle, lambda s: bool(s.events), "issued")
    await skip_to(env, calendar.end_of_day(today, TZ) + SECOND)
    await reached(handle, lambda s: "endorsement_overdue" in events(s), "overdue")
    year_end = calendar.end_of_day(date(int(state.school_year[5:]), 6, 30), TZ)
    await skip_to(env, year_end + SECOND)
    following = await reached(handle, lambda s: s.years == 2, "the next school year")
    assert following.stage is PermitStage.awaiting_endorsement and following.awaits_endorsement
    assert events(following) == ["school_year_began"]
    # Its reminder day was past when it began: only the overdue notice, once.
    assert len(sent(engine, state.request_id, REMINDER)) == 1
    endorsed = await handle.execute_update(P.endorse, Endorse(actor=CLERK))
    assert endorsed.stage is PermitStage.active


async def test_a_revocation_keeps_to_the_agreements_terms(start: Start) -> None:
    handle, _ = await start(agreement="Long Beach Unified School District",
                            revocation_reasons=[RevocationReason.attendance])
    await helpers.refused(handle, P.revoke,
                          Revoke(actor=DIRECTOR, reasons=[RevocationReason.academic_effort]),
                          "does not provide for revocation for academic_effort", query=P.status)
    revoked = await handle.execute_update(
        P.revoke, Revoke(actor=DIRECTOR, reasons=[RevocationReason.attendance]))
    assert revoked.stage is PermitStage.revoked


# ---- the agreement's end (EC 46600(a)(1)) ------------------------------------------------


def watch_input(last_school_year: str, days_before: int = 180) -> AgreementWatchInput:
    first = int(last_school_year[:4]) - 4
    return AgreementWatchInput(
        district=DistrictSnapshot(
            district_id="paramount", district_name="Paramount Unified School District",
            timezone=TZ, contact="Pupil Services", notices_from="ps@paramount.example.org",
            staff_notices_to=["ps@paramount.example.org"]),
        agreement=Agreement(partner="Downey Unified School District", partner_id="downey",
                            first_school_year=f"{first}-{first + 1}",
                            last_school_year=last_school_year),
        notice_days_before=days_before,
    )


async def test_staff_are_told_on_the_notice_day_ahead_of_the_agreements_end(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> None:
    today = await helpers.today(env)
    year = school_year_now(today)
    last_year = f"{int(year[:4]) + 1}-{int(year[:4]) + 2}"  # ends June 30 in 18 months or so
    inp = watch_input(last_year)
    last = agreement_rules.agreement_last_day(inp.agreement)
    notice_day = agreement_rules.agreement_notice_day(last, 180)
    watch_id = agreement_watch_id("paramount", inp.agreement)
    handle = await env.client.start_workflow(AW.run, inp, id=watch_id,
                                             task_queue=worker.task_queue)
    at = calendar.at_local(notice_day, time(8, 0), TZ)
    await skip_to(env, at - SECOND)  # the day before's end and the notice day's first hours
    assert await handle.query(AW.status) == ""
    assert not sent(engine, watch_id, "staff_agreement_ending")
    await skip_to(env, at + SECOND)
    assert await handle.result() == notice_day.isoformat()
    (notice,) = await eventually(lambda: sent(engine, watch_id, "staff_agreement_ending"),
                                 what="the notice")
    assert calendar.long_date(last) in notice.subject


async def test_an_agreement_past_its_notice_day_is_told_at_once_and_an_ended_one_not_at_all(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    today = await helpers.today(env)
    year = school_year_now(today)
    soon = watch_input(year, days_before=400)  # the notice day is past, the end is not
    told = await env.client.execute_workflow(
        AW.run, soon, id=agreement_watch_id("paramount", soon.agreement),
        task_queue=worker.task_queue)
    assert told == today.isoformat()
    ended = watch_input(f"{int(year[:4]) - 1}-{int(year[:4])}")
    assert await env.client.execute_workflow(
        AW.run, ended, id=agreement_watch_id("paramount", ended.agreement),
        task_queue=worker.task_queue) == ""
