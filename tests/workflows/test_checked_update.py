"""workflows/common/updates.checked_update: the check is the Update's validator, so a refused
action never enters the history, and an accepted one runs its handler."""

from __future__ import annotations

import uuid

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from workflows.common.updates import checked_update
from workflows.common.waiting import refuse


@workflow.defn(sandboxed=False)
class Counter:
    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.total

    def _check_add(self, amount: int) -> None:
        if amount <= 0:
            refuse(f"cannot add {amount}: only a positive amount")

    @checked_update(_check_add)
    async def add(self, amount: int) -> int:
        self._check_add(amount)
        self.total += amount
        return self.total

    @checked_update(lambda self, amount: refuse("no amount to finish with") if amount <= 0
                    else None)
    def finish(self, amount: int) -> None:
        self.total += amount
        self.done = True


async def test_a_refused_update_leaves_no_trace_and_an_accepted_one_runs(
    env: WorkflowEnvironment,
) -> None:
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=queue, workflows=[Counter],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        handle = await env.client.start_workflow(Counter.run, id=f"counter-{queue}",
                                                 task_queue=queue)
        assert await handle.execute_update(Counter.add, 2) == 2
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(Counter.add, -1)
        assert "cannot add -1: only a positive amount" in str(refused.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(Counter.finish, 0)
        assert "no amount to finish with" in str(refused.value.cause)
        await handle.execute_update(Counter.finish, 1)
        assert await handle.result() == 3
        history = await handle.fetch_history()
    accepted = [e for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    assert len(accepted) == 2  # the two accepted Updates; the refused two were never accepted
