"""Shared fixtures: the time-skipping test server, a worker with the real activities on a
temporary SQLite store and outbox, and the records store on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.settings import Settings, load_settings
from store.engine import make_engine
from tests.support.databases import backends, postgres_url, throwaway_schema
from tests.support.proofs import trusting_tests
from tests.support.servers import time_skipping_server
from worker import build_worker

# Every worker the tests start (here and as processes, which inherit the environment) runs
# the workflows in the SDK's sandbox, so a clock, randomness or I/O in workflow code fails
# the suite even though production workers run without it (worker.workflow_runner).
os.environ.setdefault("TRANSFERS_WORKFLOW_SANDBOX", "on")
# The user's settings file (infra/config_file.py) is never the tests' to read or write: every
# process of the suite looks for it in a folder of the session's own, empty unless a test
# writes there (`transfers dev` does). Tests name their stores through the environment.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="transfers-tests-config-")


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as environment:
        yield environment


@pytest.fixture
async def private_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own: for tests that end with workflows signalling
    each other mid-flight, or that move the clock by years."""
    async with time_skipping_server() as environment:
        yield environment


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = load_settings()
    return replace(
        base,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'records.sqlite3'}",
        smtp_host=None,
        task_queue=f"tq-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


@pytest.fixture
async def worker(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        running = build_worker(env.client, settings, executor, trusting_tests(settings))
        async with running:
            yield running


@pytest.fixture(params=backends())
def store_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The records store on SQLite always, and on PostgreSQL (a schema of its own) when
    TRANSFERS_TEST_DATABASE_URL is set (CI sets it and fails if it is unreachable)."""
    if request.param == "sqlite":
        yield make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        return
    with throwaway_schema("t") as schema:
        engine = make_engine(str(postgres_url()), schema=schema)
        yield engine
        engine.dispose()


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # The SDK's native bridge can crash the interpreter at exit after the work is done
    # (PyGILState_Release; temporalio/sdk-python#300). Leave with the tests' own status.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
