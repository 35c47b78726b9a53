"""What the interdistrict workflow's tests share: waiting for something that must happen, and
proving on the time-skipping server that something did not."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.state import RequestState
from tests.workflow_helpers import skip_to, status

T = TypeVar("T")

SECOND = timedelta(seconds=1)
CEILING = 30.0  # seconds of wall-clock time: generous, only a failing test waits this long


async def eventually(
    probe: Callable[[], Awaitable[T]],
    what: str,
    ceiling: float = CEILING,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """``probe``'s first truthy answer, asked again until one comes (something the worker
    does on its own time, such as sending a notice). Fails, naming ``what``, if none came
    within ``ceiling`` seconds; ``retry_on`` errors count as "not yet"."""
    last: object = None
    try:
        async with asyncio.timeout(ceiling):
            while True:
                try:
                    last = await probe()
                except retry_on as error:
                    last = error
                else:
                    if last:
                        return last  # type: ignore[return-value]
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {ceiling} s: {what} (last: {last!r:.300})") from None


async def timers_fired(handle: WorkflowHandle) -> int:
    """How many of the run's timers have fired: the server's history, not the worker's."""
    history = await handle.fetch_history()
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED)


async def quiet_until(
    env: WorkflowEnvironment,
    handle: WorkflowHandle,
    instant: datetime,
    since: RequestState | None = None,
) -> RequestState:
    """Move the server's clock to ``instant`` (the last second before a deadline, say) and
    prove the run did nothing on the way: its state, stage and history included, is still
    ``since`` (by default, the state now).

    A check that can fail, not a wait: the time-skipping server fires every timer due before
    ``instant`` on the way and does not move its clock on while the workflow task that timer
    scheduled is outstanding, so ``env.sleep`` returns only after a run that acted early has
    acted, and the query that follows sees it."""
    before = since if since is not None else await status(handle)
    now = await env.get_current_time()
    assert now < instant, f"the clock is at {now}, not before {instant}: nothing would be shown"
    try:
        async with asyncio.timeout(CEILING):  # a workflow task failing over and over holds it
            await skip_to(env, instant)
    except TimeoutError:
        raise AssertionError(f"the server's clock did not reach {instant}") from None
    assert await env.get_current_time() >= instant
    after = await status(handle)
    assert after.stage is before.stage, f"{after.stage} before {instant}, expected {before.stage}"
    assert after.history == before.history, f"the run acted before {instant}"
    assert after == before
    return after
