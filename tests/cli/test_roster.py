"""`transfers roster import` (cli/roster.py): a realistic OneRoster export imported by a
signed-in staff member, what it says (counts, never a name), the same export again changing
nothing, and a refused export exiting 1 with the file, line and field; and what `transfers
show` says of the roster's check at intake. The records store is SQLite in tmp_path; no
Temporal server is needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from cli.main import app
from cli.roster import roster_lines
from districts import load_within_district
from models.roster import RosterCheck, RosterDifference
from models.stages import Stage
from tests.support.reports import interdistrict, write
from tests.support.roster import Export, line_of, set_cell, table_rows, write_export
from tests.support.signin import cli_store

runner = CliRunner()
MILLARD = load_within_district("millard")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    engine = cli_store(tmp_path, monkeypatch)
    yield engine
    engine.dispose()


@pytest.fixture
def export(tmp_path: Path) -> Export:
    return write_export(tmp_path / "export", MILLARD, families=150, seed=5)


def roster(*args: str) -> Result:
    return runner.invoke(app, ["roster", "import", *args])


def test_an_export_is_imported_and_again_changes_nothing(store: Engine, export: Export) -> None:
    people = export.student_count + export.guardian_count
    result = roster(str(export.folder), "--school-year", "2026-2027", "--actor", "olsen")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"roster of millard (2026-2027): {people} added, "
                                    "0 updated, 0 gone, 0 unchanged")
    assert f"now {export.student_count} students, {export.guardian_count} guardians" in (
        result.stdout)
    for family in export.families:  # counts only: no address, no student id
        assert family.emails[0] not in result.stdout
        assert family.student_ids[0] not in result.stdout
    again = roster(str(export.folder), "--school-year", "2026-2027", "--actor", "olsen",
                   "--json")
    assert again.exit_code == 0, again.stderr
    data = json.loads(again.stdout)
    assert (data["changed"], data["unchanged"], data["district"]) == (False, people, "millard")


def test_a_refused_export_exits_1_naming_file_line_and_field(
    store: Engine, export: Export
) -> None:
    users = export.folder / "users.csv"
    line = line_of(users, "identifier", export.families[2].student_ids[0])
    set_cell(users, line, "familyName", "@SUM(A1)")
    result = roster(str(export.folder), "--actor", "olsen")
    assert result.exit_code == 1
    assert result.stderr == (f"error: users.csv line {line}, familyName: begins with '@', as a "
                             "spreadsheet formula does: refused\n")
    assert table_rows(store)["roster_people"] == []


def test_a_staff_member_without_the_role_is_refused(store: Engine, export: Export) -> None:
    result = roster(str(export.folder), "--actor", "rivera")
    assert result.exit_code == 1
    assert "may not import the roster" in result.stderr


def test_show_says_what_intake_found_in_the_roster() -> None:
    check = RosterCheck(known=True, roster_school_year="2026-2027", differences=[
        RosterDifference(field="student.grade", form="4", roster="3"),
        RosterDifference(field="student.last_name", form="Else", roster="Berg"),
    ])
    assert roster_lines(check) == [
        "roster: known (2026-2027)",
        "roster differs: student.grade: form 4, roster 3 (roster's taken)",
        "roster differs: student.last_name: form Else, roster Berg",
    ]
    new = roster_lines(RosterCheck(known=False, note="the district's roster does not know"))
    assert new == ["roster: the district's roster does not know"]
    assert roster_lines(None) == []


def test_show_prints_the_rosters_check_of_a_stored_request(store: Engine) -> None:
    check = RosterCheck(known=True, roster_school_year="2026-2027", differences=[
        RosterDifference(field="student.grade", form="4", roster="5")])
    state = interdistrict("paramount-2027-2028-out-r1", Stage.under_review, 1)
    state = state.model_copy(update={"request": state.request.model_copy(
        update={"roster": check})})
    write(store, state)
    result = runner.invoke(app, ["show", state.id])
    assert result.exit_code == 0, result.stderr
    assert "roster: known (2026-2027)\n" in result.stdout
    assert "roster differs: student.grade: form 4, roster 5 (roster's taken)\n" in result.stdout
    shown = runner.invoke(app, ["show", state.id, "--json"])
    assert json.loads(shown.stdout)["request"]["roster"]["differences"] == [
        {"field": "student.grade", "form": "4", "roster": "5"}]


def test_the_example_export_of_the_walkthrough_imports(store: Engine) -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "roster"
    result = roster(str(folder), "--actor", "avalos", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["district"], data["students"], data["guardians"]) == ("paramount", 23, 20)
