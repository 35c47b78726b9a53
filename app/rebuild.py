"""`transfers db rebuild`: the records store made whole again from the workflows in Temporal
(docs/cross-cutting.md "Records you can lose"). Every workflow the worker runs is listed
through visibility, open and closed; each is asked its state by its own Query and the state
is written with the record activities' functions; notices come from the histories, where
their activities' inputs are. What changed is reported, row by row, without student data.

A Query of a closed workflow is answered by a worker replaying it, and the worker refuses a
lost store: so the rebuild runs a worker of its own on the task queue while it asks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.notices import district_contacts, render_notice
from app import context
from intake.ids import ID_KEY
from models.notices import Notice
from store import made, rebuild
from store.records import WITHIN
from worker import WORKFLOWS, build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow
from workflows.lottery import LotteryWorkflow
from workflows.permit import PermitWorkflow
from workflows.within_request import WithinRequestWorkflow

PARALLEL = 16  # Queries and history reads in flight at once
SEND_NOTICE = "send_notice"


@dataclass
class Report:
    """What a rebuild read and what it changed."""

    workflows: int = 0
    runs: int = 0
    seconds: float = 0.0
    differences: list[rebuild.Difference] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # workflow ids and why
    notes: list[str] = field(default_factory=list)  # what cannot be rebuilt, and what moved

    def lines(self) -> list[str]:
        head = (f"read {self.workflows} workflows ({self.runs} runs) in {self.seconds:.1f} s: "
                + (f"{len(self.differences)} differences" if self.differences
                   else "no differences"))
        return [head, *map(str, self.differences),
                *(f"not read: {u}" for u in self.unreadable), *self.notes]

    def as_data(self) -> dict[str, Any]:
        return {"workflows": self.workflows, "runs": self.runs, "seconds": self.seconds,
                "differences": [str(d) for d in self.differences],
                "unreadable": self.unreadable, "notes": self.notes}


async def rebuild_store() -> Report:
    """Write every workflow's state into the records store; report what it changed."""
    started = time.monotonic()
    settings = context.worker_settings()  # it runs a worker of its own
    engine = context.engine()  # the worker made it (empty, at head) when it was lost
    client = await context.client()
    before = await asyncio.to_thread(rebuild.snapshot, engine)
    report = Report()
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with build_worker(client, settings, executor):
            query = made.visibility_query(WORKFLOWS, settings.task_queue)
            executions = [e async for e in client.list_workflows(query)]
            latest = [e for e in executions
                      if e.status is not WorkflowExecutionStatus.CONTINUED_AS_NEW]
            report.workflows, report.runs = len(latest), len(executions)
            # Requests first: a claim is written for each open one, from its state.
            await _each(latest, lambda e: _state(client, engine, e, report))
            await _each(executions, lambda e: _notices(client, engine, e))
    if executions:
        earliest = min(e.start_time for e in executions)
        if await asyncio.to_thread(made.move_made_at, engine, earliest):
            report.notes.append(f"the store is now recorded as made at {earliest.isoformat()}, "
                                "the first workflow's start: the worker's check passes")
    after = await asyncio.to_thread(rebuild.snapshot, engine)
    report.differences = rebuild.differences(before, after)
    report.notes += _lost_for_good(before, after)
    report.seconds = time.monotonic() - started
    return report


async def _each(
    executions: list[WorkflowExecution], work: Callable[[WorkflowExecution], Awaitable[None]]
) -> None:
    gate = asyncio.Semaphore(PARALLEL)

    async def one(execution: WorkflowExecution) -> None:
        async with gate:
            await work(execution)

    await asyncio.gather(*(one(e) for e in executions))


async def _state(client: Client, engine: Any, execution: WorkflowExecution,
                 report: Report) -> None:
    """Ask the workflow its state and write it as its record activity does."""
    handle = client.get_workflow_handle(execution.id)
    kind = execution.workflow_type
    if kind == "AgreementEnding":  # no record of its own: its notice is rebuilt from history
        return
    try:
        if kind == "WithinDistrictLottery":
            record = await handle.query(LotteryWorkflow.result)
            await asyncio.to_thread(rebuild.write_lottery, engine, record)
        elif kind == "Permit":
            permit = await handle.query(PermitWorkflow.status)
            await asyncio.to_thread(rebuild.write_permit, engine, permit)
        else:
            query = (WithinRequestWorkflow.status if kind == "WithinDistrictTransferRequest"
                     else InterdistrictPermitWorkflow.status)
            state = await handle.query(query)
            await asyncio.to_thread(rebuild.write_request, engine, state)
            if state.is_open:
                scope = WITHIN if kind == "WithinDistrictTransferRequest" else \
                    state.request.school_year
                await asyncio.to_thread(
                    rebuild.write_claim, engine, state.request.district, scope,
                    state.request.student.id, state.id, state.received_at)
    except RPCError as error:  # a Query refused or failed: the others go on
        report.unreadable.append(f"{execution.id}: {error.message}")


async def _notices(client: Client, engine: Any, execution: WorkflowExecution) -> None:
    """The run's notices sent by a (non-local) activity, from the inputs in its history."""
    history = await client.get_workflow_handle(
        execution.id, run_id=execution.run_id).fetch_history()
    scheduled: dict[int, tuple[Notice, datetime]] = {}
    outcome: dict[int, dict[str, Any]] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == SEND_NOTICE:
                [notice] = await client.data_converter.decode(
                    attributes.input.payloads, [Notice])
                scheduled[event.event_id] = (notice, event.event_time.ToDatetime(tzinfo=UTC))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            outcome.setdefault(started.scheduled_event_id, {})["attempts"] = started.attempt
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            outcome.setdefault(done.scheduled_event_id, {})["sent_at"] = \
                event.event_time.ToDatetime(tzinfo=UTC)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failed = event.activity_task_failed_event_attributes
            outcome.setdefault(failed.scheduled_event_id, {})["error"] = \
                failed.failure.message
    portal_url = context.settings().portal_url  # as the worker's notices render it
    contacts = district_contacts(context.settings().districts_dir)
    for event_id, (notice, at) in scheduled.items():
        rendered = render_notice(notice, portal_url, contacts)
        went = outcome.get(event_id, {})
        lost = rebuild.LostNotice(
            key=notice.key, request_id=notice.request_id, kind=notice.kind.value,
            recipients=notice.to, subject=rendered.subject, body=rendered.body,
            language=rendered.language, note=rendered.note, created_at=at,
            sent_at=went.get("sent_at"), attempts=went.get("attempts", 0),
            error=went.get("error", ""))
        await asyncio.to_thread(rebuild.write_notice, engine, lost)


def _lost_for_good(before: rebuild.Snapshot, after: rebuild.Snapshot) -> list[str]:
    """What Temporal does not hold, said plainly."""
    notes = []
    if (ID_KEY,) not in after["secret"]:
        notes.append("the key request ids are made with was lost and cannot be rebuilt: a new "
                     "one is made at the next submission (docs/cross-cutting.md \"Records you "
                     "can lose\")")
    if any(key not in before["request"] for key in after["request"]):
        notes.append("receipts and staff escalations are sent by the worker without their "
                     "text in Temporal's history: the delivery records of those of rebuilt "
                     "requests cannot be rebuilt (the notices were sent)")
    return notes
