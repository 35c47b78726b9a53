"""A permit's life on the time-skipping server (seed 000; seed 004 IV): thirteen school years
with a bounded history, renewals and their lapse, the level's end, EC 46600's grade-10 rule on
both sides of June 30, moves, transfers, revocation and IV.A."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.settings import Settings
from models.actions import Decide, RecordRelease
from models.decisions import Outcome
from models.people import Actor
from models.permits import (
    AppealRevocation,
    Moved,
    PermitCondition,
    PermitProcess,
    PermitStage,
    PermitState,
    Renew,
    Revoke,
    TransferElsewhere,
)
from models.stages import Stage
from rules import calendar
from rules import permits as rules
from rules.revocation import RevocationReason
from store import notices as notice_store
from store import permits as permit_store
from tests.support import workflows as helpers
from tests.support.factories import make_input, make_request
from tests.support.permits import TZ, permit_input, reached, school_year_now
from tests.support.waiting import eventually
from tests.support.workflows import skip_to
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as IW
from workflows.permit import PermitWorkflow as P

DIRECTOR = Actor(name="nguyen", roles=["director"])
CLERK = Actor(name="avalos", roles=["pupil_services"])
SECOND = timedelta(seconds=1)


@pytest.fixture
def env(private_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """These tests move the clock by years."""
    return private_env


def june_30(school_year: str) -> datetime:
    return calendar.end_of_day(rules.school_year_end(school_year), TZ)


Start = Callable[..., Any]


@pytest.fixture
async def start(env: WorkflowEnvironment, worker: Worker) -> AsyncIterator[Start]:
    handles: list[WorkflowHandle] = []

    async def _start(grade: int = 4, level_last_grade: int = 5,
                     condition: PermitCondition = PermitCondition.until_level_end,
                     process: PermitProcess = PermitProcess.interdistrict,
                     program: str = "regular") -> tuple[WorkflowHandle, str]:
        year = school_year_now(calendar.local_date(await env.get_current_time(), TZ))
        inp = permit_input(year, grade, level_last_grade, condition, process, program)
        handle = await env.client.start_workflow(
            P.run, inp, id=inp.state.id, task_queue=worker.task_queue
        )
        handles.append(handle)
        return handle, year

    yield _start
    for handle in handles:
        with contextlib.suppress(RPCError):  # already ended
            await handle.terminate("test over")


async def status(handle: WorkflowHandle) -> PermitState:
    return await handle.query(P.status)


async def refused(handle: WorkflowHandle, update: Any, arg: Any, *words: str) -> None:
    await helpers.refused(handle, update, arg, *words, query=P.status)


def sent(engine: Engine, request_id: str, kind: str) -> list[notice_store.NoticeRow]:
    return [n for n in notice_store.list_notices(engine, request_id)
            if n.kind == kind and n.status == "sent"]


async def one_sent(engine: Engine, request_id: str, kind: str) -> notice_store.NoticeRow:
    await eventually(lambda: sent(engine, request_id, kind), what=f"a {kind} notice")
    (notice,) = sent(engine, request_id, kind)
    return notice


async def test_thirteen_school_years_with_a_bounded_history(
    env: WorkflowEnvironment, start: Start, engine: Engine
) -> None:
    handle, year = await start(grade=0, level_last_grade=12)  # a K-12 school
    lengths = []
    for n in range(13):
        state = await reached(handle, lambda s, n=n: s.years == n + 1, f"year {n + 1}")
        assert state.grade == n and state.school_year == year
        history = await env.client.get_workflow_handle(handle.id).fetch_history()
        lengths.append(len(history.events))
        await skip_to(env, june_30(year))
        year = rules.next_school_year(year)
    ended = await reached(handle, lambda s: s.stage is PermitStage.level_completed, "the end")
    assert ended.grade == 12 and ended.years == 13
    assert max(lengths) < 60, lengths  # one school year of events per run, not thirteen
    stored = permit_store.get_permit(engine, handle.id)
    assert stored is not None and stored.stage is PermitStage.level_completed
    await one_sent(engine, ended.request_id, "permit_level_ending")
    await one_sent(engine, ended.request_id, "permit_ended")


async def test_each_school_years_record_is_written_on_july_1(
    env: WorkflowEnvironment, start: Start, engine: Engine
) -> None:
    """The records store follows the permit into its next school year at once (issue "Policy
    fidelity": `permit show` gave the first year and grade, `permit list --school-year` the new
    year found nothing, until something happened)."""
    handle, year = await start(grade=9, level_last_grade=12)
    await eventually(lambda: permit_store.get_permit(engine, handle.id),
                     lambda found: found is not None, what="the first year's record")
    following = rules.next_school_year(year)
    await skip_to(env, june_30(year) + SECOND)
    await reached(handle, lambda s: s.years == 2, "the next school year")
    stored = await eventually(
        lambda: permit_store.get_permit(engine, handle.id),
        lambda found: found is not None and found.school_year == following,
        what="the record of the next school year")
    assert stored.grade == 10 and stored.is_active
    assert stored.events[-1].event == "school_year_began"
    listed = permit_store.list_permits(engine, school_year=following)
    assert [p.id for p in listed] == [handle.id]


async def test_renewal_opens_on_january_15_and_lapses_after_the_deadline(
    env: WorkflowEnvironment, start: Start, engine: Engine
) -> None:
    handle, year = await start(condition=PermitCondition.reapply_annually)
    first, last = rules.renewal_window(year, (1, 15), (3, 31))
    await skip_to(env, calendar.at_local(first, time(8, 0), TZ) - SECOND)
    assert (await status(handle)).stage is PermitStage.active
    await skip_to(env, calendar.at_local(first, time(8, 0), TZ) + SECOND)
    due = await reached(handle, lambda s: s.stage is PermitStage.renewal_due, "renewal due")
    notice = await one_sent(engine, due.request_id, "permit_renewal_open")
    assert calendar.long_date(last) in notice.subject
    await refused(handle, P.renew, Renew(actor=CLERK, school_year=year), "not " + year)
    await skip_to(env, calendar.end_of_day(last, TZ) - SECOND)
    assert (await status(handle)).stage is PermitStage.renewal_due  # its last day
    await skip_to(env, calendar.end_of_day(last, TZ))
    lapsed = await reached(handle, lambda s: s.stage is PermitStage.lapsed, "lapsed")
    assert "not renewed" in lapsed.reason
    await one_sent(engine, lapsed.request_id, "permit_lapsed")


async def test_a_renewed_permit_goes_on_into_the_next_year(
    env: WorkflowEnvironment, start: Start
) -> None:
    handle, year = await start(condition=PermitCondition.reapply_annually, grade=2)
    first, last = rules.renewal_window(year, (1, 15), (3, 31))
    await skip_to(env, calendar.at_local(first, time(9, 0), TZ))
    await reached(handle, lambda s: s.stage is PermitStage.renewal_due, "renewal due")
    following = rules.next_school_year(year)
    await handle.execute_update(P.renew, Renew(actor=CLERK, school_year=following))
    await skip_to(env, june_30(year) + SECOND)
    state = await reached(handle, lambda s: s.years == 2, "the next year")
    assert state.grade == 3 and state.school_year == following and state.is_active


@pytest.mark.parametrize("on_time", [True, False])
async def test_grade_10_revocation_either_side_of_june_30(
    env: WorkflowEnvironment, start: Start, on_time: bool
) -> None:
    handle, year = await start(grade=10, level_last_grade=12)
    revoke = Revoke(actor=DIRECTOR, reasons=[RevocationReason.attendance])
    if on_time:  # the last minute of June 30 after grade 10: still allowed
        await skip_to(env, june_30(year) - timedelta(minutes=1))
        revoked = await handle.execute_update(P.revoke, revoke)
        assert revoked.stage is PermitStage.revoked and "attendance" in revoked.reason
        await refused(handle, P.appeal_revocation, AppealRevocation(actor=CLERK),
                      "may not be appealed")
    else:  # July 1: the student enters grade 11 (EC 46600)
        await skip_to(env, june_30(year) + SECOND)
        await reached(handle, lambda s: s.grade == 11, "grade 11")
        await refused(handle, P.revoke, revoke, "grade 11", "EC 46600")


async def test_a_revocation_does_not_wait_for_a_refused_parent_mailbox(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    """The director's revocation returns while the parent's mail server refuses its notice;
    the notice is sent once, when the server takes it."""
    async with helpers.mailing_worker(env, settings) as (worker, inbox):
        year = school_year_now(calendar.local_date(await env.get_current_time(), TZ))
        inp = permit_input(year, grade=6, level_last_grade=8)
        handle = await env.client.start_workflow(
            P.run, inp, id=inp.state.id, task_queue=worker.task_queue
        )
        try:
            await reached(handle, lambda s: bool(s.events), "issued")
            inbox.deferred = {inp.state.holder.parent_email}
            revoke = Revoke(actor=DIRECTOR, reasons=[RevocationReason.attendance])
            revoked = await asyncio.wait_for(handle.execute_update(P.revoke, revoke), 10)
            assert revoked.stage is PermitStage.revoked
            request_id = inp.state.request_id
            await helpers.notice_in(engine, request_id, "permit_revoked", "failed")
            inbox.deferred = set()
            await env.sleep(timedelta(minutes=11))  # past the longest retry interval
            notice = await one_sent(engine, request_id, "permit_revoked")
            assert notice.attempts >= 2
            assert len(inbox.to(inp.state.holder.parent_email)) == 1
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate("test over")


async def test_revocation_needs_a_reason_and_the_role(start: Start) -> None:
    handle, _ = await start(grade=6, level_last_grade=8)
    await refused(handle, P.revoke, Revoke(actor=DIRECTOR), "at least one")
    await refused(handle, P.revoke, Revoke(actor=CLERK, reasons=[RevocationReason.behavior]),
                  "may not revoke")


async def test_moving_to_a_new_district_ends_the_permit(start: Start, engine: Engine) -> None:
    handle, _ = await start()
    await handle.execute_update(P.moved, Moved(actor=CLERK))  # same district of residence
    assert (await status(handle)).is_active
    ended = await handle.execute_update(P.moved, Moved(actor=CLERK, new_district="Downey USD"))
    assert ended.stage is PermitStage.moved and "Downey USD" in ended.reason
    await one_sent(engine, ended.request_id, "permit_ended")
    await refused(handle, P.transfer, TransferElsewhere(actor=CLERK, school="x"), "ended")


async def test_a_move_inside_the_district_finishes_the_year(
    env: WorkflowEnvironment, start: Start
) -> None:
    handle, year = await start(process=PermitProcess.within_district, program="montessori")
    await handle.execute_update(P.moved, Moved(actor=CLERK))
    assert (await status(handle)).is_active  # IV.B: the rest of the year here
    await skip_to(env, june_30(year) + SECOND)
    ended = await reached(handle, lambda s: s.stage is PermitStage.moved, "moved at year end")
    assert "IV.B" in ended.reason and ended.ended_on == rules.school_year_end(year)


async def test_a_transfer_to_another_school_needs_a_new_request(start: Start) -> None:
    handle, _ = await start()
    ended = await handle.execute_update(
        P.transfer, TransferElsewhere(actor=CLERK, school="Lincoln Elementary")
    )
    assert ended.stage is PermitStage.transferred and "new request" in ended.reason


async def test_leaving_the_special_program_reassigns_the_home_school(start: Start) -> None:
    within, _ = await start(process=PermitProcess.within_district, program="montessori")
    revoked = await within.execute_update(P.leave_program, Revoke(actor=CLERK))
    assert revoked.stage is PermitStage.revoked and revoked.school == "abbott-elementary"
    regular, _ = await start(process=PermitProcess.within_district)
    await refused(regular, P.leave_program, Revoke(actor=CLERK), "special program")


async def test_an_interdistrict_approval_issues_the_permit_workflow(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> None:
    request = make_request(direction="into", reapply_annually=True,
                           student={"grade": 8}, preferred_school="gaines")
    handle = await helpers.start(env, worker.task_queue, inp=make_input(
        "req-issue", calendar.local_date(await env.get_current_time(), TZ) + timedelta(days=120),
        request=request))
    await helpers.supply_documents(handle)
    await handle.execute_update(IW.record_release, RecordRelease(actor=CLERK, granted=True))
    await helpers.wait_stage(handle, Stage.under_review)
    approved = await handle.execute_update(
        IW.decide, Decide(actor=DIRECTOR, outcome=Outcome.approve, school="hollydale"))
    permit = env.client.get_workflow_handle(approved.permit_id)
    state = await reached(permit, lambda s: bool(s.events), "the permit issued")
    assert state.id == approved.permit_id == "PERMIT-req-issue"
    assert state.condition is PermitCondition.reapply_annually
    assert (state.school, state.school_name) == ("hollydale", "Hollydale Elementary School")
    assert (state.grade, state.level_last_grade, state.school_year) == (8, 8, "2027-2028")
    assert state.holder.parent_email == "maria@example.com"
    stored = permit_store.list_permits(engine, school_year="2027-2028", school="hollydale",
                                       condition="reapply_annually")
    assert [row.id for row in stored] == ["PERMIT-req-issue"]
