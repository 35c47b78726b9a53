"""Waiting for a condition, never for a fixed time: ``eventually`` (async) and ``until`` (sync)
poll until the condition holds and return what it found, or fail after a generous ceiling
naming what they waited for. The ceiling is how long a slow, shared machine may take, not how
long anything should take: a passing test never waits for it."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

CEILING = 60.0  # seconds; a test that waits longer on purpose passes its own


def _describe(what: str | Callable[[Any], str], last: Any) -> str:
    if callable(what):
        return what(last)
    return f"timed out waiting for {what}; last saw {last!r:.300}"


async def eventually(
    get: Callable[[], Awaitable[T] | T],
    ready: Callable[[T], object] = bool,
    *,
    what: str | Callable[[T], str],
    seconds: float = CEILING,
    every: float = 0.05,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``get`` (a coroutine function or a plain one) until ``ready`` holds for what it
    returns, and return that; after ``seconds`` fail with ``what`` (a text, or a function of
    the last value giving the whole message). An exception from ``get`` is not retried,
    unless it is one of ``retry_on`` (a workflow not started yet, say)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            value = get()
            if inspect.isawaitable(value):
                value = await value
        except retry_on as error:
            value = error  # type: ignore[assignment]
        else:
            if ready(value):  # type: ignore[arg-type]
                return value  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(_describe(what, value))
        await asyncio.sleep(every)


def until(what: str, check: Callable[[], Any], seconds: float = CEILING, every: float = 0.25,
          detail: Callable[[], Any] = lambda: "") -> Any:
    """Poll ``check`` until it returns something true (and return that), or fail after
    ``seconds`` naming ``what`` and the ``detail`` of the moment."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what} {detail()}")
        time.sleep(every)
