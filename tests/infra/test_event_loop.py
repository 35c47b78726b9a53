"""The worker's event loop (``TRANSFERS_EVENT_LOOP``): uvloop by default, Python's own on
request, and a wrong value or a missing uvloop refused by name. Every end-to-end test's
worker process runs on the default; tests/infra/test_observability.py reads it from its log."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import uvloop

from infra.settings import load_settings
from worker import event_loop_factory

TRANSFERS = Path(sys.executable).parent / "transfers"


def test_the_worker_runs_on_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSFERS_EVENT_LOOP", raising=False)
    factory = event_loop_factory(load_settings().event_loop)
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        loop.close()


def test_asyncio_is_pythons_own_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERS_EVENT_LOOP", "asyncio")
    assert load_settings().event_loop == "asyncio"
    assert event_loop_factory("asyncio") is None  # asyncio.Runner's default loop


def test_a_wrong_value_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERS_EVENT_LOOP", "trio")
    with pytest.raises(ValueError, match="TRANSFERS_EVENT_LOOP must be one of uvloop, asyncio, "
                                         "not 'trio'"):
        load_settings()


def test_uvloop_missing_names_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    with pytest.raises(ValueError, match="uvloop is not installed.*TRANSFERS_EVENT_LOOP=asyncio"):
        event_loop_factory("uvloop")


def test_the_cli_refuses_a_wrong_setting_without_a_traceback(tmp_path: Path) -> None:
    # Refused before anything starts: no server is needed to see it.
    result = subprocess.run(
        [str(TRANSFERS), "worker"], capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "TRANSFERS_DATA_DIR": str(tmp_path),
             "TRANSFERS_EVENT_LOOP": "fast"},
    )
    assert result.returncode == 1
    assert "TRANSFERS_EVENT_LOOP must be one of uvloop, asyncio, not 'fast'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "records.sqlite3").exists()  # nothing was created
