"""A staff action's Update, declared with the check that refuses it.

The check is the Update's validator: a refused action is turned away before it is accepted,
so it leaves nothing in the workflow's history. Each handler runs its check again as its
first step: validators do not run on replay, and a check's result (the appeal's filing date,
the open offer) is what the handler works with."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import workflow

H = TypeVar("H", bound=Callable[..., Any])


def checked_update(check: Callable[..., object]) -> Callable[[H], H]:
    """``@checked_update(_check_x)`` on a handler: a workflow Update of the handler's name whose
    validator is ``check`` (called with the workflow and the Update's argument)."""

    def declare(handler: H) -> H:
        def validate(self: Any, *args: Any) -> None:
            check(self, *args)

        # Temporal requires a validator's parameters to be the handler's, annotations included.
        validate.__signature__ = inspect.signature(handler)  # type: ignore[attr-defined]
        update = workflow.update(handler)
        update.validator(validate)
        return update  # type: ignore[return-value]  # Temporal's handler object, callable alike

    return declare
