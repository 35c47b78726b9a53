"""The end-to-end stack both e2e modules run: an SMTP server on loopback (aiosmtpd), the
Temporal dev server and the project's worker as real processes, and the environment the
`transfers` CLI runs with."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from search_attributes import dev_server_flags
from settings import find_binary

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class Running:
    """The running stack; the fault tests kill and restart its processes."""

    env: dict[str, str]
    inbox: Inbox
    tmp: Path
    server_command: list[str]
    server: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self, **extra_env: str) -> subprocess.Popen:
        """Another worker process on the same task queue; its log in ``worker-<n>.log``."""
        log = (self.tmp / f"worker-{len(self.workers)}.log").open("w")
        worker = subprocess.Popen(
            [str(BIN / "transfers"), "worker"], env={**self.env, **extra_env},
            start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
        )
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL: no clean shutdown, tasks in flight are lost to the server's timeouts."""
        worker.kill()
        worker.wait(timeout=30)

    def stop_server(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)

    def start_server(self) -> None:
        """Start the dev server again on the same port and SQLite file."""
        self.server = subprocess.Popen(
            self.server_command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_port(int(self.env["TEMPORAL_ADDRESS"].rsplit(":", 1)[1]))


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the dev server did not open its port")


@contextlib.contextmanager
def running(
    tmp: Path, database_url: str | None, persisted: bool = True, workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """SMTP, the dev server (its SQLite file in ``tmp``, or in memory) and ``workers`` worker
    processes, with the records in ``database_url`` (None: SQLite in the data folder) and
    ``extra_env`` for the CLI and the workers; torn down on exit."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    store = ["--db-filename", str(tmp / "temporal.sqlite")] if persisted else []
    command = [
        find_binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(port), *store, *dev_server_flags(), "--log-level", "error",
    ]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "TRANSFERS_DATA_DIR": str(tmp / "data"),
        "TRANSFERS_DISTRICTS_DIR": str(tmp / "districts"),
        "TRANSFERS_SMTP_HOST": "127.0.0.1",
        "TRANSFERS_SMTP_PORT": str(smtp.port),
        **(extra_env or {}),
    }
    env.pop("TRANSFERS_DATABASE_URL", None)
    if database_url is not None:
        env["TRANSFERS_DATABASE_URL"] = database_url
    stack = Running(env, inbox, tmp, command, server)
    try:
        _wait_for_port(port)
        for _ in range(workers):
            stack.start_worker()
        yield stack
    finally:
        for worker in stack.workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=30)
        if stack.server.poll() is None:
            stack.stop_server()
        smtp.stop()
