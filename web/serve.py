"""Serving the fronts with uvicorn: `transfers web` and `transfers portal`, `python -m web
[--portal]` (which `transfers dev` starts beside the worker)."""

from __future__ import annotations

import argparse
import gc

import uvicorn
from fastapi import FastAPI

from app import context
from web.app import create_app, create_portal


def _settled(front: FastAPI) -> FastAPI:
    """``front``, in a process that serves it: its settings read once (`app.context.fix_settings`),
    and everything it loaded set aside from the
    garbage collector (``gc.freeze``): the collector's full passes went through all of it
    again and paused the pages under way. The status page's p99, 50 parents at once, was
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
    (uvicorn's supervisor starts them; the sessions and everything else they share are in
    the records store, so any of them answers any browser). No access log: a line per page
    would name nothing but request ids, and the records store keeps who did what."""
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, not {workers}")
    factory = "web.serve:served_portal" if portal else "web.serve:served_console"
    uvicorn.run(factory, factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="warning", server_header=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m web", description=serve.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--portal", action="store_true", help="the parent portal")
    parser.add_argument("--workers", type=int, default=1, help="processes (1)")
    options = parser.parse_args(argv)
    if options.workers < 1:
        parser.error(f"--workers must be 1 or more, not {options.workers}")
    serve(options.host, options.port, options.portal, options.workers)
