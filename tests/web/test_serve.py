"""`transfers portal --workers N` and `transfers web --workers N` (web/serve.py): several
processes answer on one port, each a whole front over the shared records store."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from store.engine import make_engine
from tests.support.browser import BIN, front
from tests.support.waiting import until

pytestmark = pytest.mark.e2e


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def _command_with(words: list[str]) -> int:
    """The process whose command line holds each of ``words``."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if all(word in line for word in words):
                return int(entry.name)
    raise AssertionError(f"no process runs {' '.join(words)}")


def _serving(pid: int) -> set[int]:
    """The processes under uvicorn's supervisor that serve pages (Python's multiprocessing
    adds a resource tracker of its own, which serves nothing)."""
    return {child for child in _children(pid)
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()}


@pytest.mark.parametrize("command", ["portal", "web"])
def test_two_workers_answer_on_one_port(tmp_path: Path, command: str) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    make_engine(url).dispose()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TRANSFERS_DATABASE_URL": url,
           "TRANSFERS_DATA_DIR": str(tmp_path / "data")}
    page = "/policy" if command == "portal" else "/signin"
    with front(command, env, tmp_path / "front.log", "--workers", "2") as address:
        supervisor = _command_with(["transfers", command, address.rsplit(":", 1)[1]])
        until("two workers", lambda: len(_serving(supervisor)) == 2, every=0.1)
        for _ in range(10):  # a connection each: either worker may take it
            with httpx.Client(base_url=address, timeout=30) as http:
                assert http.get(page).status_code == 200


def test_no_workers_is_refused_by_name(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "transfers"), "portal", "--workers", "0"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200",
                               "TRANSFERS_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 2
    assert "Invalid value for '--workers': Input should be greater than or equal to 1" in (
        done.stderr)
