"""Search attributes: what each stage publishes, and that a real dev server indexes it for
``temporal workflow list --query`` without a word of student data."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import rules.calendar as calendar
from app import submissions
from infra.codec import DATA_CONVERTER
from infra.search_attributes import register
from infra.settings import Settings, find_binary
from models.actions import Decide, Withdraw
from models.decisions import Outcome
from models.permits import PermitStage
from models.search_attributes import ATTRIBUTES, DECISION_DUE, DISTRICT, SCHOOL_YEAR, STAGE
from models.stages import CLOSED_STAGES, Stage
from models.state import RequestState
from tests.support.factories import CLERK, DIRECTOR, make_input, make_request
from tests.support.proofs import front_signer, trusting_tests
from tests.support.waiting import eventually
from tests.support.workflows import TZ, start, supply_documents, today, wait_stage
from worker import build_worker
from workflows.common import versions
from workflows.common.attributes import interdistrict_due
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as P
from workflows.permit import PermitWorkflow


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
        dev_server_log_level="error", ui=False, interceptors=[front_signer()],
        dev_server_startup_timeout=timedelta(seconds=60),  # the SDK's 5 s; CI may be busy
    )
    await register(environment.client)
    await register(environment.client)  # again: a restarted `transfers dev` re-registers
    yield environment.client
    await environment.shutdown()


@pytest.fixture
async def dev_worker(dev_server: Client, settings: Settings) -> AsyncIterator[Worker]:
    """The project's worker on the dev server."""
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(dev_server, settings, executor, trusting_tests(settings)) as worker:
            yield worker


async def _listed(client: Client, query: str, expected: int) -> list[str]:
    """Visibility is eventually consistent: wait for the listing to catch up."""

    async def listing() -> list[str]:
        return [w.id async for w in client.list_workflows(query)]

    return await eventually(listing, lambda ids: len(ids) == expected, every=0.1,
                            what=lambda ids: f"{query!r} listed {ids}, expected {expected}")


async def test_the_dev_server_lists_requests_by_stage_and_due_date(
    dev_server: Client, dev_worker: Worker
) -> None:
    env = WorkflowEnvironment.from_client(dev_server)
    handles: list[WorkflowHandle] = [
        await start(env, dev_worker.task_queue) for _ in range(2)
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


def _upserts(history: WorkflowHistory) -> list[dict[str, Any]]:
    """What each UpsertWorkflowSearchAttributes event set, in order, decoded (an unset
    attribute is None)."""
    found = []
    for event in history.events:
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes
            found.append({
                name: json.loads(payload.data) if payload.data else None
                for name, payload in fields.search_attributes.indexed_fields.items()
            })
    return found


def _stages(history: WorkflowHistory) -> list[str]:
    return [u[STAGE.name] for u in _upserts(history) if STAGE.name in u]


async def test_a_request_started_with_its_first_stage_does_not_upsert_it(
    dev_server: Client, dev_worker: Worker
) -> None:
    """`app.submissions.start` gives the workflow its first stage: the Web UI lists it as
    submitted before a worker has picked it up, and the workflow spends no upsert on it."""
    env = WorkflowEnvironment.from_client(dev_server)
    first_day = (await today(env)) + timedelta(days=120)
    bare = await start(env, dev_worker.task_queue, first_day=first_day)
    inp = make_input(f"req-{uuid.uuid4().hex[:10]}", first_day)
    submitted = await submissions.start(dev_server, inp, dev_worker.task_queue)
    for handle in (bare, submitted):
        await wait_stage(handle, Stage.awaiting_documents)
    assert _stages(await bare.fetch_history()) == ["submitted", "awaiting_documents"]
    upserts = _upserts(await submitted.fetch_history())
    assert [u.get(STAGE.name) for u in upserts] == [None, "awaiting_documents"]
    # The other one is the versions' single marker (workflows/versions.py).
    assert upserts[0] == {"TemporalChangeVersion": [versions.BASELINE]}
    for handle in (bare, submitted):
        await handle.terminate("test over")


async def test_a_permit_is_started_in_its_first_stage_and_does_not_upsert_it(
    dev_server: Client, dev_worker: Worker
) -> None:
    """The permit child gets its first stage at its start too (`at_start`): a permit out of
    the district begins awaiting the other district's endorsement (EC 46600(a)(3))."""
    env = WorkflowEnvironment.from_client(dev_server)
    handle = await start(env, dev_worker.task_queue)
    await supply_documents(handle)
    await wait_stage(handle, Stage.under_review)
    approved = await handle.execute_update(
        P.decide, Decide(actor=DIRECTOR, outcome=Outcome.approve)
    )
    assert approved.permit_id
    permit = dev_server.get_workflow_handle(approved.permit_id)
    issued = await wait_stage(permit, PermitStage.awaiting_endorsement,
                              query=PermitWorkflow.status)
    assert issued.events  # its first stage is entered and recorded
    described = await permit.describe()
    assert described.typed_search_attributes.get(STAGE) == "awaiting_endorsement"
    upserts = _upserts(await permit.fetch_history())
    # The versions' marker, then one upsert that says something new: the endorsement's due
    # date (its stage came with the start).
    assert upserts[0] == {"TemporalChangeVersion": [versions.BASELINE]}
    assert len(upserts) == 2 and issued.endorsement_due is not None
    ends = calendar.end_of_day(issued.endorsement_due, "America/Los_Angeles")
    assert upserts[1]["TransferDecisionDue"] == ends.isoformat()  # the due day's end
    await permit.terminate("test over")
