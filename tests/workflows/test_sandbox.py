"""Production workers run the workflows without the SDK's sandbox (worker.workflow_runner);
what the sandbox guards is guarded by the suite (every worker it starts is sandboxed) and by
ruff's ban of the clock, randomness and I/O in workflows/, models/ and rules/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from infra.settings import load_settings
from tests.support.paths import ROOT
from worker import workflow_runner

RUFF = Path(sys.executable).parent / "ruff"

NONDETERMINISTIC = """\
import random
import uuid
from datetime import date, datetime


def stamp() -> str:
    print(date.today())
    return f"{datetime.now()} {random.random()} {uuid.uuid4()}"
"""


def ruff_codes(path: str, source: str) -> list[str]:
    """The rule codes ruff reports for ``source`` as if it were the project's ``path``."""
    result = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--output-format", "concise", "--stdin-filename",
         path, "-"],
        input=source, capture_output=True, text=True, cwd=ROOT, check=False,
    )
    return [
        line.split(": ", 1)[1].split()[0] for line in result.stdout.splitlines()
        if line.startswith(path)
    ]


@pytest.mark.parametrize("path", ["workflows/stamp.py", "models/stamp.py", "rules/stamp.py"])
def test_ruff_bans_clock_randomness_and_print_in_workflow_code(path: str) -> None:
    codes = ruff_codes(path, NONDETERMINISTIC)
    # random, uuid.uuid4, datetime.now, date.today; and print.
    assert codes.count("TID251") == 4, codes
    assert "T201" in codes


def test_ruff_bans_io_modules_in_workflow_code() -> None:
    source = "import os\nimport smtplib\n\nfrom store import records\n\nx = os, smtplib, records\n"
    assert ruff_codes("workflows/io.py", source).count("TID251") == 3


def test_the_ban_is_for_workflow_code_only() -> None:
    assert ruff_codes("activities/stamp.py", NONDETERMINISTIC) == []


def test_the_runner_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSFERS_WORKFLOW_SANDBOX", raising=False)
    assert load_settings().workflow_sandbox is False  # production's default
    monkeypatch.setenv("TRANSFERS_WORKFLOW_SANDBOX", "on")
    assert load_settings().workflow_sandbox is True
    assert isinstance(workflow_runner(True), SandboxedWorkflowRunner)
    assert isinstance(workflow_runner(False), UnsandboxedWorkflowRunner)


def test_a_bad_sandbox_setting_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERS_WORKFLOW_SANDBOX", "yes")
    with pytest.raises(ValueError, match="TRANSFERS_WORKFLOW_SANDBOX must be one of off, on"):
        load_settings()


def test_the_suite_runs_its_workers_sandboxed() -> None:
    # tests/conftest.py: every worker of the suite, in-process or a process it starts.
    assert load_settings().workflow_sandbox is True


BUILT = """
from models.base import Model
import worker

def unbuilt():
    found, pending = [], list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        found += [model.__name__] if not model.__pydantic_complete__ else []
    return found

before = unbuilt()
worker.workflow_runner(True)
print(len(before), unbuilt())
"""


def test_models_build_when_used_and_a_worker_builds_them_before_any_workflow() -> None:
    """models/base.py: importing the models builds no validator (what a command does not use
    it does not pay for); `worker.workflow_runner` builds them all, so no workflow task does."""
    done = subprocess.run([sys.executable, "-c", BUILT], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    deferred, left = done.stdout.split(maxsplit=1)
    assert int(deferred) > 50 and left.strip() == "[]"
