"""Interdistrict paper forms and one clock for intake (issue 19): a paper form's dates are
its receipt's, and the request judges them again on its own clock, whatever the machine that
entered it says (docs/interdistrict.md "Paper forms"; docs/cross-cutting.md "One clock for
intake")."""

from __future__ import annotations

import contextlib
from datetime import date, time, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.submissions import start
from districts import load_district
from intake.interdistrict import prepare
from models.district import DistrictConfig, SchoolYear
from models.stages import Stage
from rules import calendar
from rules.errors import PolicyError
from store import notices as notice_store
from store import records
from tests.support.factories import document, make_request
from tests.support.workflows import describe, status, wait_stage
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

TZ = "America/Los_Angeles"


def district_with(school_year: str, first_day: date) -> DistrictConfig:
    paramount = load_district("paramount")
    year = SchoolYear(first_day=first_day, last_day=first_day + timedelta(days=290))
    return paramount.model_copy(update={"calendar": {school_year: year}})


async def test_a_paper_form_counts_from_its_receipt_for_the_15_day_boundary(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> None:
    """Received 16 days before the first day and typed in two days later (14 before): the
    decision is due as for a form received 16 days before (EC 46600.2: the first day plus 14;
    the district's 30 days from receipt), not as for one received 14 days before."""
    now = await env.get_current_time()
    today = calendar.local_date(now, TZ)
    first_day = today + timedelta(days=14)
    year = f"{today.year}-{today.year + 1}"
    config = district_with(year, first_day)
    received = calendar.at_local(today - timedelta(days=2), time(16, 50), TZ)
    inp = prepare(make_request(school_year=year), config, today, engine, "avalos",
                  received_at=received, received_by="avalos", now=now)
    handle = await start(env.client, inp, worker.task_queue)
    try:
        state = await wait_stage(handle, Stage.awaiting_documents)
        assert state.received_at == received and state.received_by == "avalos"
        assert state.entered_at is not None and state.entered_at >= now
        submitted = state.history[0].reason
        assert "paper form received" in submitted and "16:50:00" in submitted
        assert "by avalos" in submitted and "entered" in submitted
        for kind in state.missing_documents:  # the packet, typed in with the form
            await handle.execute_update(W.add_document, document(kind))
        state = await wait_stage(handle, Stage.under_review)
        assert state.statutory_due == first_day + timedelta(days=14)
        assert state.decision_due == received.astimezone(calendar.ZoneInfo(TZ)).date() + (
            timedelta(days=30))
        stored = records.get_request(engine, handle.id)
        assert stored is not None and stored.received_at == received
    finally:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")


async def test_a_staff_machine_with_a_wrong_clock_is_overruled_and_leaves_nothing(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> None:
    """The machine's clock says requests for next school year are open (after January 15);
    the workflows' clock says they are not: the start is refused with the workflow's reason,
    no record, no notice, and the id is free again."""
    now = await env.get_current_time()
    today = calendar.local_date(now, TZ)
    year = f"{today.year + 1}-{today.year + 2}"  # opens January 15 next year
    config = district_with(year, date(today.year + 1, 8, 12))
    wrong = date(today.year + 1, 1, 20)
    inp = prepare(make_request(school_year=year), config, wrong, engine, "avalos")
    with pytest.raises(PolicyError, match=f"requests for school year {year} open on"):
        await start(env.client, inp, worker.task_queue)
    failed = env.client.get_workflow_handle(inp.id)
    assert (await describe(failed)).workflow_execution_info.status == (
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED)
    assert records.get_request(engine, inp.id) is None
    assert notice_store.list_notices(engine, inp.id) == []
    # The same id starts again (from a machine whose clock agrees, on the opening day).
    await_start = calendar.at_local(date(today.year + 1, 1, 15), time(8), TZ)
    env_skip = await_start - await env.get_current_time()
    await env.sleep(env_skip)
    handle = await start(env.client, inp, worker.task_queue)
    try:
        assert handle.id == inp.id
        assert (await status(handle)).received_at >= await_start
    finally:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")
