"""`transfers dev` (`make run`), the embedded default: the dev server persisted in the data
folder, the search attributes registered, a worker on the default event loop, notices in the
outbox; Ctrl-C stops the worker and the server."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.e2e import BIN, Stack, district_toml, local_today
from tests.support.ports import free_port, is_open
from tests.support.servers import Inbox
from tests.support.signin import sign_in_roster
from tests.support.waiting import until


def _environment(tmp_path: Path) -> dict[str, str]:
    """The test district in ``tmp_path``, and an environment naming no other server or store."""
    (tmp_path / "districts").mkdir()
    (tmp_path / "districts" / "testdistrict.toml").write_text(district_toml(local_today()))
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("TEMPORAL_", "TRANSFERS_"))}
    return env | {"TRANSFERS_DATA_DIR": str(tmp_path / "data"),
                  "TRANSFERS_DISTRICTS_DIR": str(tmp_path / "districts"),
                  "XDG_CONFIG_HOME": str(tmp_path / "config")}  # the settings file's folder


@dataclass
class Dev:
    """`transfers dev` as its own process, its output in ``log``."""

    process: subprocess.Popen
    port: int
    log: Path
    web_port: int
    portal_port: int

    def said(self) -> str:
        return self.log.read_text()


@contextlib.contextmanager
def dev_running(tmp_path: Path, env: dict[str, str]) -> Iterator[Dev]:
    """`transfers dev` on free ports, once its worker polls; killed at the end if still up."""
    port, ui_port, web_port, portal_port = free_port(), free_port(), free_port(), free_port()
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "transfers"), "dev", "--port", str(port), "--ui-port", str(ui_port),
             "--web-port", str(web_port), "--portal-port", str(portal_port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    dev = Dev(process, port, log, web_port, portal_port)
    try:
        until("the worker is polling", lambda: "worker polling" in dev.said(), 60)
        sign_in_roster(env)  # codes to the outbox, as `make run` sends them
        yield dev
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _sent(cli: Stack, request_id: str) -> list[dict] | None:
    """The request's notices once the receipt and the missing-documents notice are sent."""
    notices = cli.json("notices", request_id)
    kinds = {n["kind"] for n in notices if n["status"] == "sent"}
    return notices if kinds >= {"receipt", "missing_documents"} else None


@pytest.mark.e2e
def test_dev_runs_the_embedded_default_until_ctrl_c(tmp_path: Path) -> None:
    today = local_today()
    env = _environment(tmp_path)
    with dev_running(tmp_path, env) as dev:
        assert "on the uvloop event loop" in dev.said()
        # The staff console beside them, where `dev` says it is.
        assert f"the staff console on http://127.0.0.1:{dev.web_port}" in dev.said()
        until("the console to answer", lambda: is_open(dev.web_port), 60, every=0.1)
        signin = httpx.get(f"http://127.0.0.1:{dev.web_port}/signin", timeout=10)
        assert signin.status_code == 200 and "Send me a code" in signin.text
        # And the parent portal, a front of its own.
        assert f"the parent portal on http://127.0.0.1:{dev.portal_port}" in dev.said()
        until("the portal to answer", lambda: is_open(dev.portal_port), 60, every=0.1)
        home = httpx.get(f"http://127.0.0.1:{dev.portal_port}/", timeout=10)
        assert home.status_code == 200 and "School transfer requests" in home.text
        assert (tmp_path / "data" / "temporal.sqlite").exists()  # persisted, in the data folder

        # Secure by default: a key of the data folder's own, made on the first start, 0600.
        key_file = tmp_path / "data" / "encryption.keys"
        assert "made an encryption key" in dev.said()
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert re.fullmatch(r"dev-\d{8}:[A-Za-z0-9+/]{43}=\n", key_file.read_text())

        cli = Stack({**env, "TEMPORAL_ADDRESS": f"127.0.0.1:{dev.port}"}, Inbox(), tmp_path,
                    f"{today.year}-{today.year + 1}")
        # Waits for awaiting_documents: the worker ran it. The CLI, with no key set, uses the
        # data folder's, as the worker does (a plaintext start would have been refused), and
        # reads back what the worker sealed.
        request_id = cli.submit("S-DEV-1", student={"first_name": "Esperanza",
                                                    "last_name": "Quintanilla"})
        assert cli.json("show", request_id)["request"]["student"]["last_name"] == "Quintanilla"
        # Listed by stage: the search attributes `dev` registered are in use.
        listed = cli.run("list", "--stage", "awaiting_documents").stdout
        assert request_id in listed
        # dev wrote the data folder it uses into the settings file: a later command, from
        # another folder and without TRANSFERS_DATA_DIR, finds the same store.
        config = tmp_path / "config" / "transfers" / "config.toml"
        assert tomllib.loads(config.read_text())["data_dir"] == str(tmp_path / "data")
        assert f"settings: {config} now names the data folder" in dev.said()
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        later = subprocess.run(
            [str(BIN / "transfers"), "show", request_id, "--json"], cwd=elsewhere,
            env={k: v for k, v in cli.env.items() if k != "TRANSFERS_DATA_DIR"},
            capture_output=True, text=True, timeout=120)
        assert later.returncode == 0, later.stderr
        assert json.loads(later.stdout)["id"] == request_id
        assert list(elsewhere.iterdir()) == []
        notices = until("the receipt and the missing-documents notice",
                        lambda: _sent(cli, request_id), 30)
        # No SMTP host: the embedded default delivers to the outbox folder (with the staff's
        # sign-in codes).
        mail = [p for p in (tmp_path / "data" / "outbox").rglob("*.eml")
                if not p.name.startswith("sign-in-")]
        assert len(mail) == len(notices)
        # Temporal's database (and its write-ahead log) holds ciphertext only.
        held = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("temporal.sqlite*"))
        assert b"Quintanilla" not in held and b"Esperanza" not in held
        assert b"S-DEV-1" not in held  # nor the student id
        # Student data is readable by the service's user only: folders 0700, files 0600.
        data = tmp_path / "data"
        assert data.stat().st_mode & 0o777 == 0o700
        for path in data.rglob("*"):
            assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path

        dev.process.send_signal(signal.SIGINT)
        assert dev.process.wait(timeout=60) == 0, dev.said()[-2000:]
        assert "stopped the worker and the Temporal dev server" in dev.said()
        until("the console to stop", lambda: not is_open(dev.web_port), 30, every=0.1)
        until("the portal to stop", lambda: not is_open(dev.portal_port), 30, every=0.1)
        until("the dev server is gone", lambda: not is_open(dev.port), 30)


@pytest.mark.e2e
@pytest.mark.parametrize("option", ["--port", "--ui-port"])
def test_dev_refuses_a_port_another_process_holds(tmp_path: Path, option: str) -> None:
    """Another process on the port: the dev server could not start, and the worker would
    reach the other process instead. Refused before anything starts or is written."""
    env = _environment(tmp_path)
    ports = {"--port": free_port(), "--ui-port": free_port()}
    with socket.socket() as other:
        other.bind(("127.0.0.1", ports[option]))
        other.listen()
        result = subprocess.run(
            [str(BIN / "transfers"), "dev", *(str(a) for pair in ports.items() for a in pair)],
            env=env, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert f"port {ports[option]} is in use by another process" in result.stderr
    assert f"choose another with {option}" in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.e2e
def test_dev_stops_and_says_so_when_its_server_dies(tmp_path: Path) -> None:
    with dev_running(tmp_path, _environment(tmp_path)) as dev:
        pid = dev.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        (server,) = [int(c) for c in children
                     if "temporal" in Path(f"/proc/{c}/cmdline").read_text()]
        os.kill(server, signal.SIGKILL)
        assert dev.process.wait(timeout=60) == 1, dev.said()[-2000:]
        assert "the Temporal dev server stopped" in dev.said()
        assert "the worker stopped with it" in dev.said()
