"""Sending a workflow's notices (docs/cross-cutting.md "Exactly-once notices", "Staff
actions do not wait for their notices" and "Notices that cannot be sent"): the
``send_notice`` activity, with the same timeout and retries for every process, the notices
staff actions schedule without waiting, and what a run does with a notice that failed for
good."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import versions
from workflows.common.waiting import RETRY

with workflow.unsafe.imports_passed_through():
    from activities.notices import NoticeActivities, failed_notice_escalation
    from models.district import DistrictSnapshot
    from models.notices import Notice
    from models.people import Parent, StudentBase

NOTICE_TIMEOUT = timedelta(minutes=1)  # a send and, past five attempts, its escalation
# The activity by reference, not by its name: a rename fails at import, not in production.
SEND = NoticeActivities.send_notice
# Versioned: before it, a notice that failed for good failed the run (awaited) or was only
# logged at its end (a staff action's); see `NoticesUnderway`.
FAILED_NOTICES = "failed-notices-escalated"


def failed_for_good(error: ActivityError | ApplicationError) -> ApplicationError | None:
    """The non-retryable failure of a notice's activity (activities/notices.py: not
    rendered, not built, refused by a 5xx), or None for any other end. An activity's comes
    as the ActivityError's cause; a local activity's (the receipt) as the error itself."""
    cause = error.cause if isinstance(error, ActivityError) else error
    return cause if isinstance(cause, ApplicationError) and cause.non_retryable else None


async def send_notice(notice: Notice, receipt: bool = False) -> None:
    """Send a notice (the ``send_notice`` activity) and wait until it is sent.

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
        await workflow.execute_local_activity_method(
            SEND, notice, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
        )
    else:
        await workflow.execute_activity_method(
            SEND, notice, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
        )


def request_facts(
    request_id: str, district: DistrictSnapshot, student: StudentBase, parent: Parent,
    school_year: str,
) -> dict[str, Any]:
    """The facts every request's notice states, whichever the process: whose request, which
    district and whom to ask there; each process adds its own."""
    return {
        "request_id": request_id,
        "district_name": district.district_name,
        "contact": district.contact,
        "student_name": student.full_name,
        "parent_name": parent.name,
        "school_year": school_year,
        # The Date: header's zone (activities.notices.date_header); not shown in the text.
        "timezone": district.timezone,
    }


class NoticesUnderway:
    """A workflow's notices: those it waits for, and those staff actions (Updates) scheduled
    and did not wait for.

    An Update returns once its decision is in the history and the records store; its notice
    is scheduled by the same workflow task, so it is on its way when the staff member's
    command returns. Waiting for it made the command wait for the mail: forever, while a
    parent's address was refused (the notice is retried until it is delivered), and an
    approval's permit was not issued until then. The run waits for them before it ends, so
    nothing a request scheduled is left behind (`settled`).

    A notice that fails for good (`failed_for_good`) never holds the run: its delivery
    record is already ``failed``; the run logs it, tells staff once (a staff_escalation,
    scheduled and not waited for) and goes on to its next stage and timers. A staff notice
    that fails so is only logged: an escalation is not escalated. Runs that began waiting
    before this change keep its old path on replay (`FAILED_NOTICES`)."""

    def __init__(self) -> None:
        self._handles: list[workflow.ActivityHandle[Any]] = []
        # Tasks awaiting a notice scheduled without waiting (a staff action's, an
        # escalation), to act when it fails for good; awaited by `settled`.
        self._watchers: list[asyncio.Task[None]] = []
        self._escalated: set[str] = set()  # the keys of the notices staff were told of

    async def send(self, notice: Notice, wait: bool = True, receipt: bool = False) -> None:
        """Send ``notice``. ``wait=False`` (a staff action's): schedule it and go on. Runs
        that took such an action before this change wait for its notice, as they did
        (``workflow.patched``); ``receipt``: see `send_notice`."""
        if not wait and versions.patched("notices-behind-updates"):
            handle = workflow.start_activity_method(
                SEND, notice, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
            )
            self._handles.append(handle)
            self._watch(notice, handle)
        else:
            try:
                await send_notice(notice, receipt=receipt)
            except (ActivityError, ApplicationError) as error:
                if not self._gave_up(notice, error):
                    raise

    def _watch(self, notice: Notice, handle: workflow.ActivityHandle[Any]) -> None:
        """Act on ``handle``'s failure for good when it comes. The watcher schedules nothing
        unless it does, so the histories of earlier runs replay as they ran."""

        async def watch() -> None:
            try:
                await handle
            except ActivityError as error:
                self._gave_up(notice, error)

        self._watchers.append(asyncio.create_task(watch()))

    def _gave_up(self, notice: Notice, error: ActivityError | ApplicationError) -> bool:
        """True when ``error`` is ``notice``'s failure for good and the run takes this
        change: logged (its key and reason code only: no student data), and staff told once
        for a parent's notice, without waiting. False: the caller does as it did before."""
        failure = failed_for_good(error)
        if failure is None or not versions.patched(FAILED_NOTICES):
            return False
        workflow.logger.warning(
            "notice %s failed for good (%s: %s); the run goes on", notice.key, failure.type,
            failure.message,
        )
        escalation = failed_notice_escalation(notice, failure.message)
        if escalation is not None and notice.key not in self._escalated:
            self._escalated.add(notice.key)
            self._watch(escalation, workflow.start_activity_method(
                SEND, escalation, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
            ))
        return True

    async def settled(self) -> None:
        """Until every notice scheduled was sent. One that can never be (a notice that does
        not render: a bug, not retried) is logged; the request still ends as decided."""
        while self._handles:
            handle = self._handles.pop(0)
            try:
                await handle
            except ActivityError as error:
                workflow.logger.error("a notice was not sent: %s", error.cause or error)
        while self._watchers:  # the escalations of notices that failed for good
            await self._watchers.pop(0)
