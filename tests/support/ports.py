"""Loopback ports: a free one to listen on, a closed one to fail against, and waiting for a
process to open one."""

from __future__ import annotations

import socket

from tests.support.waiting import until


def free_port() -> int:
    """A port nothing listens on now, for a server the test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on, for a client that must fail to connect (a TEMPORAL_ADDRESS
    the CLI cannot reach)."""
    return free_port()


def is_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, seconds: float = 60, what: str = "") -> None:
    """Until something listens on ``port`` (a server process starting)."""
    until(what or f"something to listen on port {port}", lambda: is_open(port), seconds,
          every=0.1)
