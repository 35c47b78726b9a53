"""Search attributes: what each stage publishes, and that a real dev server indexes it for
``temporal workflow list --query`` without a word of student data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

import rules.calendar as calendar
from codec import DATA_CONVERTER
from models.actions import Withdraw
from models.stages import CLOSED_STAGES, Stage
from models.state import RequestState
from search_attributes import (
    ATTRIBUTES,
    DECISION_DUE,
    DISTRICT,
    SCHOOL_YEAR,
    STAGE,
    interdistrict_due,
    register,
)
from settings import Settings, find_binary
from tests.factories import CLERK, make_request
from tests.workflow_helpers import TZ, start, wait_stage
from worker import build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as P


def test_every_open_stage_publishes_what_it_waits_on_and_a_closed_one_nothing() -> None:
    days = {name: date(2027, 3, n) for n, name in enumerate(
        ["documents_due", "release_due", "decision_due", "appeal_deadline",
         "appeal_decision_due"], start=1)}
    base = RequestState(id="r", request=make_request(), timezone=TZ,
                        received_at=calendar.at_local(date(2027, 1, 20), time(9), TZ),
                        **days)
    expected = {
        Stage.submitted: days["documents_due"],
        Stage.awaiting_documents: days["documents_due"],
        Stage.awaiting_release: days["release_due"],
        Stage.under_review: days["decision_due"],
        Stage.denied: days["appeal_deadline"],
        Stage.deemed_denied: days["appeal_deadline"],
        Stage.appeal_pending: days["appeal_decision_due"],
    }
    for stage in Stage:
        due = interdistrict_due(base.model_copy(update={"stage": stage}))
        assert due == (None if stage in CLOSED_STAGES else expected[stage]), stage


@pytest.fixture
async def dev_server() -> AsyncIterator[Client]:
    """A real dev server (in memory) with the attributes registered by `register`."""
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"), data_converter=DATA_CONVERTER,
        dev_server_log_level="error", ui=False,
    )
    await register(environment.client)
    await register(environment.client)  # again: a restarted `transfers dev` re-registers
    yield environment.client
    await environment.shutdown()


async def _listed(client: Client, query: str, expected: int) -> list[str]:
    """Visibility is eventually consistent: poll briefly for the listing to catch up."""
    for _ in range(100):
        ids = [w.id async for w in client.list_workflows(query)]
        if len(ids) == expected:
            return ids
        await asyncio.sleep(0.1)
    raise AssertionError(f"{query!r} listed {ids}, expected {expected}")


async def test_the_dev_server_lists_requests_by_stage_and_due_date(
    dev_server: Client, settings: Settings
) -> None:
    env = WorkflowEnvironment.from_client(dev_server)
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(dev_server, settings, executor) as worker:
            handles: list[WorkflowHandle] = [
                await start(env, worker.task_queue) for _ in range(2)
            ]
            states = [await wait_stage(h, Stage.awaiting_documents) for h in handles]
            request = states[0].request
            query = (f"{STAGE.name} = 'awaiting_documents' AND {DISTRICT.name} = "
                     f"'{request.district}' AND {SCHOOL_YEAR.name} = '{request.school_year}'")
            assert sorted(await _listed(dev_server, query, 2)) == sorted(h.id for h in handles)

            due = calendar.end_of_day(states[0].documents_due, TZ)
            described = await handles[0].describe()
            attributes = described.typed_search_attributes
            assert attributes.get(DECISION_DUE) == due
            # Overdue once its last day has ended, not before.
            before = f"{DECISION_DUE.name} < '{due.isoformat()}'"
            assert await _listed(dev_server, before, 0) == []

            await handles[0].execute_update(P.withdraw, Withdraw(actor=CLERK))
            await _listed(dev_server, f"{STAGE.name} = 'withdrawn'", 1)
            attributes = (await handles[0].describe()).typed_search_attributes
            assert attributes.get(DECISION_DUE) is None  # nothing is due on a closed request
            assert attributes.get(STAGE) == "withdrawn"

            # No student data: every value is a stage, a district, a year or a date.
            student = request.student
            text = repr([(p.key.name, p.value) for p in attributes])
            for word in (student.first_name, student.last_name, request.parent.email):
                assert word not in text
            system = {"BuildIds", "TemporalChangeVersion"}  # the server's own, and the patch
            assert {p.key.name for p in attributes} - system <= set(ATTRIBUTES)
            await handles[1].terminate("test over")
