"""The interdistrict workflow's tests run on a time-skipping server of their own, each request
started on the test's worker and ended with the test (tests/support/interdistrict.py holds
the steps they share)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.support.interdistrict import Launch
from tests.support.workflows import start


@pytest.fixture(name="env")
def own_server(private_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """An approval starts a permit that lives for years on this test's task queue: a server of
    the test's own keeps its timers out of the other tests' clock."""
    return private_env



@pytest.fixture(name="launch")
async def launcher(env: WorkflowEnvironment, worker: Worker) -> AsyncIterator[Launch]:
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
