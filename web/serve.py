"""Serving the fronts with uvicorn: `transfers web` and `transfers portal`, `python -m web
[--portal]` (which `transfers dev` starts beside the worker)."""

from __future__ import annotations

import argparse

import uvicorn


def serve(host: str = "127.0.0.1", port: int = 8000, portal: bool = False,
          workers: int = 1) -> None:
    """The console (or the portal) on ``host:port`` until Ctrl-C, in ``workers`` processes
    (uvicorn's supervisor starts them; the sessions and everything else they share are in
    the records store, so any of them answers any browser). No access log: a line per page
    would name nothing but request ids, and the records store keeps who did what."""
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, not {workers}")
    factory = "web.app:create_portal" if portal else "web.app:create_app"
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
