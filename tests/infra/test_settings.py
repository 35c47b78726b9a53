"""One settings source whatever the current folder (issue 17; docs/cross-cutting.md
"Settings"): each setting from its variable, else from the user's settings file, else its
default; a bad file refused with its path and the problem; `transfers dev`'s data folder
written there, the file's other settings kept."""

from __future__ import annotations

import contextvars
import os
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app import context
from app.errors import Refused
from cli.main import app
from infra.codec import key_file
from infra.config_file import ConfigFileError, config_path, read_config, remember_data_dir
from infra.datadir import data_dir_of
from infra.settings import load_settings
from store.engine import make_engine

SETTINGS = ("TRANSFERS_DATA_DIR", "TRANSFERS_DATABASE_URL", "TRANSFERS_DISTRICTS_DIR",
            "TRANSFERS_SMTP_HOST", "TRANSFERS_SMTP_PORT", "TRANSFERS_TASK_QUEUE")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user whose settings file is ``<tmp>/config/transfers/config.toml``, with no setting
    in the environment, working in a folder of their own."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


def _write(home: Path, text: str) -> Path:
    path = home / "config" / "transfers" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_file_is_under_xdg_config_home_or_dot_config() -> None:
    assert config_path({"XDG_CONFIG_HOME": "/etc/x", "HOME": "/home/a"}) == Path(
        "/etc/x/transfers/config.toml")
    assert config_path({"HOME": "/home/a"}) == Path("/home/a/.config/transfers/config.toml")
    # The XDG rule: a relative XDG_CONFIG_HOME is ignored.
    assert config_path({"XDG_CONFIG_HOME": "rel", "HOME": "/home/a"}) == Path(
        "/home/a/.config/transfers/config.toml")


def test_without_variable_or_file_the_data_folder_is_the_current_ones(home: Path) -> None:
    assert load_settings(sealing=False).data_dir == home / "work" / ".transfers"
    assert not config_path().exists()


def test_the_environment_wins_over_the_file_and_the_file_over_the_defaults(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(home, f'data_dir = "{home / "filed"}"\nsmtp_port = 2525\ntask_queue = "q-file"\n')
    settings = load_settings(sealing=False)
    assert settings.data_dir == home / "filed"  # not ./.transfers of the current folder
    assert settings.database_url == f"sqlite:///{home / 'filed' / 'records.sqlite3'}"
    assert (settings.smtp_port, settings.task_queue) == (2525, "q-file")
    assert settings.smtp_host is None  # neither says: the default
    assert data_dir_of() == home / "filed"  # the key file's folder agrees with the settings
    assert key_file() == home / "filed" / "encryption.keys"

    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(home / "env"))
    monkeypatch.setenv("TRANSFERS_SMTP_PORT", "25")
    monkeypatch.setenv("TRANSFERS_TASK_QUEUE", "")  # empty: unset, the file's
    settings = load_settings(sealing=False)
    assert settings.data_dir == home / "env"
    assert (settings.smtp_port, settings.task_queue) == (25, "q-file")
    assert data_dir_of() == home / "env"


def test_the_same_settings_from_any_folder(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(home, 'data_dir = "~/transfers-data"\n')
    monkeypatch.setenv("HOME", str(home))
    found = set()
    for folder in (home / "work", home, Path("/")):
        monkeypatch.chdir(folder)
        found.add(load_settings(sealing=False).data_dir)
    assert found == {home / "transfers-data"}


@pytest.mark.parametrize(("text", "problem"), [
    ("data_dir = /no/quotes\n", "not TOML"),
    ("data_dri = \"/srv/transfers\"\n", "unknown setting 'data_dri'"),
    ("[data_dir]\npath = \"/srv\"\n", "data_dir must be a non-empty string"),
    ("data_dir = 7\n", "data_dir must be a non-empty string, not 7"),
    ("data_dir = \"relative/data\"\n", "data_dir must be an absolute path"),
    ("smtp_port = \"25\"\n", "smtp_port must be an integer, not '25'"),
    ("smtp_port = true\n", "smtp_port must be an integer, not True"),
    ("database_url = \"\"\n", "database_url must be a non-empty string"),
])
def test_a_bad_file_is_refused_with_its_path_and_the_problem(
    home: Path, text: str, problem: str
) -> None:
    path = _write(home, text)
    with pytest.raises(ConfigFileError) as refused:
        load_settings(sealing=False)
    assert str(refused.value).startswith(f"{path}: ")
    assert problem in str(refused.value)
    with pytest.raises(Refused, match=problem):  # a front says so, not a traceback
        context.settings()


def test_a_bad_file_stops_a_command_and_changes_nothing(home: Path) -> None:
    path = _write(home, "data_dir = [\n")
    before = sorted(home.rglob("*"))
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 1
    assert f"{path}: not TOML" in result.output
    assert sorted(home.rglob("*")) == before


def test_a_variable_set_spares_a_reading_of_the_data_folder(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key file's folder, named by the variable, is found even when the file is bad."""
    _write(home, "not = [toml\n")
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(home / "env"))
    assert data_dir_of() == home / "env"


def test_dev_remembers_its_data_folder_and_keeps_the_other_settings(home: Path) -> None:
    path = _write(home, 'smtp_host = "mail.example.org"\nsmtp_port = 587\n')
    said = remember_data_dir(home / "work" / ".transfers")
    assert said is not None and str(path) in said and str(home / "work" / ".transfers") in said
    assert tomllib.loads(path.read_text()) == {
        "smtp_host": "mail.example.org", "smtp_port": 587,
        "data_dir": str(home / "work" / ".transfers"),
    }
    assert path.stat().st_mode & 0o777 == 0o600
    assert remember_data_dir(home / "work" / ".transfers") is None  # said already: untouched
    moved = remember_data_dir(home / "elsewhere")
    assert moved is not None and f"it said {home / 'work' / '.transfers'}" in moved
    assert load_settings(sealing=False).data_dir == home / "elsewhere"


def test_a_data_folder_of_any_name_is_written_as_toml(home: Path) -> None:
    odd = home / 'quote " back \\ tab \t del \x7f accent é'
    remember_data_dir(odd)
    assert read_config()["TRANSFERS_DATA_DIR"] == str(odd)
    assert load_settings(sealing=False).data_dir == odd


def test_a_new_settings_folder_is_private(home: Path) -> None:
    remember_data_dir(home / "data")
    assert config_path().parent.stat().st_mode & 0o777 == 0o700
    assert os.listdir(config_path().parent) == ["config.toml"]  # no temporary file left


@pytest.mark.parametrize(("value", "taken"), [
    (None, "http://127.0.0.1:8001"),
    ("https://transfers.paramount.k12.ca.us/", "https://transfers.paramount.k12.ca.us"),
])
def test_the_portals_address_is_set_once_for_every_notice(
    home: Path, value: str | None, taken: str
) -> None:
    environ = {"HOME": str(home)} | ({"TRANSFERS_PORTAL_URL": value} if value else {})
    assert load_settings(environ, sealing=False).portal_url == taken


@pytest.mark.parametrize("value", ["javascript:alert(1)", "portal.example.org", "https://",
                                   "https://a b.example.org"])
def test_a_portal_address_that_is_no_web_address_is_refused_by_name(
    home: Path, value: str
) -> None:
    with pytest.raises(ValueError, match="TRANSFERS_PORTAL_URL must be an http"):
        load_settings({"HOME": str(home), "TRANSFERS_PORTAL_URL": value}, sealing=False)


def test_a_changed_variable_is_read_again_except_within_read_once(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`app.context.settings` reads again when a variable changes; within `read_once` (a
    front's page) it keeps the settings it first read there, in the threads the page starts
    too; settings that cannot be read are not kept and refuse each time, as without."""
    monkeypatch.setenv("TRANSFERS_TASK_QUEUE", "first")
    assert context.settings().task_queue == "first"
    monkeypatch.setenv("TRANSFERS_TASK_QUEUE", "second")
    assert context.settings().task_queue == "second"
    with context.read_once():
        with ThreadPoolExecutor(1) as pool:  # the page's thread reads them first
            seen = pool.submit(contextvars.copy_context().run,
                               lambda: context.settings().task_queue).result()
        monkeypatch.setenv("TRANSFERS_TASK_QUEUE", "third")
        assert seen == "second" and context.settings().task_queue == "second"
    assert context.settings().task_queue == "third"
    monkeypatch.setenv("TRANSFERS_SMTP_PORT", "many")
    with context.read_once():
        for _ in range(2):
            with pytest.raises(Refused, match="TRANSFERS_SMTP_PORT"):
                context.settings()


def test_within_read_once_a_removed_store_is_seen_by_the_next_page(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine is kept for the page that found the store, not for the next one."""
    url = f"sqlite:///{home / 'records.sqlite3'}"
    monkeypatch.setenv("TRANSFERS_DATABASE_URL", url)
    make_engine(url).dispose()
    with context.read_once():
        found = context.engine()
        (home / "records.sqlite3").unlink()
        assert context.engine() is found
    with context.read_once(), pytest.raises(Refused, match="no records store"):
        context.engine()


def test_a_served_fronts_settings_are_read_once_at_its_start(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`app.context.fix_settings` (web/serve.py, in each process that serves pages): later
    changes take a restart, as for any server; settings that cannot be read at the start are
    not fixed, and each use refuses naming the problem."""
    monkeypatch.setattr(context, "_FIXED", [])
    monkeypatch.setenv("TRANSFERS_SMTP_PORT", "many")
    context.fix_settings()
    with pytest.raises(Refused, match="TRANSFERS_SMTP_PORT"):
        context.settings()
    monkeypatch.setenv("TRANSFERS_SMTP_PORT", "2525")
    monkeypatch.setenv("TRANSFERS_TASK_QUEUE", "at-start")
    context.fix_settings()
    monkeypatch.setenv("TRANSFERS_TASK_QUEUE", "later")
    assert context.settings().task_queue == "at-start"
    with context.read_once():
        assert context.settings().task_queue == "at-start"
