"""Serving the fronts with uvicorn: `transfers web` and `transfers portal`, `python -m web
[--portal]` (which `transfers dev` starts beside the worker)."""

from __future__ import annotations

import argparse

import uvicorn

from web.app import create_app, create_portal


def serve(host: str = "127.0.0.1", port: int = 8000, portal: bool = False) -> None:
    """The console (or the portal) on ``host:port`` until Ctrl-C. No access log: a line per
    page would name nothing but request ids, and the records store keeps who did what."""
    uvicorn.run(create_portal() if portal else create_app(), host=host, port=port,
                access_log=False, log_level="warning", server_header=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m web", description=serve.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--portal", action="store_true", help="the parent portal")
    options = parser.parse_args(argv)
    serve(options.host, options.port, options.portal)
