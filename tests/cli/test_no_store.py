"""The CLI never creates a records database (issue 17; docs/cross-cutting.md "Settings"): only
the worker, `transfers dev` and `transfers db upgrade` make one. Any other command that finds
none says where it looked and what to do, exits 1, and leaves no folder and no file behind;
signing in too. Run from a folder without a store, the CLI says so instead of showing an
empty one; with the settings file naming the data folder, it finds the store from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from cli.main import app
from store.engine import NoStore, existing_engine, make_engine
from tests.support.databases import backends, postgres_url, throwaway_schema, with_search_path
from tests.support.signin import sign_in_roster

BIN = Path(sys.executable).parent
ID = "paramount-2026-2027-out-0123456789ab"
PERMIT = "PERMIT-paramount-0123456789ab"
CLEAN = ("TRANSFERS_", "TEMPORAL_")

# Every kind of command a staff member runs: reads, actions, sign-in and sign-out, the keys.
COMMANDS = [
    ["list"], ["list", "--open", "--json"], ["show", ID], ["notices"], ["audit", "verify", ID],
    ["decide", ID, "--approve"], ["submit", "examples/request-out.json"],
    ["permit", "list"], ["permit", "show", PERMIT], ["lottery", "show", "millard", "2027-2028"],
    ["login", "nguyen@paramount.example.org"],
    ["login", "nguyen@paramount.example.org", "--code", "12345678"], ["login", "--oidc"],
    ["logout"], ["db", "rotate-key"], ["db", "rebuild"],
]


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder that does not exist, named by the environment; the settings file none."""
    for name in list(os.environ):
        if name.startswith(CLEAN) and name != "TRANSFERS_WORKFLOW_SANDBOX":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing is to be reached
    return tmp_path


def _tree(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_command_without_a_store_says_so_and_creates_nothing(
    nowhere: Path, command: list[str]
) -> None:
    before = _tree(nowhere)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1, result.output
    where = nowhere / "data" / "records.sqlite3"
    assert f"error: no records store at {where}: start `transfers dev`" in result.stderr
    assert "TRANSFERS_DATA_DIR / the config file" in result.stderr
    assert "Traceback" not in result.output
    assert _tree(nowhere) == before  # no folder, no file: not even the data folder


def test_db_current_looks_without_creating_and_db_upgrade_makes_the_store(nowhere: Path) -> None:
    runner = CliRunner()
    current = runner.invoke(app, ["db", "current"])
    assert current.exit_code == 1 and "no records database at" in current.stdout
    assert not (nowhere / "data").exists()
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert (nowhere / "data" / "records.sqlite3").is_file()
    # The store is there: the next refusal is about signing in, not the store.
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 1 and "not signed in" in listed.stderr


@pytest.mark.parametrize("backend", backends())
def test_a_database_without_the_stores_tables_is_no_store(tmp_path: Path, backend: str) -> None:
    """An empty SQLite file, or a PostgreSQL schema without the tables: refused, and left
    without tables; once made (the worker's way), opened as it is."""
    if backend == "sqlite":
        file = tmp_path / "records.sqlite3"
        file.touch()
        url = f"sqlite:///{file}"
        _no_store_then_made(url)
        return
    with throwaway_schema("nostore") as schema:
        _no_store_then_made(with_search_path(str(postgres_url()), schema))


def _no_store_then_made(url: str) -> None:
    with pytest.raises(NoStore):
        existing_engine(url)
    made = make_engine(url)
    try:
        with made.connect() as connection:
            assert "alembic_version" in inspect(connection).get_table_names()
        assert existing_engine(url).url == made.url
    finally:
        made.dispose()
        existing_engine(url).dispose()


def _transfers(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "transfers"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_from_another_folder_the_settings_file_finds_the_store(nowhere: Path) -> None:
    """The issue's case, as a staff member meets it: a command run from another folder."""
    elsewhere = nowhere / "elsewhere"
    elsewhere.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith(CLEAN)}
    env["XDG_CONFIG_HOME"] = str(nowhere / "config")

    # No variable, no file: the current folder's ./.transfers, which has no store.
    lost = _transfers(["list"], elsewhere, env)
    assert lost.returncode == 1
    assert f"no records store at {elsewhere / '.transfers' / 'records.sqlite3'}" in lost.stderr
    assert list(elsewhere.iterdir()) == []  # no empty database in its place

    # The data folder `transfers dev` used, written in the settings file (as dev writes it),
    # with a store and a staff member signed in: found from any folder.
    sign_in_roster({**env, "TRANSFERS_DATA_DIR": str(nowhere / "data")})
    config = nowhere / "config" / "transfers" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'data_dir = "{nowhere / "data"}"\n')
    for folder in (elsewhere, Path("/")):
        found = _transfers(["list", "--json"], folder, env)
        assert found.returncode == 0, found.stderr
        assert found.stdout.strip() == "[]"
    assert list(elsewhere.iterdir()) == []
