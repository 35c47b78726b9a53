"""`transfers export requests|placements` (cli/exports.py): the CSV to a file (private) or to
standard output, read back with the `csv` module; what could not be filled on standard error;
refusals with exit status 1. Staff sign in as they would; the records store is SQLite in
tmp_path, filled with states of known shape; no Temporal server is needed."""

from __future__ import annotations

import csv
import io
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from cli.main import app
from models.stages import Stage
from tests.support.reports import (
    YEAR,
    interdistrict,
    paramount_year,
    permit_of,
    write,
    write_permits,
)
from tests.support.signin import cli_store

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    engine = cli_store(tmp_path, monkeypatch)
    yield engine
    engine.dispose()


def export(*args: str) -> Result:
    return runner.invoke(app, ["export", *args])


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_placements_to_a_private_file_with_the_missing_code_on_stderr(
    store: Engine, tmp_path: Path,
) -> None:
    made = paramount_year(store)
    downey = interdistrict("paramount-2027-2028-into-k", Stage.approved, 11, direction="into",
                           assigned_school="gaines",
                           student={"first_name": "=1+2", "last_name": "Muñoz, Jr."})
    write(store, downey)
    write_permits(store, permit_of(made["b"]))
    out = tmp_path / "placements.csv"
    result = export("placements", "--district", "paramount", "--school-year", YEAR,
                    "--out", str(out), "--actor", "nguyen")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"3 rows written to {out}\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # student records: its owner's only
    assert result.stderr.startswith(f"warning: {downey.id}: no county-district code for "
                                    "'Downey Unified School District'")
    with out.open(newline="", encoding="utf-8") as file:
        rows = {r["request_id"]: r for r in csv.DictReader(file)}
    assert (rows[made["b"].id]["senr_1_30_student_school_transfer_code"],
            rows[made["b"].id]["senr_1_31_district_of_geographic_residence_code"]) == (
        "1", "1973437")
    assert (rows[downey.id]["student_first_name"], rows[downey.id]["student_last_name"]) == (
        "'=1+2", "Muñoz, Jr.")


def test_requests_to_standard_output(store: Engine) -> None:
    made = paramount_year(store)
    result = export("requests", "--district", "paramount", "--school-year", YEAR,
                    "--actor", "avalos")
    assert result.exit_code == 0, result.stderr
    assert [r["request_id"] for r in rows_of(result.stdout)] == [made[k].id for k in "abcdefg"]
    assert result.stderr == ""


@pytest.mark.parametrize("args, why", [
    (["requests", "--district", "paramount", "--school-year", YEAR, "--actor", "lacoe"],
     "lacoe (county_office) may not export student records"),
    (["placements", "--district", "millard", "--school-year", YEAR, "--actor", "avalos"],
     "'avalos' is not a staff member of millard"),
    (["requests", "--district", "nowhere", "--school-year", YEAR, "--actor", "avalos"],
     "unknown district 'nowhere'"),
    (["requests", "--district", "paramount", "--school-year", "2027-2029",
      "--actor", "avalos"], "'2027-2029' is not a school year"),
])
def test_a_refusal_exits_1_with_its_reason_and_writes_nothing(
    store: Engine, tmp_path: Path, args: list[str], why: str,
) -> None:
    out = tmp_path / "refused.csv"
    result = export(*args, "--out", str(out))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert why in result.stderr
    assert result.stdout == "" and not out.exists()
