"""What every workflow here does the same way: wait for a condition until an instant, and
refuse a staff action with a message that reaches the caller intact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError


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
