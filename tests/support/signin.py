"""Signing staff in for the tests (docs/cross-cutting.md "Sign-in"), as each would: a code is
sent to their roster address (the stack's SMTP server, or the outbox) and read back from the
message, then redeemed; the session is kept in the data folder, where every `transfers` the
test runs finds it."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app import signin
from districts import list_districts, load_config
from models.district import DistrictBase
from store.engine import engine_for
from tests.support.databases import made_store

CODE = re.compile(r"sign-in code is (\d{8})")
_SETTINGS = ("TRANSFERS_DATA_DIR", "TRANSFERS_DISTRICTS_DIR", "TRANSFERS_DATABASE_URL",
             "TRANSFERS_SMTP_HOST", "TRANSFERS_SMTP_PORT")


@contextlib.contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """This process's settings as a stack's environment has them, until exit."""
    before = {name: os.environ.get(name) for name in _SETTINGS}
    for name in _SETTINGS:
        if name in env:
            os.environ[name] = env[name]
        else:
            os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def code_in(messages: list[Any], address: str) -> str:
    """The code of the newest sign-in message to ``address``."""
    for message in reversed(messages):
        if message["To"] == address and "sign-in code" in message["Subject"]:
            payload = message.get_payload(decode=True).decode()
            found = CODE.search(payload)
            if found:
                return found.group(1)
    raise AssertionError(f"no sign-in code was sent to {address}")


def outbox_messages(outbox: Path) -> list[Any]:
    files = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes()) for p in files]


def sign_in(address: str, inbox: Any | None = None) -> None:
    """Sign ``address`` in with the code sent to it, in this process's settings."""
    signin.send_code(address)
    if inbox is not None:
        messages = inbox.messages
    else:
        messages = outbox_messages(signin.context.settings().outbox_dir)
    signin.redeem(address, code_in(messages, address))


def sign_in_roster(env: Mapping[str, str], inbox: Any | None = None) -> list[str]:
    """Sign in every staff member of every district of a stack's (``env``); their
    addresses. The records store is made first if it is not there, as the worker or
    `transfers db upgrade` makes it: signing in never makes one."""
    with environment(env):
        made_store()
        where = signin.context.settings().districts_dir
        addresses = sorted({
            member.email for district in list_districts(where)
            for member in load_config(district, DistrictBase, where).staff
        })
        for address in addresses:
            sign_in(address, inbox)
    return addresses


def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The environment a CLI test's commands read (its data folder's SQLite store, no
    Temporal reachable), with the shipped districts' staff signed in; the store's engine."""
    from tests.support.ports import closed_port

    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{closed_port()}")
    for name in ("TRANSFERS_DISTRICTS_DIR", "TRANSFERS_DATABASE_URL", "TRANSFERS_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    sign_in_roster(os.environ)  # the shipped districts' staff, each with their own code
    return engine_for(f"sqlite:///{tmp_path / 'data' / 'records.sqlite3'}")
