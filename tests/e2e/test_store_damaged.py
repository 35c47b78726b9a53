"""A records store damaged under running requests (the trust issue's finding 7;
docs/cross-cutting.md "A damaged records store"): a worker refuses to work on it, saying
what happened, and the CLI says the store cannot be read instead of a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.e2e import BIN, Stack

pytestmark = pytest.mark.e2e


def transfers(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "transfers"), *args], env=stack.env, capture_output=True,
                          text=True, timeout=120)


def test_a_damaged_store_is_refused_by_the_worker_and_the_cli(tmp_path: Path) -> None:
    with Stack.of_test_district(tmp_path) as stack:
        if stack.env.get("TRANSFERS_DATABASE_URL"):
            pytest.skip("PostgreSQL keeps its own pages; this is the SQLite store's file")
        request_id = stack.submit("DAMAGED-1")
        assert stack.processes is not None
        for worker in stack.processes.workers:
            stack.processes.kill_worker(worker)
        store = tmp_path / "data" / "records.sqlite3"
        for path in (tmp_path / "data").glob("records.sqlite3-*"):
            path.unlink()
        store.write_bytes(os.urandom(store.stat().st_size or 8192))
        started = transfers(stack, "worker")
        assert started.returncode == 1, started.stderr
        assert "records.sqlite3) is damaged" in started.stderr
        assert "restore it from its backup" in started.stderr
        shown = transfers(stack, "show", request_id)
        assert shown.returncode == 1
        assert "the records store cannot be read" in shown.stderr
        assert "Traceback" not in shown.stderr
