"""The interdistrict permit workflow on the time-skipping server, every path of issue 2.

The server's clock only moves forward and is shared by every test of the session, so each
test computes its dates from the server's "today" and checks each deadline from both sides:
the last second before the day ends the clock is moved there and the state is unchanged
(`quiet_until`), just after it the workflow has acted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.settings import Settings
from models.actions import (
    AddDocuments,
    Decide,
    DocumentFile,
    ExtendAppeal,
    FileAppeal,
    RecordAppealOutcome,
    RecordRelease,
    Withdraw,
)
from models.decisions import AppealOutcome, DenialReason, Outcome
from models.documents import DocumentKind
from models.people import Actor
from models.requests import InterdistrictRequest
from models.stages import Stage
from models.state import HistoryEntry, RequestState
from store import notices as notice_store
from store import records
from tests.factories import CLERK, COUNTY, DIRECTOR, NOBODY, document, make_request
from tests.interdistrict_helpers import SECOND, eventually, quiet_until, timers_fired
from tests.workflow_helpers import (
    describe,
    end_of,
    local_day,
    mailing_worker,
    notice_in,
    refused,
    skip_to,
    start,
    status,
    supply_documents,
    today,
    wait_stage,
    wait_state,
)
from worker import build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

DENY = Decide(actor=DIRECTOR, outcome=Outcome.deny, reasons=[DenialReason.no_space])
APPROVE = Decide(actor=DIRECTOR, outcome=Outcome.approve)
GRANT_RELEASE = RecordRelease(actor=CLERK, granted=True)
REFUSE_RELEASE = RecordRelease(actor=CLERK, granted=False)
WITHDRAW = Withdraw(actor=CLERK, note="the family stays")
EXTEND = ExtendAppeal(actor=COUNTY, reason="the board meets next month")
MINUTE = timedelta(minutes=1)
PARENT_EMAIL = "maria@example.com"
STAFF_EMAIL = "pupil-services@paramount.example.org"

Launch = Callable[..., Awaitable[WorkflowHandle]]


@pytest.fixture
def env(private_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """An approval starts a permit that lives for years on this test's task queue: a server of
    the test's own keeps its timers out of the other tests' clock."""
    return private_env


@pytest.fixture
async def launch(env: WorkflowEnvironment, worker: Worker) -> AsyncIterator[Launch]:
    """Start requests on this test's worker; any still open at the end are terminated, so
    their timers never fire into a later test on the shared clock."""
    handles: list[WorkflowHandle] = []

    async def _launch(**kwargs: object) -> WorkflowHandle:
        handle = await start(env, worker.task_queue, **kwargs)
        handles.append(handle)
        return handle

    yield _launch
    for handle in handles:
        with contextlib.suppress(RPCError):  # already completed: nothing to end
            await handle.terminate("test over")


def into_request(**overrides: object) -> InterdistrictRequest:
    return make_request(direction="into", **overrides)


def kinds(engine: Engine, request_id: str) -> list[str]:
    return [n.kind for n in notice_store.list_notices(engine, request_id)]


def notices_of(engine: Engine, request_id: str, kind: str) -> list[notice_store.NoticeRow]:
    return [n for n in notice_store.list_notices(engine, request_id) if n.kind == kind]


async def wait_notices(
    engine: Engine, request_id: str, kind: str, count: int = 1
) -> list[notice_store.NoticeRow]:
    """Notices go out after the stage changes: wait until ``count`` of ``kind`` are sent."""

    async def sent() -> list[notice_store.NoticeRow] | None:
        found = [n for n in notices_of(engine, request_id, kind) if n.status == "sent"]
        return found if len(found) >= count else None

    return await eventually(sent, f"{count} {kind} notices sent for {request_id}")


def events(state: RequestState) -> list[str]:
    return [entry.event for entry in state.history]


def entry(state: RequestState, event: str) -> HistoryEntry:
    return next(e for e in state.history if e.event == event)


async def to_under_review(handle: WorkflowHandle) -> RequestState:
    await supply_documents(handle)
    return await wait_stage(handle, Stage.under_review)


async def to_denied(handle: WorkflowHandle) -> RequestState:
    await to_under_review(handle)
    state = await handle.execute_update(W.decide, DENY)
    assert state.stage is Stage.denied
    return state


async def to_appeal_pending(handle: WorkflowHandle) -> RequestState:
    await to_denied(handle)
    state = await handle.execute_update(W.file_appeal, FileAppeal(actor=CLERK))
    assert state.stage is Stage.appeal_pending
    return state


async def to_deemed_denied(env: WorkflowEnvironment, handle: WorkflowHandle) -> RequestState:
    state = await status(handle)
    if state.stage is not Stage.under_review:
        state = await to_under_review(handle)
    assert state.statutory_due is not None
    await skip_to(env, end_of(state.statutory_due) + MINUTE)
    return await wait_stage(handle, Stage.deemed_denied)


async def finished(env: WorkflowEnvironment, handle: WorkflowHandle, stage: Stage) -> RequestState:
    """The run's result. Nothing here needs time to pass, so time skipping stays locked:
    unlocked, the test server jumps the shared clock years ahead while the run closes."""
    with env.auto_time_skipping_disabled():
        result = await handle.result()
    assert result.stage is stage
    return result


# ---- out of the district: the simplest path ---------------------------------------------


async def test_out_request_approved_issues_permit(env: WorkflowEnvironment, worker: Worker, engine):
    handle = await start(env, worker.task_queue)
    state = await supply_documents(handle)
    state = await wait_stage(handle, Stage.under_review)
    assert state.missing_documents == []
    state = await handle.execute_update(W.decide, APPROVE)
    assert state.stage is Stage.approved
    assert state.permit_id
    await finished(env, handle, Stage.approved)
    kinds = [n.kind for n in notice_store.list_notices(engine, state.id)]
    assert kinds == ["receipt", "missing_documents", "approved"]


async def test_a_decision_does_not_wait_for_a_refused_parent_mailbox(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    """The approval's notice is retried until the parent's mail server takes it. The
    director's Update returns at once all the same, and the permit is issued. The notice is
    sent once, when the server takes it, and the request closes only after that."""
    async with mailing_worker(env, settings) as (worker, inbox):
        handle = await start(env, worker.task_queue)
        await supply_documents(handle)
        await wait_stage(handle, Stage.under_review)
        inbox.refused = {PARENT_EMAIL}

        state = await asyncio.wait_for(handle.execute_update(W.decide, APPROVE), 10)
        assert state.stage is Stage.approved
        permit = await wait_until_exists(env, f"PERMIT-{state.id}")
        assert permit.stage.value == "active"
        approved = await notice_in(engine, state.id, "approved", "failed")
        assert approved.attempts >= 1 and "550" in approved.error
        running = (await describe(handle)).workflow_execution_info.status
        assert running == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING

        inbox.refused = set()
        await env.sleep(timedelta(minutes=11))  # past the longest retry interval
        (sent,) = await wait_notices(engine, state.id, "approved")
        result = await finished(env, handle, Stage.approved)
        assert result.permit_id == state.permit_id
    subjects = [m["Subject"] for m in inbox.to(PARENT_EMAIL)]
    assert len([s for s in subjects if "approved" in s.lower()]) == 1, subjects


async def wait_until_exists(env: WorkflowEnvironment, permit_id: str) -> Any:
    from workflows.permit import PermitWorkflow

    handle = env.client.get_workflow_handle_for(PermitWorkflow.run, permit_id)
    return await eventually(
        lambda: handle.query(PermitWorkflow.status), f"the permit {permit_id}", retry_on=(RPCError,)
    )


# ---- into the district: the release from the district of residence ----------------------


async def test_into_release_granted_then_reviewed_and_approved(env, launch: Launch, engine):
    handle = await launch(request=into_request(preferred_school="gaines"))
    state = await supply_documents(handle)
    state = await wait_stage(handle, Stage.awaiting_release)
    assert state.missing_documents == []
    assert state.release_due == local_day(entry(state, "awaiting_release").at) + timedelta(days=30)
    state = await handle.execute_update(W.record_release, GRANT_RELEASE)
    assert "release_granted" in events(state)
    state = await wait_stage(handle, Stage.under_review)
    state = await handle.execute_update(
        W.decide, Decide(actor=DIRECTOR, outcome=Outcome.approve, school="hollydale")
    )
    assert state.stage is Stage.approved
    assert state.permit_id == f"PERMIT-{state.id}"
    assert state.assigned_school == "hollydale"  # the district's assignment, not the preference
    result = await finished(env, handle, Stage.approved)
    stages = [e.stage for e in result.history]
    assert stages.index(Stage.awaiting_release) < stages.index(Stage.under_review)
    assert kinds(engine, state.id) == ["receipt", "missing_documents", "approved"]
    approved = notices_of(engine, state.id, "approved")[0]
    assert approved.recipients == PARENT_EMAIL
    assert "Hollydale Elementary School" in approved.body


async def test_into_release_refused_ends_the_request(env, launch: Launch, engine):
    handle = await launch(request=into_request())
    await supply_documents(handle)
    await wait_stage(handle, Stage.awaiting_release)
    await handle.execute_update(W.record_release, REFUSE_RELEASE)
    result = await finished(env, handle, Stage.release_refused)
    assert Stage.under_review not in [e.stage for e in result.history]
    assert kinds(engine, result.id) == ["receipt", "missing_documents", "release_refused"]


async def test_into_release_granted_before_documents_skips_awaiting_release(
    env, launch: Launch, engine
):
    handle = await launch(request=into_request())
    await wait_stage(handle, Stage.awaiting_documents)
    state = await handle.execute_update(W.record_release, GRANT_RELEASE)
    assert state.stage is Stage.awaiting_documents
    await supply_documents(handle)
    state = await wait_stage(handle, Stage.under_review)
    assert Stage.awaiting_release not in [e.stage for e in state.history]
    assert state.release_due is None
    await handle.execute_update(W.decide, APPROVE)
    await finished(env, handle, Stage.approved)


async def test_into_release_refused_before_documents_ends_at_once(env, launch: Launch, engine):
    handle = await launch(request=into_request())
    await wait_stage(handle, Stage.awaiting_documents)
    await handle.execute_update(W.record_release, REFUSE_RELEASE)
    result = await finished(env, handle, Stage.release_refused)
    assert result.missing_documents  # nobody waited for the documents
    assert Stage.awaiting_release not in [e.stage for e in result.history]
    assert kinds(engine, result.id) == ["receipt", "missing_documents", "release_refused"]


async def test_into_without_release_by_its_deadline_is_abandoned(env, launch: Launch, engine):
    handle = await launch(request=into_request())
    await supply_documents(handle)
    state = await wait_stage(handle, Stage.awaiting_release)
    assert state.release_due is not None
    await quiet_until(env, handle, end_of(state.release_due) - SECOND, since=state)
    await skip_to(env, end_of(state.release_due) + MINUTE)
    result = await finished(env, handle, Stage.abandoned)
    assert "release" in result.history[-1].reason
    abandoned = (await wait_notices(engine, result.id, "abandoned"))[0]
    assert abandoned.recipients == PARENT_EMAIL


# ---- denial and the appeal window -------------------------------------------------------


async def test_denial_without_appeal_is_abandoned_when_the_30_days_end(
    env, launch: Launch, engine
):
    handle = await launch()
    state = await to_denied(handle)
    letter = local_day(entry(state, "denied").at)
    assert state.appeal_deadline == letter + timedelta(days=30)
    assert state.denial_reasons == [DenialReason.no_space]
    denied = (await wait_notices(engine, state.id, "denied"))[0]
    assert denied.recipients == PARENT_EMAIL
    assert "Lack of space availability" in denied.body
    await quiet_until(env, handle, end_of(state.appeal_deadline) - SECOND, since=state)
    await skip_to(env, end_of(state.appeal_deadline) + MINUTE)
    result = await finished(env, handle, Stage.abandoned)
    assert local_day(result.history[-1].at) == state.appeal_deadline + timedelta(days=1)
    assert "no appeal" in result.history[-1].reason
    assert kinds(engine, state.id)[-1] == "abandoned"


@pytest.mark.parametrize("filer", [COUNTY, CLERK], ids=["county", "clerk"])
async def test_appeal_granted_issues_the_permit(env, launch: Launch, engine, filer):
    handle = await launch()
    denied = await to_denied(handle)
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
    await finished(env, handle, Stage.approved)
    assert kinds(engine, state.id) == [
        "receipt", "missing_documents", "denied", "appeal_received", "appeal_granted",
    ]
    granted = notice_store.list_notices(engine, state.id)[-1]
    # Every party is notified: the parent and the district's staff.
    assert granted.recipients == "maria@example.com, pupil-services@paramount.example.org"


async def test_appeal_upheld_is_final(env, launch: Launch, engine):
    handle = await launch()
    denied = await to_denied(handle)
    letter = local_day(entry(denied, "denied").at)
    # Recorded by the clerk, dated the day the parent filed with the county.
    state = await handle.execute_update(W.file_appeal, FileAppeal(actor=CLERK, filed_on=letter))
    assert state.appeal_filed_on == letter
    state = await handle.execute_update(
        W.record_appeal_outcome, RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.upheld)
    )
    assert state.stage is Stage.denied_final
    assert state.permit_id is None
    await finished(env, handle, Stage.denied_final)
    assert kinds(engine, state.id)[-2:] == ["appeal_received", "appeal_upheld"]


async def test_overdue_county_decision_is_escalated_and_extension_moves_it_to_60_days(
    env, launch: Launch, engine
):
    handle = await launch()
    state = await to_appeal_pending(handle)
    filed = state.appeal_filed_on
    assert filed is not None and state.appeal_decision_due == filed + timedelta(days=30)
    await quiet_until(env, handle, end_of(state.appeal_decision_due) - SECOND, since=state)
    assert notices_of(engine, state.id, "staff_escalation") == []
    await skip_to(env, end_of(state.appeal_decision_due) + MINUTE)
    state = await wait_state(
        handle, lambda s: "county_decision_overdue" in events(s), "the county escalation"
    )
    assert state.stage is Stage.appeal_pending
    escalation = (await wait_notices(engine, state.id, "staff_escalation"))[0]
    assert escalation.recipients == STAFF_EMAIL
    state = await handle.execute_update(W.extend_appeal, EXTEND)
    assert state.appeal_decision_due == filed + timedelta(days=60)
    state = await quiet_until(env, handle, end_of(state.appeal_decision_due) - SECOND, since=state)
    assert events(state).count("county_decision_overdue") == 1
    assert len(notices_of(engine, state.id, "staff_escalation")) == 1
    await skip_to(env, end_of(state.appeal_decision_due) + MINUTE)
    state = await wait_state(
        handle, lambda s: events(s).count("county_decision_overdue") == 2, "a second escalation"
    )
    await wait_notices(engine, state.id, "staff_escalation", count=2)
    await handle.execute_update(
        W.record_appeal_outcome, RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.upheld)
    )
    await finished(env, handle, Stage.denied_final)


async def test_extension_before_the_30_days_defers_the_escalation(env, launch: Launch, engine):
    handle = await launch()
    state = await to_appeal_pending(handle)
    filed = state.appeal_filed_on
    assert filed is not None
    state = await handle.execute_update(W.extend_appeal, EXTEND)
    assert state.appeal_decision_due == filed + timedelta(days=60)
    assert "appeal_extended" in events(state)
    # Past the first 30 days, and on to the last second of the 60: no escalation.
    await quiet_until(env, handle, end_of(filed + timedelta(days=30)) + MINUTE, since=state)
    state = await quiet_until(env, handle, end_of(filed + timedelta(days=60)) - SECOND, since=state)
    assert "county_decision_overdue" not in events(state)
    assert notices_of(engine, state.id, "staff_escalation") == []
    await skip_to(env, end_of(filed + timedelta(days=60)) + MINUTE)
    await wait_state(
        handle, lambda s: "county_decision_overdue" in events(s), "the county escalation"
    )
    await wait_notices(engine, state.id, "staff_escalation")
    await handle.execute_update(W.withdraw, WITHDRAW)
    await finished(env, handle, Stage.withdrawn)


# ---- the parent's document deadline ------------------------------------------------------


async def test_incomplete_request_is_abandoned_at_the_document_deadline(
    env, launch: Launch, engine
):
    handle = await launch()
    state = await wait_stage(handle, Stage.awaiting_documents)
    received = local_day(state.received_at)
    assert state.documents_due == received + timedelta(days=14)
    await wait_notices(engine, state.id, "missing_documents")
    await quiet_until(env, handle, end_of(state.documents_due) - SECOND, since=state)
    await skip_to(env, end_of(state.documents_due) + MINUTE)
    result = await finished(env, handle, Stage.abandoned)
    assert "documents" in result.history[-1].reason
    assert kinds(engine, state.id) == ["receipt", "missing_documents", "abandoned"]


# ---- review deadlines: the district's promise and the statute ----------------------------


async def test_past_the_promise_inside_the_statute_is_only_overdue(env, launch: Launch, engine):
    first_day = await today(env) + timedelta(days=120)  # received long before: statute later
    handle = await launch(first_day=first_day)
    state = await to_under_review(handle)
    complete = local_day(state.review_started_at)
    assert state.statutory_due == first_day + timedelta(days=14)
    assert state.decision_due == complete + timedelta(days=30)  # the promise comes first
    assert state.decision_due < state.statutory_due
    # The reminders go out on the way; the state does not change until the promise ends.
    state = await quiet_until(env, handle, end_of(state.decision_due) - SECOND, since=state)
    assert state.overdue is False
    reminders = await wait_notices(engine, state.id, "staff_reminder", count=2)
    assert all(r.recipients == STAFF_EMAIL for r in reminders)
    assert notices_of(engine, state.id, "staff_escalation") == []
    await skip_to(env, end_of(state.decision_due) + MINUTE)
    state = await wait_state(handle, lambda s: s.overdue, "overdue")
    assert state.stage is Stage.under_review
    assert "overdue" in events(state)
    escalation = (await wait_notices(engine, state.id, "staff_escalation"))[0]
    assert escalation.recipients == STAFF_EMAIL
    assert notices_of(engine, state.id, "deemed_denied") == []
    state = await handle.execute_update(W.decide, APPROVE)
    assert state.overdue is False
    await finished(env, handle, Stage.approved)


async def test_no_decision_by_the_statute_is_a_deemed_denial(env, launch: Launch, engine):
    first_day = await today(env) + timedelta(days=10)  # 15 or fewer days before: 30 days
    handle = await launch(first_day=first_day)
    state = await to_under_review(handle)
    complete = local_day(state.review_started_at)
    assert state.statutory_due == complete + timedelta(days=30)
    assert state.decision_due == state.statutory_due
    state = await quiet_until(env, handle, end_of(state.statutory_due) - SECOND, since=state)
    assert state.appeal_deadline is None
    await skip_to(env, end_of(state.statutory_due) + MINUTE)
    state = await wait_stage(handle, Stage.deemed_denied)
    letter = local_day(entry(state, "deemed_denied").at)
    assert letter == state.statutory_due + timedelta(days=1)
    assert state.appeal_deadline == letter + timedelta(days=30)
    assert state.overdue is True
    notice = (await wait_notices(engine, state.id, "deemed_denied"))[0]
    assert notice.recipients == PARENT_EMAIL
    await wait_notices(engine, state.id, "staff_escalation")
    # Staff may still decide: a late approval ends it.
    state = await handle.execute_update(W.decide, APPROVE)
    assert state.stage is Stage.approved and state.overdue is False
    await finished(env, handle, Stage.approved)
    assert kinds(engine, state.id)[-1] == "approved"


async def test_late_denial_after_a_deemed_denial_restarts_the_appeal_window(
    env, launch: Launch, engine
):
    # Received more than 15 days before the first day, and a promise longer than the
    # statute: the statute (first day + 14) is what falls due.
    first_day = await today(env) + timedelta(days=20)
    handle = await launch(first_day=first_day, decision_promise_days=60)
    state = await to_under_review(handle)
    assert state.statutory_due == first_day + timedelta(days=14)
    assert state.decision_due == state.statutory_due
    state = await to_deemed_denied(env, handle)
    assert "overdue" not in events(state)  # the promise never came before the statute
    first_window = state.appeal_deadline
    assert first_window is not None
    await skip_to(env, end_of(local_day(entry(state, "deemed_denied").at) + timedelta(days=5)))
    state = await handle.execute_update(W.decide, DENY)
    letter = local_day(entry(state, "denied").at)
    assert state.stage is Stage.denied
    assert state.appeal_deadline == letter + timedelta(days=30)
    assert state.appeal_deadline > first_window
    # The deemed denial's window is gone: its end passes and nothing happens.
    await quiet_until(env, handle, end_of(first_window) + MINUTE, since=state)
    await quiet_until(env, handle, end_of(state.appeal_deadline) - SECOND, since=state)
    await skip_to(env, end_of(state.appeal_deadline) + MINUTE)
    await finished(env, handle, Stage.abandoned)
    assert kinds(engine, state.id)[-2:] == ["denied", "abandoned"]


async def test_deemed_denial_may_be_appealed(env, launch: Launch, engine):
    handle = await launch(first_day=await today(env) + timedelta(days=5))
    await to_deemed_denied(env, handle)
    state = await handle.execute_update(W.file_appeal, FileAppeal(actor=COUNTY))
    assert state.stage is Stage.appeal_pending
    await handle.execute_update(
        W.record_appeal_outcome, RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.granted)
    )
    await finished(env, handle, Stage.approved)


# ---- withdrawal ---------------------------------------------------------------------------


async def _at_awaiting_documents(env, handle):
    await wait_stage(handle, Stage.awaiting_documents)


async def _at_awaiting_release(env, handle):
    await supply_documents(handle)
    await wait_stage(handle, Stage.awaiting_release)


async def _at_under_review(env, handle):
    await to_under_review(handle)


async def _at_denied(env, handle):
    await to_denied(handle)


async def _at_appeal_pending(env, handle):
    await to_appeal_pending(handle)


async def _at_deemed_denied(env, handle):
    await to_deemed_denied(env, handle)


WITHDRAW_STAGES = {
    Stage.awaiting_documents: _at_awaiting_documents,
    Stage.awaiting_release: _at_awaiting_release,
    Stage.under_review: _at_under_review,
    Stage.denied: _at_denied,
    Stage.appeal_pending: _at_appeal_pending,
    Stage.deemed_denied: _at_deemed_denied,
}


@pytest.mark.parametrize("stage", list(WITHDRAW_STAGES), ids=str)
async def test_withdraw_at_an_open_stage(env, launch: Launch, engine, stage: Stage):
    request = into_request() if stage is Stage.awaiting_release else make_request()
    handle = await launch(request=request)
    await WITHDRAW_STAGES[stage](env, handle)
    assert (await status(handle)).stage is stage
    state = await handle.execute_update(W.withdraw, WITHDRAW)
    assert state.stage is Stage.withdrawn
    result = await finished(env, handle, Stage.withdrawn)
    assert result.history[-1].actor == CLERK.name
    assert result.history[-1].reason == "the family stays"
    assert (await wait_notices(engine, state.id, "withdrawn"))[0].recipients == PARENT_EMAIL


# ---- a packet of documents in one Update --------------------------------------------------


def packet(kinds: list[DocumentKind], actor: Actor = CLERK) -> AddDocuments:
    return AddDocuments(actor=actor, documents=[
        DocumentFile.model_validate(document(kind).model_dump(exclude={"actor", "note"}))
        for kind in kinds
    ])


async def test_a_packet_of_documents_is_one_update_with_an_entry_for_each(
    env, launch: Launch, engine
):
    handle = await launch(request=into_request())
    state = await wait_stage(handle, Stage.awaiting_documents)
    needed = list(state.missing_documents)
    assert len(needed) > 1
    first = len(state.history) + 1
    state = await handle.execute_update(W.add_documents, packet(needed))
    assert state.missing_documents == []
    assert [d.kind for d in state.documents] == needed
    added = state.history[first - 1:first - 1 + len(needed)]
    assert [(e.seq, e.event, e.reason.split(":")[0]) for e in added] == [
        (first + n, "document_added", kind.value) for n, kind in enumerate(needed)
    ]
    # One write of them all, done when the Update returns.
    stored = records.get_history(engine, state.id)
    assert [(e.seq, e.event, e.reason) for e in stored[first - 1:first - 1 + len(needed)]] == [
        (e.seq, e.event, e.reason) for e in added
    ]
    state = await wait_stage(handle, Stage.awaiting_release)  # moved on, as one by one
    await handle.execute_update(W.record_release, GRANT_RELEASE)
    await wait_stage(handle, Stage.under_review)


async def test_a_packet_is_refused_whole(env, launch: Launch):
    handle = await launch()
    state = await wait_stage(handle, Stage.awaiting_documents)
    await refused(handle, W.add_documents, packet(state.missing_documents, NOBODY),
                  "visitor (no role) may not add document", "pupil_services")
    with pytest.raises(WorkflowUpdateFailedError) as failure:  # the payload fails validation
        await handle.execute_update(
            "add_documents", {"actor": CLERK.model_dump(), "documents": []}
        )
    assert "documents" in str(failure.value.cause.cause or failure.value.cause)
    assert await status(handle) == state


# ---- refused actions: a clear error, and nothing changes ----------------------------------


async def test_actor_without_the_role_is_refused(env, launch: Launch):
    handle = await launch()
    await wait_stage(handle, Stage.awaiting_documents)
    await refused(
        handle, W.add_document, document(DocumentKind.escrow_or_lease, NOBODY),
        "visitor (no role) may not add document", "pupil_services",
    )
    await refused(handle, W.withdraw, Withdraw(actor=NOBODY), "visitor", "may not withdraw")
    await supply_documents(handle)
    await wait_stage(handle, Stage.under_review)
    await refused(
        handle, W.decide, Decide(actor=CLERK, outcome=Outcome.approve),
        "avalos (pupil_services) may not decide", "director or superintendent_designee",
    )
    await refused(handle, W.decide, Decide(actor=NOBODY, outcome=Outcome.deny,
                                           reasons=[DenialReason.overcrowding]),
                  "may not decide")
    await handle.execute_update(W.decide, DENY)
    await refused(handle, W.file_appeal, FileAppeal(actor=DIRECTOR), "nguyen (director)",
                  "may not file appeal")
    await handle.execute_update(W.file_appeal, FileAppeal(actor=CLERK))
    await refused(
        handle, W.record_appeal_outcome,
        RecordAppealOutcome(actor=CLERK, outcome=AppealOutcome.granted),
        "may not record appeal outcome", "county_office",
    )
    await refused(handle, W.extend_appeal, ExtendAppeal(actor=DIRECTOR, reason="busy"),
                  "may not extend appeal")


async def test_decision_while_awaiting_documents_is_refused(env, launch: Launch):
    handle = await launch()
    await wait_stage(handle, Stage.awaiting_documents)
    await refused(handle, W.decide, APPROVE, "cannot decide", "awaiting_documents")
    await refused(handle, W.decide, DENY, "cannot decide", "awaiting_documents")


async def test_malformed_decisions_are_refused(env, launch: Launch):
    handle = await launch()
    await to_under_review(handle)
    await refused(
        handle, W.decide, Decide(actor=DIRECTOR, outcome=Outcome.deny),
        "a denial must cite at least one",
    )
    await refused(
        handle, W.decide,
        Decide(actor=DIRECTOR, outcome=Outcome.approve, reasons=[DenialReason.no_space]),
        "an approval takes no denial reasons",
    )
    await refused(
        handle, W.decide, Decide(actor=DIRECTOR, outcome=Outcome.approve, school="atlantis"),
        "unknown school 'atlantis'",
    )
    state = await handle.execute_update(W.decide, APPROVE)  # still decidable afterwards
    assert state.stage is Stage.approved


async def test_release_on_an_out_request_is_refused(env, launch: Launch):
    handle = await launch()
    await wait_stage(handle, Stage.awaiting_documents)
    await refused(handle, W.record_release, GRANT_RELEASE, "only for requests into the district")


async def test_release_recorded_twice_is_refused(env, launch: Launch):
    handle = await launch(request=into_request())
    await wait_stage(handle, Stage.awaiting_documents)
    await handle.execute_update(W.record_release, GRANT_RELEASE)
    await refused(handle, W.record_release, REFUSE_RELEASE, "the release was already recorded")
    await refused(handle, W.record_release, GRANT_RELEASE, "the release was already recorded")


async def test_appeal_when_not_denied_is_refused(env, launch: Launch):
    handle = await launch()
    await to_under_review(handle)
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
    state = await to_denied(handle)
    assert "may not appeal" in (await wait_notices(engine, state.id, "denied"))[0].body
    await refused(handle, W.file_appeal, FileAppeal(actor=COUNTY), problem)


async def test_appeal_dated_in_the_future_is_refused(env, launch: Launch):
    handle = await launch()
    await to_denied(handle)
    tomorrow = await today(env) + timedelta(days=1)
    await refused(
        handle, W.file_appeal, FileAppeal(actor=CLERK, filed_on=tomorrow),
        "cannot be filed in the future", tomorrow.isoformat(),
    )


async def test_appeal_dated_before_the_denial_is_refused(env, launch: Launch):
    handle = await launch()
    state = await to_denied(handle)
    letter = local_day(entry(state, "denied").at)
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
        async with build_worker(env.client, queue_settings, executor, max_cached_workflows=0):
            handle = await start(env, queue_settings.task_queue)
            state = await to_denied(handle)
            # The denial's notice follows the decision: sent before this worker stops (the
            # server skips no time while an activity waits for a worker).
            await wait_notices(engine, state.id, "denied")
        try:
            assert state.appeal_deadline is not None
            # With no worker the server cannot skip past the window's timer (its task would
            # wait for a worker): skip to just before it and let real time carry it over.
            fired = await timers_fired(handle)
            await skip_to(env, end_of(state.appeal_deadline) - timedelta(seconds=0.5))
            filed_on: date = state.appeal_deadline + timedelta(days=days_late)
            late = asyncio.create_task(
                handle.execute_update(W.file_appeal, FileAppeal(actor=CLERK, filed_on=filed_on))
            )

            async def window_timer_fired() -> bool:  # the update waits for a worker
                return await timers_fired(handle) > fired

            await eventually(window_timer_fired, "the appeal window's timer firing")
            assert await env.get_current_time() > end_of(state.appeal_deadline)
            async with build_worker(env.client, queue_settings, executor, max_cached_workflows=0):
                if days_late:
                    with pytest.raises(WorkflowUpdateFailedError) as failure:
                        await late
                    message = failure.value.cause.message
                    assert "the appeal window closed on" in message
                    assert state.appeal_deadline.isoformat() in message
                    result = await finished(env, handle, Stage.abandoned)
                    assert "appeal_filed" not in events(result)
                else:
                    state = await late
                    assert state.stage is Stage.appeal_pending
                    assert state.appeal_filed_on == filed_on
                    # Not abandoned: nothing happens until the county's decision is due.
                    assert state.appeal_decision_due is not None
                    await quiet_until(
                        env, handle, end_of(state.appeal_decision_due) - SECOND, since=state
                    )
                    await handle.execute_update(W.withdraw, WITHDRAW)
                    await finished(env, handle, Stage.withdrawn)
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate("test over")


async def test_appeal_outcome_when_no_appeal_is_pending_is_refused(env, launch: Launch):
    handle = await launch()
    await to_denied(handle)
    await refused(
        handle, W.record_appeal_outcome,
        RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.upheld),
        "cannot record appeal outcome", "denied", "appeal_pending",
    )
    await refused(handle, W.extend_appeal, EXTEND, "cannot extend appeal", "denied")


async def refused_when_closed(handle: WorkflowHandle, update: object, action: object) -> None:
    """A closed request's run has ended: the server refuses the update (the run is gone),
    and the record the run left, its state and history, stays as it was."""
    before = await status(handle)
    with pytest.raises(RPCError) as failure:
        await handle.execute_update(update, action)  # type: ignore[arg-type]
    assert failure.value.status is RPCStatusCode.NOT_FOUND
    assert await status(handle) == before


async def test_actions_on_a_closed_request_are_refused(env, launch: Launch):
    handle = await launch(request=into_request())
    await supply_documents(handle)
    await wait_stage(handle, Stage.awaiting_release)
    await handle.execute_update(W.record_release, GRANT_RELEASE)
    await wait_stage(handle, Stage.under_review)
    await handle.execute_update(W.decide, APPROVE)
    state = await finished(env, handle, Stage.approved)
    await refused_when_closed(handle, W.withdraw, WITHDRAW)
    await refused_when_closed(handle, W.decide, DENY)
    await refused_when_closed(handle, W.add_document, document(DocumentKind.report_card))
    await refused_when_closed(handle, W.add_documents, packet([DocumentKind.report_card]))
    await refused_when_closed(handle, W.file_appeal, FileAppeal(actor=CLERK))
    assert (await status(handle)).history == state.history


async def test_appeal_after_the_window_was_abandoned_is_refused(env, launch: Launch):
    handle = await launch()
    state = await to_denied(handle)
    assert state.appeal_deadline is not None
    await skip_to(env, end_of(state.appeal_deadline) + MINUTE)
    await finished(env, handle, Stage.abandoned)
    await refused_when_closed(handle, W.file_appeal, FileAppeal(actor=CLERK))


@pytest.mark.parametrize("second", ["withdraw", "approve"])
async def test_of_two_racing_actions_only_the_first_closes_the_request(
    env, launch: Launch, engine, second: str
):
    """The loser reaches the run while the winner's handler is still writing its record:
    the validator sees the closed stage and refuses it, naming that stage."""
    handle = await launch()
    await to_under_review(handle)
    outcomes = await asyncio.gather(
        handle.execute_update(W.withdraw, WITHDRAW),
        handle.execute_update(W.withdraw, WITHDRAW)
        if second == "withdraw"
        else handle.execute_update(W.decide, APPROVE),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, RequestState)]
    lost = [o for o in outcomes if not isinstance(o, RequestState)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], WorkflowUpdateFailedError), lost[0]
    closed = won[0].stage
    assert closed in (Stage.withdrawn, Stage.approved)
    message = lost[0].cause.message
    assert f"is closed ({closed})" in message or f"is {closed}, the action needs" in message
    result = await finished(env, handle, closed)
    assert [e.event for e in result.history].count(str(closed)) == 1
    assert len(notices_of(engine, result.id, str(closed))) == 1


async def test_extending_twice_is_refused(env, launch: Launch):
    handle = await launch()
    await to_appeal_pending(handle)
    await handle.execute_update(W.extend_appeal, EXTEND)
    await refused(handle, W.extend_appeal, EXTEND, "already extended to 60 days")


async def test_withdrawn_before_the_documents_stage_stays_withdrawn(env, launch: Launch, engine):
    """A withdrawal that arrives while the receipt is being sent must not be undone by the
    next stage beginning."""
    handle = await launch()
    state = await handle.execute_update(W.withdraw, Withdraw(actor=CLERK))
    assert state.stage is Stage.withdrawn
    result = await finished(env, handle, Stage.withdrawn)
    assert result.history[-1].event == "withdrawn"
    assert kinds(engine, state.id)[-1] == "withdrawn"


async def test_a_spanish_speaking_parent_gets_notices_in_spanish(env, launch: Launch, engine):
    """EC 48985: notices in the parent's primary language; the record says which."""
    handle = await launch(request=make_request(parent={"language": "es-MX"}))
    await wait_stage(handle, Stage.awaiting_documents)
    sent = await wait_notices(engine, handle.id, "missing_documents")
    (receipt,) = notices_of(engine, handle.id, "receipt")
    assert receipt.language == "es" and receipt.note == ""
    assert "Recibimos" in receipt.subject or "recibió" in receipt.body
    assert sent[0].language == "es"
