"""The CSV exports (app/exports.py), read back with the `csv` module from a records store
filled with states of known shape: every request of a district's year, the placements for the
SIS with CALPADS SENR 1.30 and 1.31, formulas neutralised, accents and commas kept, and only
the staff who keep student records exporting, their own district's."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from app import exports
from app.errors import REFUSALS
from app.exports import PLACEMENT_COLUMNS, REQUEST_COLUMNS, Export, neutralised
from app.principal import Principal
from districts import load_district
from models.district import DistrictConfig
from models.stages import Stage
from models.within_request import WithinStage
from store.engine import engine_for
from tests.support.reports import (
    YEAR,
    interdistrict,
    paramount_year,
    permit_of,
    within,
    write,
    write_permits,
)

AVALOS = Principal("avalos")  # Paramount, pupil services
NGUYEN = Principal("nguyen")  # Paramount, director
OLSEN = Principal("olsen")  # Millard, student services


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The records store the application layer opens, from this environment."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(data))
    monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRANSFERS_DISTRICTS_DIR", raising=False)
    engine = engine_for(f"sqlite:///{data / 'records.sqlite3'}")
    yield engine
    engine.dispose()


def read(export: Export) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(export.text, newline="")))
    assert len(rows) == export.rows
    return rows


def header(export: Export) -> list[str]:
    return next(csv.reader(io.StringIO(export.text, newline="")))


# ---- neutralising formulas ---------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tx", "\rx",
                                  "=HYPERLINK(\"http://x\")"])
def test_a_cell_a_spreadsheet_would_read_as_a_formula_gets_an_apostrophe(cell: str) -> None:
    assert neutralised(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Ana", "José, María", "1964774", "", "a=b", "2027-03-31",
                                  "'quoted"])
def test_other_cells_are_left_as_they_are(cell: str) -> None:
    assert neutralised(cell) == cell


def test_none_is_an_empty_cell_and_numbers_are_their_digits() -> None:
    assert (neutralised(None), neutralised(0), neutralised(12)) == ("", "0", "12")


# ---- requests ----------------------------------------------------------------------------


def test_every_request_of_the_districts_year_read_back(store: Engine) -> None:
    made = paramount_year(store)
    export = exports.requests_csv(AVALOS, "paramount", YEAR)
    assert export.filename == "requests-paramount-2027-2028.csv"
    assert header(export) == list(REQUEST_COLUMNS)
    rows = read(export)
    assert [r["request_id"] for r in rows] == [made[k].id for k in "abcdefg"]
    a, b, c = rows[0], rows[1], rows[2]
    assert (a["process"], a["direction"], a["stage"], a["outcome"]) == (
        "interdistrict", "out", "approved", "approved")
    # decided at 05:00 UTC on April 1: 10 p.m. on March 31 in Los Angeles
    assert (a["decided_on"], a["decision_due"], a["permit_id"]) == (
        "2027-03-31", "2027-03-31", "PERMIT-paramount-2027-2028-out-a")
    assert (b["other_district"], b["school_assigned"], b["student_id"], b["grade"]) == (
        "Compton Unified School District", "keppel", "S0002", "4")
    assert (c["outcome"], c["denial_reasons"], c["decided_on"]) == (
        "denied", "no_space; overcrowding", "2027-04-02")
    assert rows[3]["outcome"] == "deemed_denied" and rows[3]["decided_on"] == ""
    assert rows[6]["outcome"] == "pending" and rows[6]["decision_due"] == ""
    # received at 17:00 UTC plus n hours: g at midnight UTC on February 2, 4 p.m. on
    # February 1 in Los Angeles, the district's date
    assert [r["received_on"] for r in rows] == ["2027-02-01"] * 7


def test_a_formula_in_a_name_is_neutralised_and_accents_and_commas_kept(store: Engine) -> None:
    write(store,
          interdistrict("paramount-2027-2028-out-h", Stage.under_review, 1,
                        student={"first_name": "=HYPERLINK(\"http://evil\",\"x\")",
                                 "last_name": "@Ríos"}),
          interdistrict("paramount-2027-2028-out-i", Stage.under_review, 2,
                        student={"first_name": "José, María", "last_name": "Núñez \"Peña\""}))
    rows = read(exports.requests_csv(AVALOS, "paramount", YEAR))
    assert [(r["student_first_name"], r["student_last_name"]) for r in rows] == [
        ("'=HYPERLINK(\"http://evil\",\"x\")", "'@Ríos"),
        ("José, María", "Núñez \"Peña\""),
    ]


def test_within_district_requests_carry_their_schools_and_offer_deadline(store: Engine) -> None:
    write(store, within("millard-w1", WithinStage.placed, 1),
          within("millard-w2", WithinStage.offered, 2, offer_deadline=date(2027, 3, 20)),
          within("millard-w3", WithinStage.denied, 3, reason="no seat in the program"))
    rows = read(exports.requests_csv(OLSEN, "millard", YEAR))
    assert [(r["process"], r["direction"], r["school_requested"], r["school_assigned"],
             r["current_school"], r["outcome"], r["offer_deadline"], r["denial_reasons"])
            for r in rows] == [
        ("within", "within", "norris-elementary", "norris-elementary", "abbott-elementary",
         "placed", "", ""),
        ("within", "within", "norris-elementary", "", "abbott-elementary", "offered",
         "2027-03-20", ""),
        ("within", "within", "norris-elementary", "", "abbott-elementary", "denied", "",
         "no seat in the program"),
    ]


def test_an_empty_year_is_the_header_alone(store: Engine) -> None:
    export = exports.requests_csv(AVALOS, "paramount", "2030-2031")
    assert (export.rows, read(export), header(export)) == (0, [], list(REQUEST_COLUMNS))


# ---- placements and CALPADS --------------------------------------------------------------


def test_placements_carry_senr_1_30_and_1_31_from_the_direction(store: Engine) -> None:
    made = paramount_year(store)
    downey = interdistrict("paramount-2027-2028-into-k", Stage.approved, 11, direction="into",
                           assigned_school="gaines")
    write(store, downey)
    write_permits(store, permit_of(made["b"]), permit_of(made["a"], school=""))
    export = exports.placements_csv(NGUYEN, "paramount", YEAR)
    assert header(export) == list(PLACEMENT_COLUMNS)
    by_id = {r["request_id"]: r for r in read(export)}
    assert sorted(by_id) == [made["b"].id, downey.id, made["a"].id]
    b = by_id[made["b"].id]
    assert (b["school_of_enrollment_id"], b["school_of_enrollment_name"],
            b["district_of_enrollment"], b["district_of_residence"]) == (
        "keppel", "Mark Keppel Elementary School", "Paramount Unified School District",
        "Compton Unified School District")
    # into, from Compton: a formal interdistrict transfer agreement, Compton's code
    assert (b["senr_1_30_student_school_transfer_code"],
            b["senr_1_31_district_of_geographic_residence_code"]) == ("1", "1973437")
    assert (b["permit_id"], b["permit_stage"], b["permit_condition"]) == (
        "PERMIT-paramount-2027-2028-into-b", "active", "until_level_end")
    # out: the student lives in Paramount and enrols in Downey, which files the record
    a = by_id[made["a"].id]
    assert (a["district_of_enrollment"], a["district_of_residence"],
            a["school_of_enrollment_id"], a["school_of_enrollment_name"], a["program"]) == (
        "Downey Unified School District", "Paramount Unified School District", "", "", "")
    assert (a["senr_1_30_student_school_transfer_code"],
            a["senr_1_31_district_of_geographic_residence_code"]) == ("1", "1964774")
    # into, from Downey, whose code the district file does not give: left empty, and said
    k = by_id[downey.id]
    assert (k["senr_1_30_student_school_transfer_code"],
            k["senr_1_31_district_of_geographic_residence_code"]) == ("1", "")
    assert k["permit_stage"] == ""  # the permit's record is not written yet
    assert export.warnings == (
        f"{downey.id}: no county-district code for 'Downey Unified School District' "
        "(other_district_cd_codes of districts/paramount.toml): SENR 1.31 left empty",)
    assert "Student" not in " ".join(export.warnings)  # no student's name in a warning


def test_a_permit_of_an_earlier_year_is_placed_in_its_grade_now(store: Engine) -> None:
    earlier = interdistrict("paramount-2026-2027-into-x", Stage.approved, 10, direction="into",
                            school_year="2026-2027", other="compton unified  school district",
                            assigned_school="keppel")
    write(store, earlier)
    write_permits(store, permit_of(earlier, grade=5))
    (row,) = read(exports.placements_csv(AVALOS, "paramount", YEAR))
    assert (row["request_id"], row["school_year"], row["grade"]) == (earlier.id, YEAR, "5")
    # the typed name matches the file's whatever its case and spacing
    assert row["senr_1_31_district_of_geographic_residence_code"] == "1973437"


def test_a_district_outside_california_files_no_calpads_fields(store: Engine) -> None:
    placed = within("millard-w1", WithinStage.placed, 1, school="rockwell-elementary")
    write(store, placed, within("millard-w2", WithinStage.waitlisted, 2))
    write_permits(store, permit_of(placed, school_name="Rockwell Elementary School"))
    export = exports.placements_csv(OLSEN, "millard", YEAR)
    (row,) = read(export)
    assert (row["school_of_enrollment_id"], row["school_of_enrollment_name"], row["program"],
            row["district_of_enrollment"], row["district_of_residence"]) == (
        "rockwell-elementary", "Rockwell Elementary School", "montessori",
        "Millard Public Schools", "Millard Public Schools")
    assert (row["senr_1_30_student_school_transfer_code"],
            row["senr_1_31_district_of_geographic_residence_code"], export.warnings) == (
        "", "", ())


# ---- who may export ----------------------------------------------------------------------


@pytest.mark.parametrize("who, district, why", [
    (Principal("lacoe"), "paramount", "lacoe (county_office) may not export student records"),
    (Principal("rivera"), "millard", "may not export student records"),
    (AVALOS, "millard", "'avalos' is not a staff member of millard"),
    (Principal("visitor"), "paramount", "'visitor' is not a staff member of paramount"),
])
def test_only_staff_who_keep_student_records_export_their_own_district(
    store: Engine, who: Principal, district: str, why: str,
) -> None:
    paramount_year(store)
    for export in (exports.requests_csv, exports.placements_csv):
        with pytest.raises(REFUSALS, match=re.escape(why)):
            export(who, district, YEAR)


@pytest.mark.parametrize("who, district", [(AVALOS, "paramount"), (NGUYEN, "paramount"),
                                           (Principal("hart"), "paramount"), (OLSEN, "millard"),
                                           (Principal("kowalski"), "millard")])
def test_pupil_and_student_services_directors_and_designees_export(
    store: Engine, who: Principal, district: str,
) -> None:
    assert exports.requests_csv(who, district, YEAR).rows == 0


@pytest.mark.parametrize("year", ["2027", "2027-2029", "27-28", "2027-2028; drop"])
def test_a_school_year_that_is_not_one_is_refused(store: Engine, year: str) -> None:
    with pytest.raises(REFUSALS, match="is not a school year"):
        exports.requests_csv(AVALOS, "paramount", year)


# ---- the district file's codes -----------------------------------------------------------


def test_a_county_district_code_is_seven_digits() -> None:
    data = load_district("paramount").model_dump()
    for wrong in ("19-64774", "196477", "19647745", "1964774 "):
        with pytest.raises(ValidationError, match="cd_code"):
            DistrictConfig.model_validate({**data, "cd_code": wrong})
        with pytest.raises(ValidationError, match="not a 7-digit county-district code: X"):
            DistrictConfig.model_validate({**data, "other_district_cd_codes": {"X": wrong}})
    assert DistrictConfig.model_validate({**data, "cd_code": None}).cd_code is None
