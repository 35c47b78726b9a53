"""Intake takes the roster's facts over the form's (intake/roster_facts.py; docs/cross-cutting.md
"Roster"): the roster's grade (moved on to the year applied for), current school, home school
and the residency that follows from it replace what the form says; the request is not
refused for disagreeing, and carries each difference for staff; a student the roster does not
know is taken as typed, and the request says so. Then intake's own checks run on the roster's
facts. A realistic export is imported into the records store first: SQLite, and PostgreSQL
with TRANSFERS_TEST_DATABASE_URL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from districts import load_district, load_within_district
from intake.interdistrict import prepare
from intake.roster_facts import interdistrict_with_roster, within_with_roster
from intake.within import prepare_within
from models.roster import RosterCheck, RosterDifference
from models.within_district import Program, Residency, SeatKey
from rules.errors import PolicyError
from store import roster
from tests.support import within as w
from tests.support.factories import make_request
from tests.support.roster import Export, import_into, place, write_export

MILLARD = load_within_district("millard")
PARAMOUNT = load_district("paramount")
ROSTER_YEAR = "2026-2027"  # the year the export's grades are in
YEAR = "2027-2028"  # the year applied for
NEXT_YEAR_NOW = datetime(2026, 10, 1, 12, 0, tzinfo=ZoneInfo("America/Chicago"))
OPENING_DAY = date(2027, 1, 15)  # Paramount's requests for 2027-2028 open
CODY_CORE_3 = SeatKey(school="cody-elementary", program=Program.core, grade=3)


@pytest.fixture
def millard(store_engine: Engine, tmp_path: Path) -> tuple[Engine, Export]:
    export = write_export(tmp_path / "millard", MILLARD, families=120, seed=7)
    place(export, export.families[0].student_ids[0], "02", "abbott-elementary",
          "cody-elementary")
    import_into(store_engine, export.folder, MILLARD, ROSTER_YEAR)
    return store_engine, export


def first(millard: tuple[Engine, Export]) -> tuple[str, str, str]:
    """The first student of the export (placed above): id, given and family name."""
    engine, export = millard
    identifier = export.families[0].student_ids[0]
    found = roster.student(engine, "millard", identifier)
    assert found is not None
    return identifier, found.given_name, found.family_name


@pytest.fixture
def paramount(store_engine: Engine, tmp_path: Path) -> tuple[Engine, Export]:
    export = write_export(tmp_path / "paramount", PARAMOUNT, families=120, seed=7)
    import_into(store_engine, export.folder, PARAMOUNT, ROSTER_YEAR)
    return store_engine, export


def _a_student_below_grade_12(export: Export) -> tuple[str, int]:
    return next((i, int(f["grade"])) for i, f in export.students.items()
                if int(f["grade"]) < 12)


# ---- within the district ----------------------------------------------------------------------


def test_the_rosters_grade_and_schools_are_taken_over_the_forms_and_each_difference_kept(
    millard: tuple[Engine, Export],
) -> None:
    engine, _ = millard
    identifier, given, family = first(millard)
    form = w.request(MILLARD, 1, CODY_CORE_3, id=identifier, grade=4, first_name=given,
                     last_name=family, current_school="bell-elementary",
                     home_school="abbott-elementary", residency=Residency.other_resident)
    form = form.model_copy(update={"school_year": YEAR})

    request = within_with_roster(engine, form)

    student = request.student
    assert (student.grade, student.current_school, student.home_school, student.residency) == (
        3, "abbott-elementary", "cody-elementary", Residency.attendance_area)
    assert request.roster == RosterCheck(
        known=True, roster_school_year=ROSTER_YEAR, differences=[
            RosterDifference(field="student.grade", form="4", roster="3"),
            RosterDifference(field="student.current_school", form="bell-elementary",
                             roster="abbott-elementary"),
            RosterDifference(field="student.home_school", form="abbott-elementary",
                             roster="cody-elementary"),
            RosterDifference(field="student.residency", form="other_resident",
                             roster="attendance_area"),
        ])
    # Intake's own checks then run on the roster's facts, and the workflow's input has them.
    inp = prepare_within(request, MILLARD, NEXT_YEAR_NOW, engine, "olsen")
    assert inp.request.student.grade == 3
    assert inp.request.seat_key == CODY_CORE_3
    assert inp.request.roster is not None and inp.request.roster.known


def test_without_the_roster_the_same_form_would_be_refused(
    millard: tuple[Engine, Export],
) -> None:
    """The form's grade 4 is no seat at Cody's core program: what the roster corrects."""
    engine, _ = millard
    identifier, given, family = first(millard)
    form = w.request(MILLARD, 1, CODY_CORE_3, id=identifier, grade=4, first_name=given,
                     last_name=family, current_school="abbott-elementary",
                     home_school="cody-elementary",
                     residency=Residency.attendance_area)
    form = form.model_copy(update={"school_year": YEAR})
    with pytest.raises(PolicyError, match="grade 4 of the core program at cody-elementary"):
        prepare_within(form, MILLARD, NEXT_YEAR_NOW, engine, "olsen")
    prepare_within(within_with_roster(engine, form), MILLARD, NEXT_YEAR_NOW, engine, "olsen")


def test_a_form_that_agrees_with_the_roster_has_no_difference(
    millard: tuple[Engine, Export],
) -> None:
    engine, _ = millard
    identifier, given, family = first(millard)
    form = w.request(MILLARD, 1, CODY_CORE_3, id=identifier, grade=3, first_name=given.upper(),
                     last_name=family, current_school="abbott-elementary",
                     home_school="cody-elementary", residency=Residency.attendance_area)
    request = within_with_roster(engine, form.model_copy(update={"school_year": YEAR}))
    assert request.roster == RosterCheck(known=True, roster_school_year=ROSTER_YEAR)


def test_a_name_the_roster_writes_otherwise_is_shown_and_the_forms_kept(
    millard: tuple[Engine, Export],
) -> None:
    engine, _ = millard
    identifier, _, _ = first(millard)
    form = w.request(MILLARD, 1, CODY_CORE_3, id=identifier, grade=3, first_name="Someone",
                     last_name="Else", current_school="abbott-elementary",
                     home_school="cody-elementary", residency=Residency.attendance_area)
    request = within_with_roster(engine, form.model_copy(update={"school_year": YEAR}))
    assert request.student.first_name == "Someone"
    assert request.roster is not None
    assert [d.field for d in request.roster.differences] == ["student.first_name",
                                                             "student.last_name"]


def test_a_new_family_is_taken_as_typed_and_says_so(millard: tuple[Engine, Export]) -> None:
    engine, _ = millard
    form = w.request(MILLARD, 1, CODY_CORE_3, id="NEW0001", grade=3,
                     current_school="abbott-elementary", home_school="cody-elementary",
                     residency=Residency.attendance_area)
    form = form.model_copy(update={"school_year": YEAR})
    request = within_with_roster(engine, form)
    assert request.student == form.student
    assert request.roster is not None and not request.roster.known
    assert "does not know this student" in request.roster.note
    prepare_within(request, MILLARD, NEXT_YEAR_NOW, engine, "olsen")


def test_a_form_cannot_write_the_rosters_check_itself(millard: tuple[Engine, Export]) -> None:
    engine, _ = millard
    form = w.request(MILLARD, 1, CODY_CORE_3, id="NEW0001", grade=3)
    forged = form.model_copy(update={"roster": RosterCheck(known=True)})
    with pytest.raises(PolicyError, match="roster: not a field of the form"):
        within_with_roster(engine, forged)


# ---- interdistrict ----------------------------------------------------------------------------


def test_an_out_of_district_request_takes_the_rosters_grade_for_the_year_applied_for(
    paramount: tuple[Engine, Export],
) -> None:
    engine, export = paramount
    identifier, grade = _a_student_below_grade_12(export)
    wrong = 0 if grade + 1 != 0 else 1
    form = make_request(student={"id": identifier, "grade": wrong}, school_year=YEAR)

    request = interdistrict_with_roster(engine, form)

    assert request.student.grade == grade + 1  # the roster's year is 2026-2027
    assert request.roster is not None and request.roster.known
    assert RosterDifference(field="student.grade", form="K" if wrong == 0 else str(wrong),
                            roster=str(grade + 1)) in request.roster.differences
    inp = prepare(request, PARAMOUNT, OPENING_DAY, engine, "avalos")
    assert inp.request.student.grade == grade + 1


def test_a_student_past_the_rosters_grades_keeps_the_forms_grade(
    paramount: tuple[Engine, Export],
) -> None:
    engine, export = paramount
    identifier = next(i for i, f in export.students.items() if f["grade"] == "12")
    form = make_request(student={"id": identifier, "grade": 12}, school_year=YEAR)
    request = interdistrict_with_roster(engine, form)
    assert request.student.grade == 12
    assert request.roster is not None and request.roster.known
    assert "gives no grade for 2027-2028" in request.roster.note


def test_an_into_district_request_is_not_looked_up(paramount: tuple[Engine, Export]) -> None:
    engine, export = paramount
    identifier = next(iter(export.students))
    form = make_request(student={"id": identifier, "grade": 3}, direction="into",
                        school_year=YEAR)
    request = interdistrict_with_roster(engine, form)
    assert request.student.grade == 3
    assert request.roster is not None and not request.roster.known
    assert "other district's roster" in request.roster.note


def test_an_unknown_student_out_of_the_district_is_taken_as_typed(
    paramount: tuple[Engine, Export],
) -> None:
    engine, _ = paramount
    form = make_request(student={"id": "NOBODY1", "grade": 3}, school_year=YEAR)
    request = interdistrict_with_roster(engine, form)
    assert request.student == form.student
    assert request.roster is not None and not request.roster.known
