"""Serving the fronts with uvicorn: `transfers web` and `transfers portal`, `python -m web
[--portal]` (which `transfers dev` starts beside the worker)."""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn
from fastapi import FastAPI

from app import context
from app.errors import Refused
from web.app import create_app, create_portal


def _settled(front: FastAPI) -> FastAPI:
    """``front``, in a process that serves it: its settings read once
    (`app.context.fix_settings`), and everything it loaded set aside from the garbage
    collector (``gc.freeze``): the collector's full passes went through all of it again and
    paused the pages under way. The status page's p99, 50 parents at once, was
    173-222 ms with it against 287-340 without (bench/portal.py, in turns). Not in the
    factories the tests call: they build many fronts in one process."""
    context.fix_settings()
    gc.collect()
    gc.freeze()
    return front


def served_console() -> FastAPI:
    """`web.app.create_app` as `serve` runs it in each of its processes."""
    return _settled(create_app())


def served_portal() -> FastAPI:
    """`web.app.create_portal` as `serve` runs it in each of its processes."""
    return _settled(create_portal())


def serve(host: str = "127.0.0.1", port: int = 8000, portal: bool = False,
          workers: int = 1) -> None:
    """The console (or the portal) on ``host:port`` until Ctrl-C, in ``workers`` processes
    (`_Processes`; the sessions and everything else they share are in the records store, so
    any of them answers any browser). No access log: a line per page would name nothing but
    request ids, and the records store keeps who did what."""
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, not {workers}")
    if workers == 1:
        uvicorn.run(_factory(portal), factory=True, host=host, port=port, **_OPTIONS)
    else:
        _Processes(host, port, portal, workers).run()


_OPTIONS: dict[str, Any] = {"access_log": False, "log_level": "warning", "server_header": False}


def _factory(portal: bool) -> str:
    return "web.serve:served_portal" if portal else "web.serve:served_console"


def _listening(host: str, port: int) -> socket.socket:
    """A socket of its own on ``host:port``, one of several (``SO_REUSEPORT``): the kernel
    spreads the connections that arrive over them."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _free(host: str, port: int) -> None:
    """Refuses, as uvicorn would, when something already listens on ``host:port``."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise Refused(f"cannot listen on {host}:{port}: {error.strerror}") from None


# A process that exits sooner than this after its start failed to start (a bad setting, say):
# the others would fail the same way, so all stop with its message, not start it for ever.
_SETTLING = 5.0


def _serve_one(host: str, port: int, portal: bool) -> None:
    """One of `_Processes`: uvicorn on a socket of its own."""
    config = uvicorn.Config(_factory(portal), factory=True, host=host, port=port, **_OPTIONS)
    uvicorn.Server(config).run(sockets=[_listening(host, port)])


class _Processes:
    """``workers`` processes on one port, each listening on a socket of its own, started
    again if one exits; Ctrl-C (or SIGTERM) stops them all.

    Not uvicorn's supervisor: it shares one listening socket, and the first process awake
    accepts every connection waiting, up to 2,048 at once. Fifty parents arriving together
    went 38 to one process and 12 to the other, for as long as their browsers kept their
    connections open: one core full, the other half idle (bench/portal.py). Sockets of their
    own, the way nginx's ``reuseport`` does it, spread them evenly."""

    def __init__(self, host: str, port: int, portal: bool, workers: int) -> None:
        self.args, self.workers = (host, port, portal), workers
        self.context = multiprocessing.get_context("spawn")
        self.stopping = False

    def _start(self) -> BaseProcess:
        process = self.context.Process(target=_serve_one, args=self.args, daemon=False)
        process.start()
        return process

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def run(self) -> None:
        host, port, _ = self.args
        # Another server on the port (this one started twice, say) would share its
        # connections with this one's processes without a word: refuse as one socket would.
        _free(host, port)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        processes = [self._start() for _ in range(self.workers)]
        started = [time.monotonic()] * self.workers
        try:
            while not self.stopping:
                # Woken by a process's exit, or every second to see whether to stop.
                wait([p.sentinel for p in processes], timeout=1)
                for i, process in enumerate(processes):
                    if process.is_alive() or self.stopping:
                        continue
                    if time.monotonic() - started[i] < _SETTLING:
                        raise Refused(f"a process serving port {port} exited as it started "
                                      f"(exit code {process.exitcode}): its message is above")
                    processes[i], started[i] = self._start(), time.monotonic()
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn finishes the pages under way
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m web", description=serve.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--portal", action="store_true", help="the parent portal")
    parser.add_argument("--workers", type=int, default=1, help="processes (1)")
    options = parser.parse_args(argv)
    if options.workers < 1:
        parser.error(f"--workers must be 1 or more, not {options.workers}")
    try:
        serve(options.host, options.port, options.portal, options.workers)
    except Refused as refusal:
        parser.exit(1, f"error: {refusal}\n")
