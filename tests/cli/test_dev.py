"""`transfers dev` (`make run`), the embedded default: the dev server persisted in the data
folder, the search attributes registered, a worker on the default event loop, notices in the
outbox; Ctrl-C stops the worker and the server."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.e2e import BIN, Stack, district_toml, local_today
from tests.support.ports import free_port, is_open
from tests.support.servers import Inbox
from tests.support.waiting import until


def _sent(cli: Stack, request_id: str) -> list[dict] | None:
    """The request's notices once the receipt and the missing-documents notice are sent."""
    notices = cli.json("notices", request_id)
    kinds = {n["kind"] for n in notices if n["status"] == "sent"}
    return notices if kinds >= {"receipt", "missing_documents"} else None


@pytest.mark.e2e
def test_dev_runs_the_embedded_default_until_ctrl_c(tmp_path: Path) -> None:
    today = local_today()
    (tmp_path / "districts").mkdir()
    (tmp_path / "districts" / "testdistrict.toml").write_text(district_toml(today))
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("TEMPORAL_", "TRANSFERS_"))}
    env |= {"TRANSFERS_DATA_DIR": str(tmp_path / "data"),
            "TRANSFERS_DISTRICTS_DIR": str(tmp_path / "districts")}
    port, ui_port = free_port(), free_port()
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        dev = subprocess.Popen(
            [str(BIN / "transfers"), "dev", "--port", str(port), "--ui-port", str(ui_port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        until("the worker is polling", lambda: "worker polling" in log.read_text(), 60)
        assert "on the uvloop event loop" in log.read_text()
        assert (tmp_path / "data" / "temporal.sqlite").exists()  # persisted, in the data folder

        cli = Stack({**env, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}"}, Inbox(), tmp_path,
                    f"{today.year}-{today.year + 1}")
        request_id = cli.submit("S-DEV-1")  # waits for awaiting_documents: the worker ran it
        # Listed by stage: the search attributes `dev` registered are in use.
        listed = cli.run("list", "--stage", "awaiting_documents").stdout
        assert request_id in listed
        notices = until("the receipt and the missing-documents notice",
                        lambda: _sent(cli, request_id), 30)
        # No SMTP host: the embedded default delivers to the outbox folder.
        assert len(list((tmp_path / "data" / "outbox").rglob("*.eml"))) == len(notices)
        # Student data is readable by the service's user only: folders 0700, files 0600.
        data = tmp_path / "data"
        assert data.stat().st_mode & 0o777 == 0o700
        for path in data.rglob("*"):
            assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path

        dev.send_signal(signal.SIGINT)
        assert dev.wait(timeout=60) == 0, log.read_text()[-2000:]
        assert "stopped the worker and the Temporal dev server" in log.read_text()
        until("the dev server is gone", lambda: not is_open(port), 30)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(timeout=30)
