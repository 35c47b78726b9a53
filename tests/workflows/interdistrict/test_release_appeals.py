"""The interdistrict permit workflow on the time-skipping server (issue 2): the release from the
district of residence, the denial's appeal window and the appeal to the county.

Shared steps: tests/support/interdistrict.py (as ``steps``); fixtures: conftest.py here.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from infra.settings import Settings
from models.actions import (
    Decide,
    FileAppeal,
    RecordAppealOutcome,
)
from models.decisions import AppealOutcome, DenialReason, Outcome
from models.stages import Stage
from store import notices as notice_store
from tests.support import interdistrict as steps
from tests.support.factories import CLERK, COUNTY, DIRECTOR, make_request
from tests.support.interdistrict import (
    APPROVE,
    GRANT_RELEASE,
    MINUTE,
    PARENT_EMAIL,
    REFUSE_RELEASE,
    SECOND,
    WITHDRAW,
    Launch,
)
from tests.support.proofs import trusting_tests
from tests.support.waiting import eventually
from tests.support.workflows import (
    end_of,
    local_day,
    refused,
    skip_to,
    start,
    supply_documents,
    today,
    wait_stage,
    wait_state,
)
from worker import build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

# ---- into the district: the release from the district of residence -------------------------------


async def test_into_release_granted_then_reviewed_and_approved(env, launch: Launch, engine):
    handle = await launch(request=steps.into_request(preferred_school="gaines"))
    state = await supply_documents(handle)
    state = await wait_stage(handle, Stage.awaiting_release)
    assert state.missing_documents == []
    awaiting = local_day(steps.entry(state, "awaiting_release").at)
    assert state.release_due == awaiting + timedelta(days=30)
    state = await handle.execute_update(W.record_release, GRANT_RELEASE)
    assert "release_granted" in steps.events(state)
    state = await wait_stage(handle, Stage.under_review)
    state = await handle.execute_update(
        W.decide, Decide(actor=DIRECTOR, outcome=Outcome.approve, school="hollydale")
    )
    assert state.stage is Stage.approved
    assert state.permit_id == f"PERMIT-{state.id}"
    assert state.assigned_school == "hollydale"  # the district's assignment, not the preference
    result = await steps.finished(env, handle, Stage.approved)
    stages = [e.stage for e in result.history]
    assert stages.index(Stage.awaiting_release) < stages.index(Stage.under_review)
    assert steps.kinds(engine, state.id) == ["receipt", "missing_documents", "file_complete",
                                           "approved"]
    approved = steps.notices_of(engine, state.id, "approved")[0]
    assert approved.recipients == PARENT_EMAIL
    assert "Hollydale Elementary School" in approved.body



async def test_into_release_refused_ends_the_request(env, launch: Launch, engine):
    handle = await launch(request=steps.into_request())
    await supply_documents(handle)
    await wait_stage(handle, Stage.awaiting_release)
    await handle.execute_update(W.record_release, REFUSE_RELEASE)
    result = await steps.finished(env, handle, Stage.release_refused)
    assert Stage.under_review not in [e.stage for e in result.history]
    assert steps.kinds(engine, result.id) == ["receipt", "missing_documents", "release_refused"]



async def test_into_release_granted_before_documents_skips_awaiting_release(
    env, launch: Launch, engine
):
    handle = await launch(request=steps.into_request())
    await wait_stage(handle, Stage.awaiting_documents)
    state = await handle.execute_update(W.record_release, GRANT_RELEASE)
    assert state.stage is Stage.awaiting_documents
    await supply_documents(handle)
    state = await wait_stage(handle, Stage.under_review)
    assert Stage.awaiting_release not in [e.stage for e in state.history]
    assert state.release_due is None
    await handle.execute_update(W.decide, APPROVE)
    await steps.finished(env, handle, Stage.approved)



async def test_into_release_refused_before_documents_ends_at_once(env, launch: Launch, engine):
    handle = await launch(request=steps.into_request())
    await wait_stage(handle, Stage.awaiting_documents)
    await handle.execute_update(W.record_release, REFUSE_RELEASE)
    result = await steps.finished(env, handle, Stage.release_refused)
    assert result.missing_documents  # nobody waited for the documents
    assert Stage.awaiting_release not in [e.stage for e in result.history]
    assert steps.kinds(engine, result.id) == ["receipt", "missing_documents", "release_refused"]



async def test_into_without_release_by_its_deadline_is_abandoned(env, launch: Launch, engine):
    handle = await launch(request=steps.into_request())
    await supply_documents(handle)
    state = await wait_stage(handle, Stage.awaiting_release)
    assert state.release_due is not None
    await steps.quiet_until(env, handle, end_of(state.release_due) - SECOND, since=state)
    await skip_to(env, end_of(state.release_due) + MINUTE)
    result = await steps.finished(env, handle, Stage.abandoned)
    assert "release" in result.history[-1].reason
    abandoned = (await steps.wait_notices(engine, result.id, "abandoned"))[0]
    assert abandoned.recipients == PARENT_EMAIL



async def test_release_on_an_out_request_is_refused(env, launch: Launch):
    handle = await launch()
    await wait_stage(handle, Stage.awaiting_documents)
    await refused(handle, W.record_release, GRANT_RELEASE, "only for requests into the district")



async def test_release_recorded_twice_is_refused(env, launch: Launch):
    handle = await launch(request=steps.into_request())
    await wait_stage(handle, Stage.awaiting_documents)
    await handle.execute_update(W.record_release, GRANT_RELEASE)
    await refused(handle, W.record_release, REFUSE_RELEASE, "the release was already recorded")
    await refused(handle, W.record_release, GRANT_RELEASE, "the release was already recorded")



# ---- denial and the appeal window ----------------------------------------------------------------


async def test_denial_without_appeal_is_abandoned_when_the_30_days_end(
    env, launch: Launch, engine
):
    handle = await launch()
    state = await steps.to_denied(handle)
    letter = local_day(steps.entry(state, "denied").at)
    assert state.appeal_deadline == letter + timedelta(days=30)
    assert state.denial_reasons == [DenialReason.no_space]
    denied = (await steps.wait_notices(engine, state.id, "denied"))[0]
    assert denied.recipients == PARENT_EMAIL
    assert "Lack of space availability" in denied.body
    await steps.quiet_until(env, handle, end_of(state.appeal_deadline) - SECOND, since=state)
    await skip_to(env, end_of(state.appeal_deadline) + MINUTE)
    result = await steps.finished(env, handle, Stage.abandoned)
    assert local_day(result.history[-1].at) == state.appeal_deadline + timedelta(days=1)
    assert "no appeal" in result.history[-1].reason
    assert steps.kinds(engine, state.id)[-1] == "abandoned"



@pytest.mark.parametrize("filer", [COUNTY, CLERK], ids=["county", "clerk"])
async def test_appeal_granted_issues_the_permit(env, launch: Launch, engine, filer):
    handle = await launch()
    denied = await steps.to_denied(handle)
    filed = await today(env)
    state = await handle.execute_update(W.file_appeal, FileAppeal(actor=filer))
    assert state.stage is Stage.appeal_pending
    assert state.appeal_filed_on == filed
    assert state.appeal_decision_due == filed + timedelta(days=30)
    assert state.appeal_deadline == denied.appeal_deadline
    state = await handle.execute_update(
        W.record_appeal_outcome, RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.granted)
    )
    assert state.stage is Stage.approved
    assert state.appeal_outcome is AppealOutcome.granted
    assert state.permit_id == f"PERMIT-{state.id}"
    await steps.finished(env, handle, Stage.approved)
    assert steps.kinds(engine, state.id) == [
        "receipt", "missing_documents", "file_complete", "denied", "appeal_received",
        "appeal_granted",
    ]
    granted = notice_store.list_notices(engine, state.id)[-1]
    # Every party is notified: the parent and the district's staff.
    assert granted.recipients == "maria@example.com, pupil-services@paramount.example.org"



async def test_appeal_upheld_is_final(env, launch: Launch, engine):
    handle = await launch()
    denied = await steps.to_denied(handle)
    letter = local_day(steps.entry(denied, "denied").at)
    # Recorded by the clerk, dated the day the parent filed with the county.
    state = await handle.execute_update(W.file_appeal, FileAppeal(actor=CLERK, filed_on=letter))
    assert state.appeal_filed_on == letter
    state = await handle.execute_update(
        W.record_appeal_outcome, RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.upheld)
    )
    assert state.stage is Stage.denied_final
    assert state.permit_id is None
    await steps.finished(env, handle, Stage.denied_final)
    assert steps.kinds(engine, state.id)[-2:] == ["appeal_received", "appeal_upheld"]



# ---- appeals refused -----------------------------------------------------------------------------


async def test_appeal_when_not_denied_is_refused(env, launch: Launch):
    handle = await launch()
    await steps.to_under_review(handle)
    await refused(
        handle, W.file_appeal, FileAppeal(actor=CLERK), "cannot file appeal", "under_review",
    )



@pytest.mark.parametrize(
    ("student", "problem"),
    [
        ({"expelled": True}, "during the term of an expulsion"),
        ({"pending_expulsion": True}, "while expulsion proceedings are pending"),
    ],
    ids=["expelled", "pending-expulsion"],
)
async def test_appeal_by_an_expelled_student_is_refused(
    env, launch: Launch, engine, student, problem
):
    handle = await launch(request=make_request(student=student))
    state = await steps.to_denied(handle)
    letter = (await steps.wait_notices(engine, state.id, "denied"))[0]
    assert "may not appeal" in letter.body and "An appeal becomes possible" in letter.body
    assert "appeal by" not in letter.subject  # the subject agrees with the body
    await refused(handle, W.file_appeal, FileAppeal(actor=COUNTY), problem)



async def test_appeal_dated_in_the_future_is_refused(env, launch: Launch):
    handle = await launch()
    await steps.to_denied(handle)
    tomorrow = await today(env) + timedelta(days=1)
    await refused(
        handle, W.file_appeal, FileAppeal(actor=CLERK, filed_on=tomorrow),
        "cannot be filed in the future", tomorrow.isoformat(),
    )



async def test_appeal_dated_before_the_denial_is_refused(env, launch: Launch):
    handle = await launch()
    state = await steps.to_denied(handle)
    letter = local_day(steps.entry(state, "denied").at)
    before = letter - timedelta(days=1)
    await refused(
        handle, W.file_appeal, FileAppeal(actor=CLERK, filed_on=before),
        "before the denial", letter.isoformat(),
    )



@pytest.mark.parametrize("days_late", [0, 1], ids=["filed-on-last-day", "filed-day-after"])
async def test_appeal_recorded_after_a_worker_outage(
    env: WorkflowEnvironment, settings: Settings, engine: Engine, days_late: int
):
    """No worker runs while the appeal window's last day ends; the clerk then records an
    appeal dated the last day (accepted: the request is not abandoned) or the day after
    (refused: the window closed). The record and the window's timer reach the run in the
    same workflow task, and the SDK applies updates before timers. Workers keep no cache,
    so the restarted one is not waited for on a dead worker's sticky queue."""
    queue_settings = replace(settings, task_queue=settings.task_queue + "-outage")
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(env.client, queue_settings, executor,
                                    trusting_tests(queue_settings), max_cached_workflows=0):
            handle = await start(env, queue_settings.task_queue)
            state = await steps.to_denied(handle)
            # The denial's notice follows the decision: sent before this worker stops (the
            # server skips no time while an activity waits for a worker).
            await steps.wait_notices(engine, state.id, "denied")
        try:
            assert state.appeal_deadline is not None
            # With no worker the server cannot skip past the window's timer (its task would
            # wait for a worker): skip to just before it and let real time carry it over.
            fired = await steps.timers_fired(handle)
            await skip_to(env, end_of(state.appeal_deadline) - timedelta(seconds=0.5))
            filed_on: date = state.appeal_deadline + timedelta(days=days_late)
            late = asyncio.create_task(
                handle.execute_update(W.file_appeal, FileAppeal(actor=CLERK, filed_on=filed_on))
            )

            async def window_timer_fired() -> bool:  # the update waits for a worker
                return await steps.timers_fired(handle) > fired

            await eventually(window_timer_fired, what="the appeal window's timer firing")
            assert await env.get_current_time() > end_of(state.appeal_deadline)
            async with build_worker(env.client, queue_settings, executor,
                                    trusting_tests(queue_settings), max_cached_workflows=0):
                if days_late:
                    with pytest.raises(WorkflowUpdateFailedError) as failure:
                        await late
                    message = failure.value.cause.message
                    assert "the appeal window closed on" in message
                    assert state.appeal_deadline.isoformat() in message
                    result = await steps.finished(env, handle, Stage.abandoned)
                    assert "appeal_filed" not in steps.events(result)
                else:
                    state = await late
                    assert state.stage is Stage.appeal_pending
                    assert state.appeal_filed_on == filed_on
                    # Not abandoned: nothing happens until the county's decision is due.
                    assert state.appeal_decision_due is not None
                    await steps.quiet_until(
                        env, handle, end_of(state.appeal_decision_due) - SECOND, since=state
                    )
                    # ...and then the appeal is what the run waits on: the county is overdue.
                    await skip_to(env, end_of(state.appeal_decision_due) + MINUTE)
                    await wait_state(
                        handle, lambda s: "county_decision_overdue" in steps.events(s),
                        "the county escalation",
                    )
                    await handle.execute_update(W.withdraw, WITHDRAW)
                    await steps.finished(env, handle, Stage.withdrawn)
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate("test over")



async def test_appeal_after_the_window_was_abandoned_is_refused(env, launch: Launch):
    handle = await launch()
    state = await steps.to_denied(handle)
    assert state.appeal_deadline is not None
    await skip_to(env, end_of(state.appeal_deadline) + MINUTE)
    await steps.finished(env, handle, Stage.abandoned)
    await steps.refused_when_closed(handle, W.file_appeal, FileAppeal(actor=CLERK))

