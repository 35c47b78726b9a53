"""`transfers audit verify` (docs/cross-cutting.md "Proofs"): every staff entry of a request's
trail carries a proof that holds, and a row edited, emptied or removed in the records store
is named by its sequence number."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, update
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from app import audit, context
from cli.main import app
from infra.settings import Settings
from infra.signing import ProofSigner
from models.actions import Decide
from models.decisions import Outcome
from store.schema import EventRow
from tests.support.factories import DIRECTOR, make_input
from tests.support.interdistrict import to_under_review
from tests.support.proofs import acting_for, trusting_tests
from tests.support.signin import sign_in_roster
from tests.support.workflows import today
from worker import build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W


@dataclass
class Decided:
    handle: WorkflowHandle
    engine: Engine
    decision: int  # the decision's entry


@pytest.fixture
async def decided(private_env: WorkflowEnvironment, settings: Settings,
                  monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Decided]:
    """A request decided by a front that signs with the deployment's key, and the CLI's
    environment pointed at its server and records store."""
    target = private_env.client.service_client.config.target_host
    monkeypatch.setenv("TEMPORAL_ADDRESS", target)
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRANSFERS_DATABASE_URL", settings.database_url)
    for name in ("TRANSFERS_DISTRICTS_DIR", "TRANSFERS_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    front = Client(**{**private_env.client.config(),
                      "interceptors": [ProofSigner(context.signing_key, acting=acting_for)]})
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(private_env.client, settings, executor,
                                trusting_tests(settings)):
            first = (await today(private_env)) + timedelta(days=120)
            inp = make_input(f"req-{uuid.uuid4().hex[:10]}", first)
            handle = await front.start_workflow(W.run, inp, id=inp.id,
                                                task_queue=settings.task_queue)
            await to_under_review(handle)
            state = await handle.execute_update(W.decide, Decide(actor=DIRECTOR,
                                                                 outcome=Outcome.approve))
            decision = next(e.seq for e in state.history if e.event == "approved")
            sign_in_roster(os.environ)
            yield Decided(handle, context.engine(), decision)  # approved: the run has ended


async def test_an_untouched_trail_holds(decided: Decided) -> None:
    report = await audit.verify(decided.handle.id)
    assert report.holds, report.problems
    assert report.compared and report.signed >= 2  # the documents and the decision


async def test_an_edited_actor_fails_its_proof_and_the_comparison(decided: Decided) -> None:
    with decided.engine.begin() as connection:
        connection.execute(update(EventRow).where(
            EventRow.request_id == decided.handle.id, EventRow.seq == decided.decision,
        ).values(actor="mallory"))
    report = await audit.verify(decided.handle.id)
    assert f"entry {decided.decision} (approved): its proof was signed for 'nguyen', " \
           "not 'mallory'" in report.problems
    assert any(p.startswith(f"entry {decided.decision} (approved) differs") and "actor" in p
               for p in report.problems)


async def test_a_removed_proof_or_entry_is_named(decided: Decided) -> None:
    with decided.engine.begin() as connection:
        connection.execute(update(EventRow).where(
            EventRow.request_id == decided.handle.id, EventRow.seq == decided.decision,
        ).values(proof=None))
        connection.execute(delete(EventRow).where(EventRow.request_id == decided.handle.id,
                                                  EventRow.seq == 1))
    result = await asyncio.to_thread(CliRunner().invoke, app,
                                     ["audit", "verify", decided.handle.id])
    assert result.exit_code == 1, result.stderr
    assert f"entry {decided.decision} (approved) differs from the workflow's in proof" \
        in result.stdout
    assert "entry 1 (submitted) is missing from the store" in result.stdout
