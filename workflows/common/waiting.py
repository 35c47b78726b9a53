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
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import versions

with workflow.unsafe.imports_passed_through():
    import rules.calendar as calendar
    from models.people import Actor
    from rules.errors import PolicyError
    from rules.roles import check_role

RECORD_TIMEOUT = timedelta(seconds=60)  # a large lottery's record is a few megabytes
NOTICE_TIMEOUT = timedelta(minutes=1)  # a send and, past five attempts, its escalation
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
    """Refuse the staff action unless one of the actor's roles may take it (``rules.roles``'s
    table, every process's actions)."""
    try:
        check_role(action, actor.name, actor.roles)
    except PolicyError as error:
        refuse(str(error))


async def record(activity: str, state: BaseModel, since: int | None = None) -> None:
    """Write ``state`` to the records store, as it is now.

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
        await workflow.execute_local_activity(
            activity, snapshot, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RETRY
        )
    else:
        await workflow.execute_activity(
            activity, snapshot, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RETRY
        )


async def send_notice(notice: BaseModel, receipt: bool = False) -> None:
    """Send a notice (the ``send_notice`` activity).

    A request's receipt is sent by a local activity, inside the workflow task that starts the
    request: the parent's receipt goes out at once, and costs the server no activity task
    and no second workflow task (bench/burst.py). That is safe for the receipt alone. It is
    the first thing every request does, whatever else has arrived, and its key is fixed:
    if the task is lost (a worker killed) and run again, the activity finds the notice
    claimed in the records store and delivers nothing twice. Any other notice follows a
    decision that a task run again could make differently, after an Update or a document
    that arrived in between: it must not leave the worker before the decision is in the
    history, so it is a regular activity, scheduled by the task that decides. Workflows
    started before this keep their receipt's scheduled activity."""
    if receipt and versions.patched("local-receipts"):
        await workflow.execute_local_activity(
            "send_notice", notice, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
        )
    else:
        await workflow.execute_activity(
            "send_notice", notice, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
        )


class NoticesUnderway:
    """Notices that staff actions (Updates) scheduled and did not wait for.

    An Update returns once its decision is in the history and the records store; its notice
    is scheduled by the same workflow task, so it is on its way when the staff member's
    command returns. Waiting for it made the command wait for the mail: forever, while a
    parent's address was refused (the notice is retried until it is delivered), and an
    approval's permit was not issued until then. The run waits for them before it ends, so
    nothing a request scheduled is left behind (`settled`)."""

    def __init__(self) -> None:
        self._handles: list[workflow.ActivityHandle[Any]] = []

    def send(self, notice: BaseModel) -> None:
        self._handles.append(workflow.start_activity(
            "send_notice", notice, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
        ))

    async def settled(self) -> None:
        """Until every notice scheduled was sent. One that can never be (a notice that does
        not render: a bug, not retried) is logged; the request still ends as decided."""
        while self._handles:
            handle = self._handles.pop(0)
            try:
                await handle
            except ActivityError as error:
                workflow.logger.error("a notice was not sent: %s", error.cause or error)
