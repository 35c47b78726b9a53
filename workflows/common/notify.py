"""Sending a workflow's notices (docs/cross-cutting.md "Exactly-once notices" and "Staff
actions do not wait for their notices"): the ``send_notice`` activity, with the same timeout
and retries for every process, and the notices staff actions schedule without waiting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.common import versions
from workflows.common.waiting import RETRY

with workflow.unsafe.imports_passed_through():
    from activities.notices import NoticeActivities
    from models.district import DistrictSnapshot
    from models.notices import Notice
    from models.people import Parent, StudentBase

NOTICE_TIMEOUT = timedelta(minutes=1)  # a send and, past five attempts, its escalation
# The activity by reference, not by its name: a rename fails at import, not in production.
SEND = NoticeActivities.send_notice


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
    }


class NoticesUnderway:
    """A workflow's notices: those it waits for, and those staff actions (Updates) scheduled
    and did not wait for.

    An Update returns once its decision is in the history and the records store; its notice
    is scheduled by the same workflow task, so it is on its way when the staff member's
    command returns. Waiting for it made the command wait for the mail: forever, while a
    parent's address was refused (the notice is retried until it is delivered), and an
    approval's permit was not issued until then. The run waits for them before it ends, so
    nothing a request scheduled is left behind (`settled`)."""

    def __init__(self) -> None:
        self._handles: list[workflow.ActivityHandle[Any]] = []

    async def send(self, notice: Notice, wait: bool = True, receipt: bool = False) -> None:
        """Send ``notice``. ``wait=False`` (a staff action's): schedule it and go on. Runs
        that took such an action before this change wait for its notice, as they did
        (``workflow.patched``); ``receipt``: see `send_notice`."""
        if not wait and versions.patched("notices-behind-updates"):
            self._handles.append(workflow.start_activity_method(
                SEND, notice, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
            ))
        else:
            await send_notice(notice, receipt=receipt)

    async def settled(self) -> None:
        """Until every notice scheduled was sent. One that can never be (a notice that does
        not render: a bug, not retried) is logged; the request still ends as decided."""
        while self._handles:
            handle = self._handles.pop(0)
            try:
                await handle
            except ActivityError as error:
                workflow.logger.error("a notice was not sent: %s", error.cause or error)
