"""Racing threads: several callers released at the same instant, as the worker, the CLI and
other processes open or migrate one database together."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def at_once(calls: Sequence[Callable[[], T]]) -> tuple[list[T], list[BaseException]]:
    """Run every call in its own thread, all released together by a barrier; what they
    returned, and what they raised (collected, for the test to assert on)."""
    barrier = threading.Barrier(len(calls))
    results: list[T] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], T]) -> None:
        barrier.wait()
        try:
            results.append(call())
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
