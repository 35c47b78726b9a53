"""`transfers show` and `transfers list` start fast (issue 17: under 0.6 s): they read the
records store only, so they never import Temporal's SDK, the workflows, Alembic or the
sign-in provider's client (docs/cross-cutting.md "Settings"). Checked in a process of its
own running the real command, so an eager import anywhere on their path fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main
from typer.main import get_command_name

from bench.cli_startup import fill, sign_in
from cli.main import app, only
from models.within_request import WithinStage
from tests.cli.test_within import stored
from tests.support.databases import made_store

# What a read need not pay for: each costs a tenth of a second or more to import.
HEAVY = ("temporalio", "alembic", "authlib", "joserfc", "httpx", "jinja2", "workflows",
         "activities", "uvloop")

RUN = """
import json, sys
from cli.main import app
try:
    status = app(sys.argv[1:], standalone_mode=False)  # an Exit's code is returned
except SystemExit as exit_:
    status = exit_.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(HEAVY)))
print(json.dumps({"status": status, "heavy": heavy}), file=sys.stderr)
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str], dict[str, str]]:
    """A small store with a staff member signed in: the ids of an interdistrict request and
    of a within-district one in its lottery, and the environment the commands run with."""
    for name in list(os.environ):
        if name.startswith(("TRANSFERS_", "TEMPORAL_")) and name != "TRANSFERS_WORKFLOW_SANDBOX":
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    ids = {"id": fill(3)}
    ids["within"] = stored(made_store(), WithinStage.in_lottery)
    sign_in(tmp_path / "data" / "outbox")
    return ids, {**os.environ, "HEAVY": json.dumps(HEAVY)}


def _imported(args: list[str], env: dict[str, str], status: int = 0) -> list[str]:
    """The heavy packages ``transfers <args>`` imported, run to its end in a process."""
    done = subprocess.run([sys.executable, "-c", f"import os; HEAVY = os.environ['HEAVY']\n{RUN}",
                           *args], env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert (report["status"] or 0) == status, done.stderr
    return report["heavy"]


@pytest.mark.parametrize("command", [["show", "{id}"], ["list"], ["show", "{id}", "--json"],
                                     ["list", "--open", "--json"], ["show", "{within}"]])
def test_show_and_list_import_no_temporal_sdk(
    store: tuple[dict[str, str], dict[str, str]], command: list[str]
) -> None:
    ids, env = store
    args = [part.format(**ids) for part in command]
    assert _imported(args, env) == []


def test_the_check_sees_what_a_command_imports(
    store: tuple[dict[str, str], dict[str, str]],
) -> None:
    """The check above would see an eager import: signing in with the provider needs its
    client (refused here, no provider being set, after the import)."""
    _, env = store
    assert {"authlib", "httpx"} <= set(_imported(["login", "--oidc"], env, status=1))


def _names(typer_app: typer.Typer) -> list[str]:
    return sorted([c.name or get_command_name(c.callback.__name__)
                   for c in typer_app.registered_commands if c.callback is not None]
                  + [g.name for g in typer_app.registered_groups if g.name])


def test_a_command_line_builds_only_the_command_it_names() -> None:
    """`cli.main.only`: each command or group alone, with the options the whole app gives it
    and the door (`door`) still in front; anything else is the whole app."""
    whole = typer.main.get_group(app)
    for name in _names(app):
        narrowed = only(app, [name, "--help"])
        assert _names(narrowed) == [name]
        assert narrowed.registered_callback is app.registered_callback
        alone = typer.main.get_group(narrowed).commands[name]
        assert [p.name for p in alone.params] == [p.name for p in whole.commands[name].params]
    for first in ([], ["--help"], ["shw"], [""]):
        assert only(app, first) is app
