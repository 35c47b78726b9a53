"""What every workflow here does the same way: wait for a condition until an instant, check a
staff member's authority (`rules.roles`) and refuse a staff action with a message that reaches
the caller intact, write the records store, and run activities with the same timeouts and
retries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, NoReturn

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from workflows.common import versions

with workflow.unsafe.imports_passed_through():
    import rules.calendar as calendar
    from infra.proofs import VERIFIED
    from models.people import Actor
    from models.roles import PARENT
    from rules.errors import PolicyError
    from rules.roles import check_role

RECORD_TIMEOUT = timedelta(seconds=60)  # a large lottery's record is a few megabytes
# Activities retry until they succeed: a write or a notice that the law requires is never
# given up; the backoff caps at ten minutes so an outage heals without a flood.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10))


def today_in(timezone: str) -> date:
    """The date it is now in ``timezone`` (the district's), by the workflow's clock, so a
    replay sees the same day (docs/cross-cutting.md "Time")."""
    return calendar.local_date(workflow.now(), timezone)


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


def authorize(action: str, actor: Actor) -> None:
    """Refuse the staff action unless one of the acting person's roles may take it
    (``rules.roles``'s table, every process's actions). The person and their roles are the
    verified proof's (``VERIFIED``, set by the worker's proof checker,
    `workflows/common/proofs.py`), never the payload's; ``actor`` is read only for an action
    taken before proofs (``signed-actions``), replayed as it ran (docs/cross-cutting.md
    "Proofs")."""
    claims = VERIFIED.get()
    name, roles = (claims.name, claims.roles) if claims is not None else (actor.name,
                                                                          actor.roles)
    try:
        check_role(action, name, roles)
    except PolicyError as error:
        refuse(str(error))


def sent_by_parent() -> bool:
    """Whether the action's verified proof is a parent's (the portal signs for the parent:
    docs/portal.md "Parents applying"), never what the payload says."""
    claims = VERIFIED.get()
    return claims is not None and PARENT in claims.roles


async def record(
    activity: Callable[..., Any], state: BaseModel, since: int | None = None
) -> None:
    """Write ``state`` to the records store, as it is now, by ``activity`` (a method of
    ``RecordActivities``, passed by reference so a rename cannot break it silently).

    The state is taken now, as the JSON the activity receives (the payload is only encoded
    when the workflow task completes, and the workflow may change the state before that):
    a tenth of the cost of a deep copy, which was 3% of a busy worker.

    A local activity: the write is a short idempotent upsert (the store keeps the newest
    version), so it runs inside the workflow task instead of costing the server an activity
    task and a second workflow task; on a crash before the task completes it simply runs
    again. Workflows started before this change keep their scheduled activity.

    With ``since``, the activity receives ``{"state": ..., "since": since}``: the entries
    from that sequence number on are written together (``record_events``)."""
    snapshot: dict = state.model_dump(mode="json")
    if since is not None:
        snapshot = {"state": snapshot, "since": since}
    if versions.patched("local-records"):
        await workflow.execute_local_activity_method(
            activity, snapshot, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RETRY
        )
    else:
        await workflow.execute_activity_method(
            activity, snapshot, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RETRY
        )
