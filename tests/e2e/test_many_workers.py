"""Two worker processes on one task queue share the work, and nothing is done twice: every
request moves once through each stage, every record is written once, every notice arrives at
the SMTP server once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError

from infra.codec import DATA_CONVERTER
from models.actions import Decide
from models.decisions import Outcome
from models.people import Actor
from models.stages import Stage
from models.state import RequestState
from store.engine import open_engine
from store.notices import list_notices
from store.records import get_history
from tests.support.e2e import Stack
from tests.support.factories import document, request_data
from tests.support.proofs import stack_signer
from tests.support.waiting import eventually
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as P

pytestmark = pytest.mark.e2e

REQUESTS = 40
DIRECTOR = Actor(name="director", roles=["director"])
LOGS = {"TRANSFERS_LOG_FORMAT": "json"}


async def reach(handle: WorkflowHandle, stage: Stage) -> RequestState:
    return await eventually(lambda: handle.query(P.status), lambda s: s.stage is stage,
                            every=0.1, what=lambda s: f"{handle.id} is {s.stage}, not {stage}")


async def _approve_all(env: dict[str, str], ids: list[str]) -> list[RequestState]:
    client = await Client.connect(env["TEMPORAL_ADDRESS"], data_converter=DATA_CONVERTER,
                                  interceptors=[stack_signer(env)])
    gate = asyncio.Semaphore(8)

    async def update(handle: WorkflowHandle, name: str, action: object) -> RequestState:
        # A loaded machine can outlast the update RPC: the same update id is answered once.
        async def answer() -> RequestState | None:
            try:
                return await handle.execute_update(name, action, id=f"{handle.id}-{name}-"
                                                   f"{getattr(action, 'kind', '')}",
                                                   result_type=RequestState)
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                return None

        answered = await eventually(answer, lambda s: s is not None, seconds=300, every=0,
                                    what=f"{handle.id}: {name} not answered")
        assert answered is not None
        return answered

    async def approve(request_id: str) -> RequestState:
        async with gate:
            handle = client.get_workflow_handle(request_id)
            state = await reach(handle, Stage.awaiting_documents)  # after the receipt
            for kind in state.missing_documents:
                await update(handle, "add_document", document(kind))
            await reach(handle, Stage.under_review)  # the review begins after the Update
            return await update(handle, "decide", Decide(actor=DIRECTOR, outcome=Outcome.approve))

    return list(await asyncio.gather(*(approve(i) for i in ids)))


def test_two_workers_share_the_work_and_do_nothing_twice(tmp_path: Path) -> None:
    with Stack.of_test_district(tmp_path, workers=2, extra_env=LOGS) as stack:
        files = []
        for n in range(REQUESTS):
            path = tmp_path / f"form-{n}.json"
            form = request_data(district="testdistrict", school_year=stack.year,
                                student={"id": f"MW-{n:03}"})
            path.write_text(json.dumps(form))
            files.append(str(path))
        submitted = stack.json("submit", *files, "--actor", "clerk")
        ids = [r["id"] for r in submitted]
        assert len(set(ids)) == REQUESTS
        states = asyncio.run(_approve_all(stack.env, ids))
        assert [s.stage for s in states] == [Stage.approved] * REQUESTS

        # Both workers worked: each wrote records, and no record was written by both.
        sqlite = f"sqlite:///{tmp_path / 'data' / 'records.sqlite3'}"
        engine = open_engine(stack.env.get("TRANSFERS_DATABASE_URL") or sqlite)
        recorded: Counter[tuple[str, str]] = Counter()
        by_worker = []
        for n in range(2):
            lines = (tmp_path / f"worker-{n}.log").read_text().splitlines()
            mine = [json.loads(line) for line in lines if line.startswith("{")]
            events = [(e["request_id"], e["message"]) for e in mine
                      if e.get("message", "").startswith("recorded ")]
            by_worker.append(len(events))
            recorded.update(events)
        assert all(count > 0 for count in by_worker), by_worker
        assert set(recorded.values()) == {1}, recorded.most_common(3)

        for state in states:  # the store holds each workflow's history, each entry once
            stored = [(e.seq, e.event) for e in get_history(engine, state.id)]
            assert stored == [(h.seq, h.event) for h in state.history]
            notices = list_notices(engine, state.id)
            assert all(n.status == "sent" for n in notices)
        # Every notice reached the SMTP server exactly once.
        arrived = Counter(m["Message-ID"] for m in stack.inbox.messages
                          if "sign-in code" not in m["Subject"])
        assert len(arrived) == sum(len(list_notices(engine, i)) for i in ids)
        assert set(arrived.values()) == {1}

