"""A notice that fails for good never holds a request (docs/cross-cutting.md "Notices that
cannot be sent"; workflows/common/notify.py): refused with a 5xx by the parent's mail
server (aiosmtpd on loopback), or a message that cannot be built, it is recorded ``failed``
at once after one attempt, staff are told once, and the request goes on to its next stage,
its timers firing on the time-skipping server's clock. A 4xx is retried and delivered.

Shared steps: tests/support/interdistrict.py (as ``steps``); fixtures: conftest.py here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

import activities.notices as notice_activities
from infra.settings import Settings
from models.stages import Stage
from store import notices as notice_store
from tests.support import interdistrict as steps
from tests.support.interdistrict import APPROVE, PARENT_EMAIL, STAFF_EMAIL
from tests.support.servers import Inbox
from tests.support.waiting import eventually
from tests.support.workflows import (
    end_of,
    mailing_worker,
    notice_in,
    quiescent,
    skip_to,
    start,
    status,
    supply_documents,
    wait_stage,
)
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W


def escalations(inbox: Inbox, kind: str) -> list[Any]:
    """The staff escalations received for a ``kind`` notice that failed for good."""
    return [m for m in inbox.messages  # a long subject comes folded
            if f"notice could not be sent ({kind})" in " ".join(str(m["Subject"]).split())]


async def staff_told(inbox: Inbox, kind: str) -> None:
    await eventually(lambda: escalations(inbox, kind), what=f"staff told of the {kind} notice")


def the_record(engine: Engine, request_id: str, kind: str) -> notice_store.NoticeRow:
    (row,) = steps.notices_of(engine, request_id, kind)
    return row


async def failed_activities(handle: WorkflowHandle) -> list[Any]:
    """The history's failed activity attempts: a retried one never shows (its retries are
    the server's), a non-retryable one shows once with its retry state."""
    history = await handle.fetch_history()
    return [e.activity_task_failed_event_attributes for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED]


async def test_a_refused_notice_fails_at_once_staff_are_told_once_and_the_request_goes_on(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    """The parent's server answers 550 to everything the request sends: the receipt and the
    missing-documents notice each fail after one attempt, staff hear of each once, the
    request waits for its documents, and the document deadline's timer still abandons it."""
    async with mailing_worker(env, settings) as (worker, inbox):
        inbox.refused = {PARENT_EMAIL}
        handle = await start(env, worker.task_queue)
        state = await wait_stage(handle, Stage.awaiting_documents)  # past both notices
        for kind in ("receipt", "missing_documents"):
            row = await notice_in(engine, state.id, kind, "failed")
            assert row.attempts == 1 and "550" in row.error, (kind, row.error)
            await staff_told(inbox, kind)
        # The failure as Temporal holds it: the code, not the address.
        (failed,) = await failed_activities(handle)  # missing_documents (the receipt: local)
        assert failed.retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
        assert failed.failure.application_failure_info.type == "NoticeRefused"
        assert failed.failure.message == "smtp-refused 550 at RCPT"
        assert PARENT_EMAIL not in str(failed.failure)

        # The document deadline's timer fires on the server's clock; the abandonment's
        # notice fails as well, is escalated, and the run ends.
        assert state.documents_due is not None
        await skip_to(env, end_of(state.documents_due) + steps.MINUTE)
        await wait_stage(handle, Stage.abandoned)
        await steps.finished(env, handle, Stage.abandoned)
        assert await steps.timers_fired(handle) >= 1
        await staff_told(inbox, "abandoned")

    # Once each: no retry, no second escalation, nothing to the parent.
    for kind in ("receipt", "missing_documents", "abandoned"):
        assert (the_record(engine, state.id, kind).attempts, len(escalations(inbox, kind))) == (
            1, 1
        ), kind
    assert inbox.to(PARENT_EMAIL) == []
    told = escalations(inbox, "receipt")[0]
    assert STAFF_EMAIL in str(told["To"])
    assert PARENT_EMAIL in told.get_payload(decode=True).decode()  # staff learn to whom
    assert [n.status for n in steps.notices_of(engine, state.id, "staff_escalation")] == [
        "sent"
    ] * 3


async def test_a_refused_staff_action_notice_is_escalated_and_the_request_closes(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    """The approval's notice (scheduled, not waited for) is refused for good: staff are told
    once, the permit is issued and the request closes; it is not left waiting for it."""
    async with mailing_worker(env, settings) as (worker, inbox):
        handle = await start(env, worker.task_queue)
        await supply_documents(handle)
        await wait_stage(handle, Stage.under_review)
        inbox.refused = {PARENT_EMAIL}
        state = await handle.execute_update(W.decide, APPROVE)
        assert state.stage is Stage.approved
        await steps.finished(env, handle, Stage.approved)
        await staff_told(inbox, "approved")
        assert await quiescent(handle)
    row = the_record(engine, state.id, "approved")
    assert (row.status, row.attempts) == ("failed", 1)
    assert len(escalations(inbox, "approved")) == 1


async def test_a_deferred_notice_is_retried_and_then_delivered(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    """A 451 is transient: the receipt is retried, the request waits for it as before, and
    once the server takes it the notice is delivered once, with no escalation of failure."""
    async with mailing_worker(env, settings) as (worker, inbox):
        inbox.deferred = {PARENT_EMAIL}
        handle = await start(env, worker.task_queue)
        row = await notice_in(engine, handle.id, "receipt", "failed")
        assert "451" in row.error
        assert (await status(handle)).stage is Stage.submitted  # awaiting its receipt
        inbox.deferred = set()
        await env.sleep(timedelta(minutes=11))  # past the longest retry interval
        sent = await notice_in(engine, handle.id, "receipt", "sent")
        assert sent.attempts >= 2
        await wait_stage(handle, Stage.awaiting_documents)
        await notice_in(engine, handle.id, "missing_documents", "sent")
        receipts = [m for m in inbox.to(PARENT_EMAIL) if "received" in str(m["Subject"])]
        assert len(receipts) == 1
        assert escalations(inbox, "receipt") == []
        await handle.terminate("test over")


@pytest.fixture
def unbuildable_for_the_parent(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """The activity builds the parent's messages with a line break in the To header, the
    header no message can carry (the standard library refuses to write it); the staff's
    build as usual. Returns how many times a parent's message was built."""
    real = notice_activities.build_message
    built = [0]

    def build(sender: str, to: list[str], *rest: Any) -> Any:
        if to == [PARENT_EMAIL]:
            built[0] += 1
            to = [f"{PARENT_EMAIL}\nBcc: someone@example.net"]
        return real(sender, to, *rest)

    monkeypatch.setattr(notice_activities, "build_message", build)
    return lambda: built[0]


async def test_a_notice_that_cannot_be_built_fails_at_once_without_a_retry_storm(
    env: WorkflowEnvironment, settings: Settings, engine: Engine,
    unbuildable_for_the_parent: Callable[[], int],
) -> None:
    async with mailing_worker(env, settings) as (worker, inbox):
        handle = await start(env, worker.task_queue)
        state = await wait_stage(handle, Stage.awaiting_documents)
        for kind in ("receipt", "missing_documents"):
            row = await notice_in(engine, state.id, kind, "failed")
            assert row.error.startswith("HeaderParseError"), row.error
            await staff_told(inbox, kind)
        # An hour on the server's clock, well past every retry a transient error would
        # have had (1 s doubling): still one attempt each, one build each.
        await env.sleep(timedelta(hours=1))
        assert [the_record(engine, state.id, k).attempts
                for k in ("receipt", "missing_documents")] == [1, 1]
        assert unbuildable_for_the_parent() == 2
        (failed,) = await failed_activities(handle)
        assert failed.failure.application_failure_info.type == "NoticeNotBuilt"
        assert failed.failure.message == "message-not-built (HeaderParseError)"
        assert "Bcc" not in str(failed.failure) and PARENT_EMAIL not in str(failed.failure)
        assert (await status(handle)).stage is Stage.awaiting_documents
        assert [len(escalations(inbox, k)) for k in ("receipt", "missing_documents")] == [1, 1]
        await handle.terminate("test over")
