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
from dataclasses import dataclass
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
    env: dict[str, str]
    inbox: Inbox


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the dev server did not open its port")


@contextlib.contextmanager
def running(tmp: Path, database_url: str | None, persisted: bool = True) -> Iterator[Running]:
    """SMTP, the dev server (its SQLite file in ``tmp``, or in memory) and a worker, with the
    records in ``database_url`` (None: SQLite in the data folder); torn down on exit."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    store = ["--db-filename", str(tmp / "temporal.sqlite")] if persisted else []
    server = subprocess.Popen(
        [find_binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
         "--port", str(port), *store, *dev_server_flags(), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "TRANSFERS_DATA_DIR": str(tmp / "data"),
        "TRANSFERS_DISTRICTS_DIR": str(tmp / "districts"),
        "TRANSFERS_SMTP_HOST": "127.0.0.1",
        "TRANSFERS_SMTP_PORT": str(smtp.port),
    }
    env.pop("TRANSFERS_DATABASE_URL", None)
    if database_url is not None:
        env["TRANSFERS_DATABASE_URL"] = database_url
    worker = None
    try:
        _wait_for_port(port)
        worker = subprocess.Popen(
            [str(BIN / "transfers"), "worker"], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=(tmp / "worker.log").open("w"),
        )
        yield Running(env, inbox)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)
        smtp.stop()
