"""The interdistrict permit workflow on the time-skipping server (issue 2): intake, documents,
the decision, withdrawal, and the actions refused on the way.

Shared steps: tests/support/interdistrict.py (as ``steps``); fixtures: conftest.py here.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.settings import Settings
from models.actions import (
    Decide,
    ExtendAppeal,
    FileAppeal,
    RecordAppealOutcome,
    Withdraw,
)
from models.decisions import AppealOutcome, DenialReason, Outcome
from models.documents import DocumentKind
from models.stages import Stage
from models.state import RequestState
from store import records
from tests.support import interdistrict as steps
from tests.support.e2e import attachments_of
from tests.support.factories import CLERK, DIRECTOR, NOBODY, document, make_request
from tests.support.interdistrict import (
    APPROVE,
    DENY,
    GRANT_RELEASE,
    MINUTE,
    PARENT_EMAIL,
    SECOND,
    WITHDRAW,
    Launch,
)
from tests.support.notices import pdf_text, permit_code_in_store
from tests.support.waiting import eventually
from tests.support.workflows import (
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
    wait_stage,
)
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

# ---- out of the district: the simplest path ------------------------------------------------------


async def test_out_request_approved_issues_permit(env: WorkflowEnvironment, worker: Worker, engine):
    handle = await start(env, worker.task_queue)
    state = await supply_documents(handle)
    state = await wait_stage(handle, Stage.under_review)
    assert state.missing_documents == []
    state = await handle.execute_update(W.decide, APPROVE)
    assert state.stage is Stage.approved
    assert state.permit_id
    await steps.finished(env, handle, Stage.approved)
    assert steps.kinds(engine, state.id) == ["receipt", "missing_documents", "file_complete",
                                           "approved"]



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
        inbox.deferred = {PARENT_EMAIL}

        state = await asyncio.wait_for(handle.execute_update(W.decide, APPROVE), 10)
        assert state.stage is Stage.approved
        permit = await wait_until_exists(env, f"PERMIT-{state.id}")
        assert permit.stage.value == "awaiting_endorsement"  # out: EC 46600(a)(3)
        approved = await notice_in(engine, state.id, "approved", "failed")
        assert approved.attempts >= 1 and "451" in approved.error
        running = (await describe(handle)).workflow_execution_info.status
        assert running == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING

        inbox.deferred = set()
        await env.sleep(timedelta(minutes=11))  # past the longest retry interval
        (sent,) = await steps.wait_notices(engine, state.id, "approved")
        result = await steps.finished(env, handle, Stage.approved)
        assert result.permit_id == state.permit_id
    subjects = [m["Subject"] for m in inbox.to(PARENT_EMAIL)]
    assert len([s for s in subjects if "approved" in s.lower()]) == 1, subjects
    # The parent receives the approval with the permit's PDF, its verification code on it
    # (docs/permits.md "The permit as a PDF").
    (mail,) = [m for m in inbox.to(PARENT_EMAIL) if "approved" in m["Subject"].lower()]
    media, pdf = attachments_of(mail)[f"{state.permit_id}.pdf"]
    assert media == "application/pdf"
    printed = pdf_text(pdf)
    assert state.permit_id in printed and "Interdistrict Attendance Permit" in printed
    assert permit_code_in_store(engine, state.request.district, state.permit_id) in printed



async def wait_until_exists(env: WorkflowEnvironment, permit_id: str) -> Any:
    from workflows.permit import PermitWorkflow

    handle = env.client.get_workflow_handle_for(PermitWorkflow.run, permit_id)
    return await eventually(
        lambda: handle.query(PermitWorkflow.status), what=f"the permit {permit_id}",
        retry_on=(RPCError,)
    )



# ---- the parent's document deadline --------------------------------------------------------------


async def test_incomplete_request_is_abandoned_at_the_document_deadline(
    env, launch: Launch, engine
):
    handle = await launch()
    state = await wait_stage(handle, Stage.awaiting_documents)
    received = local_day(state.received_at)
    assert state.documents_due == received + timedelta(days=14)
    await steps.wait_notices(engine, state.id, "missing_documents")
    await steps.quiet_until(env, handle, end_of(state.documents_due) - SECOND, since=state)
    await skip_to(env, end_of(state.documents_due) + MINUTE)
    result = await steps.finished(env, handle, Stage.abandoned)
    assert "documents" in result.history[-1].reason
    assert steps.kinds(engine, state.id) == ["receipt", "missing_documents", "abandoned"]



# ---- a packet of documents in one Update ---------------------------------------------------------


async def test_a_packet_of_documents_is_one_update_with_an_entry_for_each(
    env, launch: Launch, engine
):
    handle = await launch(request=steps.into_request())
    state = await wait_stage(handle, Stage.awaiting_documents)
    needed = list(state.missing_documents)
    assert len(needed) > 1
    first = len(state.history) + 1
    state = await handle.execute_update(W.add_documents, steps.packet(needed))
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
    await refused(handle, W.add_documents, steps.packet(state.missing_documents, NOBODY),
                  "visitor (no role) may not add document", "pupil_services")
    with pytest.raises(WorkflowUpdateFailedError) as failure:  # the payload fails validation
        await handle.execute_update(
            "add_documents", {"actor": CLERK.model_dump(), "documents": []}
        )
    assert "documents" in str(failure.value.cause.cause or failure.value.cause)
    assert await status(handle) == state



# ---- withdrawal ----------------------------------------------------------------------------------


async def _at_awaiting_documents(env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
    await wait_stage(handle, Stage.awaiting_documents)



async def _at_awaiting_release(env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
    await supply_documents(handle)
    await wait_stage(handle, Stage.awaiting_release)



async def _at_under_review(env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
    await steps.to_under_review(handle)



async def _at_denied(env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
    await steps.to_denied(handle)



async def _at_appeal_pending(env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
    await steps.to_appeal_pending(handle)



async def _at_deemed_denied(env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
    await steps.to_deemed_denied(env, handle)



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
    request = steps.into_request() if stage is Stage.awaiting_release else make_request()
    handle = await launch(request=request)
    await WITHDRAW_STAGES[stage](env, handle)
    assert (await status(handle)).stage is stage
    state = await handle.execute_update(W.withdraw, WITHDRAW)
    assert state.stage is Stage.withdrawn
    result = await steps.finished(env, handle, Stage.withdrawn)
    assert result.history[-1].actor == CLERK.name
    assert result.history[-1].reason == "the family stays"
    assert (await steps.wait_notices(engine, state.id, "withdrawn"))[0].recipients == PARENT_EMAIL



async def test_withdrawn_before_the_documents_stage_stays_withdrawn(env, launch: Launch, engine):
    """A withdrawal that arrives while the receipt is being sent must not be undone by the
    next stage beginning."""
    handle = await launch()
    state = await handle.execute_update(W.withdraw, Withdraw(actor=CLERK))
    assert state.stage is Stage.withdrawn
    result = await steps.finished(env, handle, Stage.withdrawn)
    assert result.history[-1].event == "withdrawn"
    assert steps.kinds(engine, state.id)[-1] == "withdrawn"



# ---- refused actions: a clear error, and nothing changes -----------------------------------------


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
    await steps.to_under_review(handle)
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



async def test_actions_on_a_closed_request_are_refused(env, launch: Launch):
    handle = await launch(request=steps.into_request())
    await supply_documents(handle)
    await wait_stage(handle, Stage.awaiting_release)
    await handle.execute_update(W.record_release, GRANT_RELEASE)
    await wait_stage(handle, Stage.under_review)
    await handle.execute_update(W.decide, APPROVE)
    state = await steps.finished(env, handle, Stage.approved)
    await steps.refused_when_closed(handle, W.withdraw, WITHDRAW)
    await steps.refused_when_closed(handle, W.decide, DENY)
    await steps.refused_when_closed(handle, W.add_document, document(DocumentKind.report_card))
    await steps.refused_when_closed(handle, W.add_documents,
                                    steps.packet([DocumentKind.report_card]))
    await steps.refused_when_closed(handle, W.file_appeal, FileAppeal(actor=CLERK))
    assert (await status(handle)).history == state.history



@pytest.mark.parametrize("second", ["withdraw", "approve"])
async def test_of_two_racing_actions_only_the_first_closes_the_request(
    env, launch: Launch, engine, second: str
):
    """The loser reaches the run while the winner's handler is still writing its record:
    the validator sees the closed stage and refuses it, naming that stage."""
    handle = await launch()
    await steps.to_under_review(handle)
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
    result = await steps.finished(env, handle, closed)
    assert [e.event for e in result.history].count(str(closed)) == 1
    assert len(steps.notices_of(engine, result.id, str(closed))) == 1



# ---- notices in the parent's language ------------------------------------------------------------


async def test_a_spanish_speaking_parent_gets_notices_in_spanish(env, launch: Launch, engine):
    """EC 48985: notices in the parent's primary language; the record says which."""
    handle = await launch(request=make_request(parent={"language": "es-MX"}))
    await wait_stage(handle, Stage.awaiting_documents)
    sent = await steps.wait_notices(engine, handle.id, "missing_documents")
    (receipt,) = steps.notices_of(engine, handle.id, "receipt")
    assert receipt.language == "es" and receipt.note == ""
    assert "Recibimos" in receipt.subject or "recibió" in receipt.body
    assert sent[0].language == "es"



async def test_the_rosters_check_travels_with_the_request_to_the_records_store(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> None:
    """What intake found in the roster (docs/cross-cutting.md "Roster") is part of the
    request: the workflow keeps it and the records store, where staff read it, has it."""
    from models.roster import RosterCheck, RosterDifference
    from tests.support.factories import make_input
    from tests.support.workflows import today

    check = RosterCheck(known=True, roster_school_year="2026-2027", differences=[
        RosterDifference(field="student.grade", form="3", roster="4")])
    request = make_request(student={"grade": 4}).model_copy(update={"roster": check})
    inp = make_input(f"req-roster-{id(check)}", (await today(env)) + timedelta(days=120),
                     request=request)
    handle = await start(env, worker.task_queue, inp)
    state = await wait_stage(handle, Stage.awaiting_documents)
    assert state.request.roster == check
    from tests.support.waiting import eventually

    stored = await eventually(
        lambda: asyncio.to_thread(records.get_request, engine, inp.id),
        lambda found: found is not None, what=lambda _: "no stored request")
    assert stored.request.roster == check
