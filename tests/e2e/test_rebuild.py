"""Records you can lose (docs/cross-cutting.md "Records you can lose"): the records store
rebuilt from the workflows of a real Temporal dev server (the time-skipping server lists no
workflows), with a real worker; on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from app import context, requests
from app.errors import Refused
from app.principal import Principal
from app.rebuild import rebuild_store
from app.requests import DocumentUpload
from app.submissions import prepare_within_form, submit_form
from cli.main import app as cli
from infra.search_attributes import dev_server_flags
from intake.ids import ID_KEY
from models.decisions import Outcome
from store import made
from store.engine import engine_for
from store.rebuild import Snapshot, snapshot
from tests.e2e.test_within import DISTRICT as SHARED_WITHIN
from tests.e2e.test_within import TZ, form, next_year_district
from tests.support.databases import (
    backends,
    made_store,
    postgres_url,
    throwaway_schema,
    with_search_path,
)
from tests.support.e2e import district_toml, local_today
from tests.support.factories import request_data
from tests.support.paths import ROOT
from tests.support.ports import free_port
from tests.support.servers import dev_server
from tests.support.waiting import eventually
from tests.support.workflows import quiescent
from worker import WORKFLOWS, build_worker, run_worker

CLERK, DIRECTOR, OLSEN = Principal("clerk"), Principal("director"), Principal("olsen")
PDF = ROOT / "examples" / "pay-stub.pdf"
# Compared whole after a rebuild; notices and secrets only in part (what Temporal holds).
WHOLE = ("request", "audit entry", "permit", "lottery")


@pytest.fixture(scope="module")
def temporal() -> Iterator[str]:
    with dev_server(flags=dev_server_flags()) as address:
        yield address


@pytest.fixture(params=backends())
def store_url(
    request: pytest.FixtureRequest, temporal: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """The environment the app layer and the worker read: the dev server, a task queue and
    a data folder of the test's own, and the records store's URL (SQLite or PostgreSQL)."""
    today = local_today()
    districts = tmp_path / "districts"
    districts.mkdir()
    (districts / "testdistrict.toml").write_text(district_toml(today))
    closes = datetime.now(TZ).replace(microsecond=0) + timedelta(days=30)
    within, _ = next_year_district(closes)
    # A district of the test's own: its lottery's workflow id is the district's and year's.
    within_id = f"w{uuid.uuid4().hex[:8]}"
    (districts / f"{within_id}.toml").write_text(within.replace(
        f'id = "{SHARED_WITHIN}"', f'id = "{within_id}"'))
    monkeypatch.setenv("REBUILD_TEST_WITHIN", within_id)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal)
    monkeypatch.setenv("TRANSFERS_TASK_QUEUE", f"rebuild-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRANSFERS_DISTRICTS_DIR", str(districts))
    monkeypatch.delenv("TRANSFERS_SMTP_HOST", raising=False)
    monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
    # The store made first, as `transfers db upgrade` or a worker makes it: a front never does.
    if request.param == "sqlite":
        made_store()
        yield f"sqlite:///{tmp_path / 'data' / 'records.sqlite3'}"
        return
    with throwaway_schema("rebuild") as schema:
        url = with_search_path(str(postgres_url()), schema)
        monkeypatch.setenv("TRANSFERS_DATABASE_URL", url)
        made_store()
        yield url
        engine_for(url).dispose()


@contextlib.asynccontextmanager
async def a_worker() -> AsyncIterator[None]:
    """The project's worker, in this process, on the environment's settings."""
    client = await context.client()
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(client, context.settings(), executor):
            yield


def lose(url: str) -> None:
    """The records store gone: the SQLite file removed, or PostgreSQL's tables dropped."""
    engine = engine_for(url)
    if engine.dialect.name == "sqlite":
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(str(engine.url.database) + suffix).unlink(missing_ok=True)
    else:
        with engine.begin() as connection:
            names = connection.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )).scalars().all()
            for name in names:
                connection.execute(text(f'DROP TABLE "{name}" CASCADE'))
        engine.dispose()
    engine_for.cache_clear()  # the next open makes a new store, as a restarted process would


async def worker_starts() -> None:
    """`run_worker` gets past its checks and polls (its readiness answers 200); then stops."""
    port = free_port()
    settings = replace(context.settings(), health_port=port)
    task = asyncio.create_task(run_worker(settings, await context.client()))

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    async def up() -> bool:
        return task.done() or await asyncio.to_thread(ready)

    try:
        await eventually(up, what="the worker to poll")
        assert not task.done(), task.exception()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def settled(engine: Engine) -> None:
    """Every workflow of the task queue has nothing in flight, so the store holds it all."""
    client = await context.client()
    query = made.visibility_query(WORKFLOWS, context.settings().task_queue)

    async def all_quiet() -> bool:
        found = [e async for e in client.list_workflows(query)]
        quiet = [await quiescent(client.get_workflow_handle(e.id, run_id=e.run_id))
                 for e in found]
        return len(found) >= 5 and all(quiet)

    await eventually(all_quiet, what="the workflows to settle")


def year_of(today: Any) -> str:
    return f"{today.year}-{today.year + 1}"


async def stages_taken(engine: Engine) -> dict[str, str]:
    """Requests through a few stages: documents, a decision and its permit; a withdrawal;
    a within-district request in its lottery. Their ids by what they are."""
    year = year_of(local_today())
    approved = await submit_form(request_data(district="testdistrict", school_year=year,
                                              student={"id": "R1"}), CLERK)
    withdrawn = await submit_form(request_data(district="testdistrict", school_year=year,
                                               student={"id": "R2"}), CLERK)
    closes = datetime.now(TZ) + timedelta(days=30)
    config = context.within_district(os.environ["REBUILD_TEST_WITHIN"])
    within = prepare_within_form(form(1, f"{closes.year}-{closes.year + 1}", config.id),
                                 "form", config, OLSEN)
    await within.start(await context.client())
    state = await eventually(lambda: _state(approved.id),
                             lambda s: s is not None and s.stage == "awaiting_documents",
                             what="the first request to ask for its documents")
    uploads = [DocumentUpload(PDF, kind, f"{kind.value}.pdf")
               for kind in state.missing_documents]
    await requests.add_documents(approved.id, uploads, CLERK)
    await requests.decide(approved.id, DIRECTOR, Outcome.approve, [])
    await eventually(lambda: _state(withdrawn.id), what="the second request's record")
    await requests.withdraw(withdrawn.id, CLERK, note="moved away")
    await settled(engine)
    return {"approved": approved.id, "withdrawn": withdrawn.id, "within": within.id}


def _state(request_id: str) -> Any:
    with contextlib.suppress(Exception):
        return requests.get(request_id)
    return None


def open_claims(rows: Snapshot) -> dict[tuple, str]:
    """The claims of open requests, and by which: those of closed ones give way anyway."""
    open_ids = {r["id"] for r in rows["request"].values() if r["is_open"]}
    return {key: c["request_id"] for key, c in rows["claim"].items()
            if c["request_id"] in open_ids}


def same_notices(before: Snapshot, after: Snapshot) -> list[str]:
    """The notices whose text Temporal holds (all but receipts) as they were."""
    kept = ("request_id", "kind", "recipients", "subject", "body", "status", "language")
    wrong = []
    for key, row in before["notice"].items():
        if row["kind"] in ("receipt", "within_receipt"):
            continue
        again = after["notice"].get(key)
        if again is None or any(again[c] != row[c] for c in kept):
            wrong.append(key[0])
    return wrong


async def test_a_lost_store_is_refused_and_rebuilt_as_it_was(store_url: str) -> None:
    engine = context.engine()
    async with a_worker():
        ids = await stages_taken(engine)
    held = await asyncio.to_thread(snapshot, engine)
    assert held["permit"] and held["claim"]  # a lottery is written at its draw, not before

    # Intact: nothing to say, nothing changed.
    report = await rebuild_store()
    assert report.differences == [] and report.unreadable == [], report.lines()
    assert "no differences" in report.lines()[0]
    assert await asyncio.to_thread(snapshot, engine) == held

    # Lost: a worker refuses the new, empty store while older workflows exist.
    earliest = min(r["received_at"] for r in held["request"].values())
    await eventually(lambda: datetime.now(UTC) > earliest + made.SKEW + timedelta(seconds=1),
                     what="the workflows to be older than the clocks' skew")
    await asyncio.to_thread(lose, store_url)
    # A worker makes the store anew, empty, and refuses it (a front would not make it).
    with pytest.raises(made.StoreLost, match="transfers db rebuild"):
        await run_worker(context.worker_settings(), await context.client())
    engine = context.engine()

    report = await rebuild_store()
    rebuilt = await asyncio.to_thread(snapshot, engine)
    for what in WHOLE:
        assert rebuilt[what] == held[what], what
    assert same_notices(held, rebuilt) == []
    assert open_claims(rebuilt) == open_claims(held) != {}
    assert (ID_KEY,) not in rebuilt["secret"]
    text_ = "\n".join(report.lines())
    assert f"request {ids['approved']}: missing, rebuilt" in text_
    assert "key request ids are made with was lost" in text_
    assert "R1" not in text_ and "R2" not in text_  # no student ids in the report
    await worker_starts()


async def test_an_edited_row_is_reported_and_corrected(store_url: str) -> None:
    engine = context.engine()
    async with a_worker():
        ids = await stages_taken(engine)
    held = await asyncio.to_thread(snapshot, engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE requests SET stage = 'denied', last_seq = last_seq + 5 "
                                "WHERE id = :id"), {"id": ids["approved"]})
        connection.execute(text("DELETE FROM events WHERE request_id = :id AND seq = 1"),
                           {"id": ids["withdrawn"]})
        connection.execute(text("UPDATE permits SET school = 'elsewhere'"))
    # Through the command: `transfers db rebuild` prints each difference on a line.
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["db", "rebuild"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"request {ids['approved']}: differed in stage, last_seq, corrected" in lines
    assert f"audit entry {ids['withdrawn']} #1: missing, rebuilt" in lines
    assert any(line.startswith("permit PERMIT-") and "school" in line for line in lines)
    again = await asyncio.to_thread(snapshot, engine)
    for what in WHOLE:
        assert again[what] == held[what], what


async def test_a_first_submission_before_the_first_worker_is_not_refused(
    store_url: str,
) -> None:
    """The front does not wait for a worker that is not there; the first worker, started
    later, takes the store and the request, which is received when it was submitted (the
    run's start on the server), not when the worker first ran it."""
    year = year_of(local_today())
    prepared = await submit_form(request_data(district="testdistrict", school_year=year,
                                              student={"id": "F1"}), CLERK)
    submitted = datetime.now(UTC)
    await eventually(lambda: datetime.now(UTC) > submitted + timedelta(seconds=2),
                     what="the worker to come two seconds after the submission")
    await worker_starts()
    async with a_worker():
        shown = await eventually(lambda: requests.get(prepared.id),
                                 lambda request: request.stage == "awaiting_documents",
                                 what="the request to take its first stage",
                                 retry_on=(Refused,))
    assert shown.received_at <= submitted
