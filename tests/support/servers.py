"""The servers the tests run: Temporal's time-skipping test server (in process), the Temporal
dev server as a process, and an SMTP server on loopback (aiosmtpd) with a handler that keeps
what it accepts."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from infra.codec import DATA_CONVERTER
from infra.search_attributes import register
from infra.settings import find_binary
from tests.support.ports import free_port, wait_for_port
from tests.support.proofs import front_signer


@contextlib.asynccontextmanager
async def time_skipping_server(
    data_converter: DataConverter = DATA_CONVERTER,
) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of its own, with the search attributes registered; its
    client signs what it sends as the tests' front, at the server's time."""
    signer = front_signer()
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        data_converter=data_converter, interceptors=[signer],
        # The SDK waits 5 s for the server to listen: a busy CI machine (two shared cores)
        # sometimes needed more, and the test failed before it began.
        test_server_startup_timeout=timedelta(seconds=60),
    )
    signer.clock = environment.get_current_time
    try:
        await register(environment.client)
        yield environment
    finally:
        await environment.shutdown()


def dev_server_command(port: int, database: Path | None = None,
                       flags: Sequence[str] = ()) -> list[str]:
    """`temporal server start-dev` on loopback ``port``, headless, persisted to ``database``
    (a SQLite file) or in memory, with ``flags`` added."""
    persisted = ["--db-filename", str(database)] if database is not None else []
    return [
        find_binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(port), *persisted, *flags, "--log-level", "error",
    ]


def start_process(command: Sequence[str], **options: Any) -> subprocess.Popen:
    """A server process in a session of its own, its output discarded unless redirected."""
    return subprocess.Popen(
        list(command), **{"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
                          "start_new_session": True, **options},
    )


def stop_process(process: subprocess.Popen, seconds: float = 30) -> None:
    """Terminate, and kill what does not end within ``seconds``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


@contextlib.contextmanager
def dev_server(database: Path | None = None, flags: Sequence[str] = ()) -> Iterator[str]:
    """A Temporal dev server process (see ``dev_server_command``) until exit; yields its
    address once it listens."""
    port = free_port()
    server = start_process(dev_server_command(port, database, flags))
    try:
        wait_for_port(port, what="the dev server to open its port")
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(server)


class Inbox:
    """An aiosmtpd handler that keeps what it accepts, refuses for good (550) the addresses in
    ``refused``, as a mail server refuses an unknown mailbox, and for now (451, "try again
    later") those in ``deferred``, as a busy or greylisting one does."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.refused: set[str] = set()
        self.deferred: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        if address in self.deferred:
            return "451 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if m["To"] == address]


@contextlib.contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """An SMTP server on a free loopback port with ``handler`` (an ``Inbox``, or a test's
    own) until exit; yields the port."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
