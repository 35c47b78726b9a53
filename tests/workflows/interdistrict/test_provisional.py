"""Provisional attendance (EC 46603; a school month is 20 school days, EC 37201), on the
time-skipping server: recorded by staff for a request into the district, it ends at the close
of the 40th school day counting the first day attended, non-instructional days skipped, unless
the request is decided first; then the parent is told to enroll in the district of residence."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.actions import FileAppeal, StartProvisional
from models.stages import Stage
from rules import calendar
from tests.support import interdistrict as steps
from tests.support.factories import CLERK, DIRECTOR, make_input
from tests.support.interdistrict import DENY, GRANT_RELEASE, SECOND
from tests.support.waiting import eventually
from tests.support.workflows import (
    TZ,
    end_of,
    quiescent,
    refused,
    skip_to,
    start,
    status,
    supply_documents,
    today,
    wait_stage,
    wait_state,
)
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W


async def _monday(env: WorkflowEnvironment) -> date:
    """The server's clock moved to the next Monday, 8:00 a.m. in the district."""
    day = await today(env) + timedelta(days=1)
    while day.weekday() != 0:
        day += timedelta(days=1)
    await skip_to(env, calendar.at_local(day, time(8, 0), TZ))
    return day


async def _into_appeal_pending(env: WorkflowEnvironment, worker: Worker, monday: date,
                               holiday: date) -> WorkflowHandle:
    """A request into the district, received on ``monday`` (the year's first day, with
    ``holiday`` off), denied and appealed: pending before the county, for as long as it takes."""
    inp = make_input(f"req-{uuid.uuid4().hex[:10]}", monday, request=steps.into_request())
    policy = inp.policy.model_copy(update={
        "last_day": monday + timedelta(days=290), "non_instructional": [holiday]})
    handle = await start(env, worker.task_queue, inp.model_copy(update={"policy": policy}))
    await supply_documents(handle)
    await wait_stage(handle, Stage.awaiting_release)
    await handle.execute_update(W.record_release, GRANT_RELEASE)
    await wait_stage(handle, Stage.under_review)
    await handle.execute_update(W.decide, DENY)
    await handle.execute_update(W.file_appeal, FileAppeal(actor=CLERK))
    return handle


async def test_provisional_attendance_ends_after_the_40th_school_day_across_a_holiday(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> None:
    monday = await _monday(env)
    holiday = monday + timedelta(days=14)  # a Monday off, in the third week
    handle = await _into_appeal_pending(env, worker, monday, holiday)
    state = await handle.execute_update(
        W.start_provisional_attendance, StartProvisional(actor=CLERK, first_attended=monday))
    # Eight weeks of five weekdays are 40; the holiday moves the 40th to the next Monday.
    fortieth = monday + timedelta(days=56)
    assert state.provisional is not None and state.provisional.last_day == fortieth
    await steps.wait_notices(engine, state.id, "provisional_started")

    # The county's decision falls overdue meanwhile (escalated): the run acts, but not on this.
    await skip_to(env, end_of(fortieth) - SECOND)
    await eventually(lambda: quiescent(handle), what="the run at rest on the 40th day")
    state = await status(handle)
    assert "provisional_attendance_ended" not in steps.events(state)  # still the 40th day
    await skip_to(env, end_of(fortieth) + steps.MINUTE)  # the 41st school day begins
    state = await wait_state(handle, lambda s: "provisional_attendance_ended" in steps.events(s),
                             "provisional attendance ended")
    assert state.stage is Stage.appeal_pending and state.provisional is not None
    assert state.provisional.ended_on == fortieth
    (ended,) = await steps.wait_notices(engine, state.id, "provisional_ended")
    assert calendar.long_date(fortieth) in ended.body
    assert "Downey" in ended.body  # the district of residence
    await steps.wait_notices(engine, state.id, "staff_escalation")


async def test_a_decision_before_the_last_day_ends_the_clock_and_no_notice_goes_out(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> None:
    monday = await _monday(env)
    handle = await _into_appeal_pending(env, worker, monday, monday + timedelta(days=14))
    state = await handle.execute_update(
        W.start_provisional_attendance, StartProvisional(actor=DIRECTOR, first_attended=monday))
    await handle.execute_update(W.withdraw, steps.WITHDRAW)
    await steps.finished(env, handle, Stage.withdrawn)
    assert state.provisional is not None
    await skip_to(env, end_of(state.provisional.last_day) + steps.MINUTE)
    assert steps.notices_of(engine, state.id, "provisional_ended") == []


async def test_provisional_attendance_is_refused_out_of_its_bounds(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """Refused, changing nothing: an out-of-district request; a first day before receipt,
    in the future, or on a holiday; a role that may not record it; a second time."""
    monday = await _monday(env)
    out = await start(env, worker.task_queue, first_day=monday)
    await wait_stage(out, Stage.awaiting_documents)
    first = StartProvisional(actor=CLERK, first_attended=monday)
    await refused(out, W.start_provisional_attendance, first, "only a request into")

    handle = await _into_appeal_pending(env, worker, monday, monday + timedelta(days=1))
    for day, words in [
        (monday - timedelta(days=3), "before the request was received"),
        (monday + timedelta(days=2), "in the future"),
    ]:
        await refused(handle, W.start_provisional_attendance,
                      StartProvisional(actor=CLERK, first_attended=day), words)
    await skip_to(env, calendar.at_local(monday + timedelta(days=1), time(9, 0), TZ))
    await refused(handle, W.start_provisional_attendance,
                  StartProvisional(actor=CLERK, first_attended=monday + timedelta(days=1)),
                  "not a school day")
    county = StartProvisional(actor=steps.COUNTY, first_attended=monday)
    await refused(handle, W.start_provisional_attendance, county, "record provisional")
    await handle.execute_update(W.start_provisional_attendance, first)
    await refused(handle, W.start_provisional_attendance, first, "was recorded from")


