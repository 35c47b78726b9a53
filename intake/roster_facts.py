"""Intake takes the roster's facts over the form's (docs/cross-cutting.md "Roster"): when the
district's roster knows the request's student (by the district's student id, the roster's
``identifier``), the grade, the current school and the home school come from the roster;
where the form said otherwise the request is not refused, and each difference is written on
the request (`models.roster.RosterCheck`) for staff to see. A student the roster does not know
is taken as the form gives them, and the request says so too (a new family).

One step, called by `app.submissions` before intake's own checks, which then check the
roster's facts (a grade the requested school does not have is refused as it would be typed).
"""

from __future__ import annotations

from sqlalchemy import Engine

from models.requests import Direction, InterdistrictRequest
from models.roster import RosterCheck, RosterDifference, RosterStudent
from models.within_district import Residency
from models.within_request import WithinRequest
from rules.errors import PolicyError
from store import roster

NEW_FAMILY = "the district's roster does not know this student: taken as the form gives them"
INTO = ("not looked up: a student coming into the district is on the other district's "
        "roster, not this one's")


def _not_from_the_form(request: InterdistrictRequest | WithinRequest) -> None:
    if request.roster is not None:
        raise PolicyError("roster: not a field of the form (intake writes what the district's "
                          "roster says)")


def _grade(value: int) -> str:
    return "K" if value == 0 else str(value)


def _names(student: RosterStudent, first: str, last: str) -> list[RosterDifference]:
    """The name is the form's; one the roster writes otherwise is shown (a mistyped id?)."""
    found = []
    if first.casefold() != student.given_name.casefold():
        found.append(RosterDifference(field="student.first_name", form=first,
                                      roster=student.given_name))
    if last.casefold() != student.family_name.casefold():
        found.append(RosterDifference(field="student.last_name", form=last,
                                      roster=student.family_name))
    return found


def _check(student: RosterStudent | None, differences: list[RosterDifference],
           note: str = "") -> RosterCheck:
    if student is None:
        return RosterCheck(known=False, note=note or NEW_FAMILY)
    return RosterCheck(known=True, roster_school_year=student.school_year,
                       differences=differences, note=note)


def interdistrict_with_roster(
    engine: Engine, request: InterdistrictRequest
) -> InterdistrictRequest:
    """An interdistrict request with the roster's grade (out of the district: the student is
    the district's own); an into-district request is not looked up."""
    _not_from_the_form(request)
    if request.direction is Direction.into:
        return request.model_copy(update={"roster": RosterCheck(known=False, note=INTO)})
    student = roster.student(engine, request.district, request.student.id)
    if student is None:
        return request.model_copy(update={"roster": _check(None, [])})
    form = request.student
    differences = _names(student, form.first_name, form.last_name)
    updates: dict[str, object] = {}
    note = ""
    grade = student.grade_in(request.school_year)
    if grade is None:
        note = f"the roster gives no grade for {request.school_year}: the form's is kept"
    elif grade != form.grade:
        differences.append(RosterDifference(field="student.grade", form=_grade(form.grade),
                                            roster=_grade(grade)))
        updates["grade"] = grade
    changed = form.model_copy(update=updates)
    return request.model_copy(update={"student": changed,
                                      "roster": _check(student, differences, note)})


def within_with_roster(engine: Engine, request: WithinRequest) -> WithinRequest:
    """A within-district request with the roster's grade (in the year applied for), current
    school and home school; a resident's residency follows the home school (VIII.C: in the
    attendance area exactly when the school applied to is the home school)."""
    _not_from_the_form(request)
    student = roster.student(engine, request.district, request.student.id)
    if student is None:
        return request.model_copy(update={"roster": _check(None, [])})
    form = request.student
    differences = _names(student, form.first_name, form.last_name)
    updates: dict[str, object] = {}
    notes = []

    def take(name: str, form_value: str, roster_value: str, value: object) -> None:
        if form_value != roster_value:
            differences.append(RosterDifference(field=f"student.{name}", form=form_value,
                                                roster=roster_value))
            updates[name] = value

    grade = student.grade_in(request.school_year)
    if grade is None:
        notes.append(f"the roster gives no grade for {request.school_year}: the form's is kept")
    else:
        take("grade", _grade(form.grade), _grade(grade), grade)
    if student.school:
        take("current_school", form.current_school, student.school, student.school)
    if student.home_school:
        take("home_school", form.home_school, student.home_school, student.home_school)
        if form.residency in (Residency.attendance_area, Residency.other_resident):
            residency = (Residency.attendance_area if student.home_school == request.school
                         else Residency.other_resident)
            take("residency", form.residency.value, residency.value, residency)
    changed = form.model_copy(update=updates)
    return request.model_copy(update={"student": changed,
                                      "roster": _check(student, differences, "; ".join(notes))})
