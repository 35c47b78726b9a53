"""`transfers portal --workers N` and `transfers web --workers N` (web/serve.py): several
processes answer on one port, each a whole front over the shared records store."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
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


def _listening_on(port: int) -> int:
    """How many sockets listen on ``port`` (IPv4, from the kernel's table)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[3] == "0A"  # LISTEN
               and int(row.split()[1].rsplit(":", 1)[1], 16) == port)


def _sockets_of(pid: int) -> int:
    return sum(1 for fd in Path(f"/proc/{pid}/fd").iterdir()
               if os.readlink(fd).startswith("socket:"))


def test_each_process_listens_on_its_own_socket_and_parents_arriving_together_are_shared(
    tmp_path: Path,
) -> None:
    """uvicorn's own supervisor shares one socket, whose first process awake accepts every
    connection waiting: fifty parents arriving together went 38 to one process and 12 to
    the other, for as long as they kept their connections (bench/portal.py). Here each
    process has a socket of its own, and the kernel spreads the connections."""
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    make_engine(url).dispose()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TRANSFERS_DATABASE_URL": url,
           "TRANSFERS_DATA_DIR": str(tmp_path / "data")}
    with front("portal", env, tmp_path / "front.log", "--workers", "2") as address:
        port = int(address.rsplit(":", 1)[1])
        supervisor = _command_with(["transfers", "portal", str(port)])
        until("two processes, each listening", lambda: len(_serving(supervisor)) == 2
              and _listening_on(port) == 2, every=0.1)
        before = {pid: _sockets_of(pid) for pid in _serving(supervisor)}
        clients = [httpx.Client(base_url=address, timeout=30) for _ in range(20)]
        try:
            with ThreadPoolExecutor(20) as pool:  # twenty parents at once, each kept open
                assert set(pool.map(lambda c: c.get("/policy").status_code, clients)) == {200}
            taken = {pid: _sockets_of(pid) - count for pid, count in before.items()}
            assert sum(taken.values()) == 20
            assert all(count >= 1 for count in taken.values()), taken
        finally:
            for client in clients:
                client.close()


def test_a_second_server_on_the_same_port_is_refused(tmp_path: Path) -> None:
    """Sockets that share a port would share it with another server started there too; it
    is refused, as one socket's bind would be."""
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    make_engine(url).dispose()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TRANSFERS_DATABASE_URL": url,
           "TRANSFERS_DATA_DIR": str(tmp_path / "data")}
    with front("portal", env, tmp_path / "front.log", "--workers", "2") as address:
        port = address.rsplit(":", 1)[1]
        again = subprocess.run([str(BIN / "transfers"), "portal", "--port", port,
                                "--workers", "2"], capture_output=True, text=True, timeout=120,
                               env=env)
        assert again.returncode != 0
        assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in again.stderr


def test_no_workers_is_refused_by_name(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "transfers"), "portal", "--workers", "0"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200",
                               "TRANSFERS_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 2
    assert "Invalid value for '--workers': Input should be greater than or equal to 1" in (
        done.stderr)
