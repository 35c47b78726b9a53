"""The container's health probe (Dockerfile HEALTHCHECK): exit 0 when healthy, 1 otherwise.

- no argument: the worker's readiness probe, ``GET /healthz`` on ``TRANSFERS_HEALTH_PORT``
  (200 while it polls, 503 otherwise);
- ``--tcp PORT``: the port accepts connections (the codec server).

Standard library only, so the slim image needs no curl."""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request


def check(argv: list[str]) -> str | None:
    """None when healthy, else why not."""
    if argv[:1] == ["--tcp"] and len(argv) == 2:
        try:
            socket.create_connection(("127.0.0.1", int(argv[1])), timeout=3).close()
        except OSError as error:
            return f"port {argv[1]}: {error}"
        return None
    if argv:
        return "usage: healthcheck.py [--tcp PORT]"
    port = os.environ.get("TRANSFERS_HEALTH_PORT")
    if not port:
        return "TRANSFERS_HEALTH_PORT is not set: the worker serves no readiness probe"
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (loopback)
            return None if response.status == 200 else f"{url}: {response.status}"
    except urllib.error.HTTPError as error:  # 503: not polling
        return f"{url}: {error.code}"
    except OSError as error:
        return f"{url}: {error}"


if __name__ == "__main__":
    problem = check(sys.argv[1:])
    if problem:
        print(problem, file=sys.stderr)
    sys.exit(1 if problem else 0)
