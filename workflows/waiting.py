"""What every workflow here does the same way: wait for a condition until an instant, refuse
a staff action with a message that reaches the caller intact, and run activities with the
same timeouts and retries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

RECORD_TIMEOUT = timedelta(seconds=60)  # a large lottery's record is a few megabytes
NOTICE_TIMEOUT = timedelta(minutes=2)
# Activities retry until they succeed: a write or a notice that the law requires is never
# given up; the backoff caps at ten minutes so an outage heals without a flood.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10))


async def wait_until(condition: Callable[[], bool], instant: datetime) -> bool:
    """Wait (on a durable timer) for ``condition`` until ``instant``; False if the instant
    came first."""
    remaining = (instant - workflow.now()).total_seconds()
    if remaining <= 0:
        return bool(condition())
    try:
        await workflow.wait_condition(condition, timeout=remaining)
    except TimeoutError:
        return bool(condition())
    return True


def refuse(message: str) -> NoReturn:
    """Reject an Update: the caller sees ``message``; nothing was changed."""
    raise ApplicationError(message, type="PolicyError", non_retryable=True)
