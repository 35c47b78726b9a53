"""Driving a request workflow on the time-skipping server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import rules.calendar as calendar
from infra.settings import Settings
from models.stages import Stage
from models.state import RequestState
from store import notices as notice_store
from tests.support.factories import document, make_input
from tests.support.proofs import trusting_tests
from tests.support.servers import Inbox, smtp_server
from tests.support.waiting import CEILING, eventually
from worker import build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow, PermitRequestInput

TZ = "America/Los_Angeles"


async def today(env: WorkflowEnvironment) -> date:
    return calendar.local_date(await env.get_current_time(), TZ)


async def start(
    env: WorkflowEnvironment, task_queue: str, inp: PermitRequestInput | None = None,
    first_day: date | None = None, **kwargs: object,
) -> WorkflowHandle:
    if inp is None:
        first = first_day or (await today(env)) + timedelta(days=120)
        inp = make_input(f"req-{uuid.uuid4().hex[:10]}", first, **kwargs)  # type: ignore[arg-type]
    return await env.client.start_workflow(
        InterdistrictPermitWorkflow.run, inp, id=inp.id, task_queue=task_queue
    )


async def status(handle: WorkflowHandle) -> RequestState:
    return await handle.query(InterdistrictPermitWorkflow.status)


async def wait_stage(
    handle: WorkflowHandle, stage: Any, seconds: float = CEILING,
    query: Any = InterdistrictPermitWorkflow.status,
) -> Any:
    """Wait until the workflow's ``query`` reports ``stage``."""
    return await eventually(
        lambda: handle.query(query), lambda state: state.stage is stage,
        what=lambda state: f"stage is {state.stage}, expected {stage}", seconds=seconds,
    )


async def supply_documents(handle: WorkflowHandle) -> RequestState:
    state = await wait_stage(handle, Stage.awaiting_documents)
    for kind in state.missing_documents:
        state = await handle.execute_update(
            InterdistrictPermitWorkflow.add_document, document(kind)
        )
    return state


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    """Move the time-skipping server's clock to ``instant``. The server answers once the
    workflow tasks that the timers it fires on the way have run: on a busy machine, with a
    school year's worth of them, that outlasts the client's default call timeout, so the
    call has the tests' generous ceiling (``WorkflowEnvironment.sleep`` sets none)."""
    from temporalio.api.testservice.v1 import SleepRequest

    delta = instant - await env.get_current_time()
    if delta.total_seconds() > 0:
        request = SleepRequest()
        request.duration.FromTimedelta(delta)
        await env.client.test_service.unlock_time_skipping_with_sleep(
            request, timeout=timedelta(seconds=CEILING))


def end_of(day: date) -> datetime:
    return calendar.end_of_day(day, TZ)


async def wait_state(
    handle: WorkflowHandle, ready: Callable[[RequestState], bool], what: str,
    seconds: float = CEILING,
) -> RequestState:
    """Wait until the workflow's state satisfies ``ready``."""
    return await eventually(
        lambda: status(handle), ready, seconds=seconds,
        what=lambda state: f"timed out waiting for {what}; stage is {state.stage}",
    )


async def refused(
    handle: WorkflowHandle, update: Any, action: Any, *words: str,
    query: Any = InterdistrictPermitWorkflow.status,
) -> Any:
    """Send an update that the workflow must refuse: its message names every one of
    ``words``, and the state its ``query`` answers did not change."""
    before = await handle.query(query)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(update, action)
    message = failure.value.cause.message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    after = await handle.query(query)
    assert after == before
    return after


def local_day(instant: datetime) -> date:
    """The district's calendar date of an instant (a letter's date, a receipt's date)."""
    return calendar.local_date(instant, TZ)


async def describe(handle: WorkflowHandle) -> DescribeWorkflowExecutionResponse:
    """The raw description. Not ``handle.describe()``: the time-skipping server keeps an unset
    datetime search attribute as null, which the SDK cannot decode (a real server drops it)."""
    client = handle._client  # the handle's own client and namespace
    return await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
    )


ACTIVITY_ENDS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


async def quiescent(handle: WorkflowHandle) -> bool:
    """True when, by the server's history, the run has nothing in flight: no workflow task
    after the last completed one, and every activity it scheduled has ended. What it has not
    done by then it would do only on a signal, an Update or the clock."""
    events = (await handle.fetch_history()).events
    running: set[int] = set()
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            running.add(event.event_id)
        elif event.event_type in ACTIVITY_ENDS:
            running.discard(getattr(event, ACTIVITY_ENDS[event.event_type]).scheduled_event_id)
    tasks = [e.event_type for e in events if e.event_type in (
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)]
    last = events[-1].event_type if events else None
    closed = last in (EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
                      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
                      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
    return not running and (closed or tasks[-1:] == [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED])


async def notice_in(
    engine: Any, request_id: str, kind: str, status: str, seconds: float = CEILING
) -> notice_store.NoticeRow:
    """The request's first ``kind`` notice once its delivery record is ``status`` (in the
    records store)."""
    rows = await eventually(
        lambda: asyncio.to_thread(notice_store.list_notices, engine, request_id),
        lambda rows: any(n.kind == kind and n.status == status for n in rows),
        what=lambda rows: f"no {kind} notice {status} for {request_id}: {rows!r:.300}",
        seconds=seconds,
    )
    return [n for n in rows if n.kind == kind and n.status == status][0]


@contextlib.asynccontextmanager
async def mailing_worker(
    env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[tuple[Worker, Inbox]]:
    """A worker that sends notices by SMTP to an aiosmtpd server on loopback, and that
    server's ``Inbox`` (its ``refused`` addresses get 550, as an unknown mailbox does)."""
    inbox = Inbox()
    with smtp_server(inbox) as port:
        mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port)
        with ThreadPoolExecutor(max_workers=8) as executor:
            async with build_worker(env.client, mailing, executor,
                                    trusting_tests(mailing)) as worker:
                yield worker, inbox
