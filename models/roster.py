"""The district's roster as the records store keeps it (OneRoster 1.2 CSV, imported by
`transfers roster import`; docs/cross-cutting.md "Roster"), and what intake found in it for a
request's student."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.base import Model


class PersonKind(StrEnum):
    student = "student"
    guardian = "guardian"  # OneRoster roles parent, guardian and relative


class RosterStudent(Model):
    """A student of the roster: the facts intake takes over the form's."""

    district: str
    sourced_id: str
    identifier: str  # the district's student id, the one its forms carry (`student.id`)
    given_name: str
    family_name: str
    # The grade in ``school_year`` (the roster's year); None for a grade outside K-12.
    grade: int | None
    school_year: str
    school: str | None  # the district file's school id
    home_school: str | None = None  # the school of the attendance area, where given
    attendance_area: str | None = None
    active: bool = True

    def grade_in(self, school_year: str) -> int | None:
        """The grade in ``school_year``: the roster's, moved on a grade a year; None when the
        roster cannot say (no grade, an earlier year, past grade 12)."""
        if self.grade is None:
            return None
        years = int(school_year[:4]) - int(self.school_year[:4])
        grade = self.grade + years
        return grade if years >= 0 and 0 <= grade <= 12 else None


class RosterGuardian(Model):
    district: str
    sourced_id: str
    role: str  # parent | guardian | relative
    given_name: str
    family_name: str
    email: str | None
    students: list[RosterStudent] = Field(default_factory=list)


class RosterDifference(Model):
    """A fact the form gave otherwise than the roster: the request carries the roster's."""

    field: str
    form: str
    roster: str


class RosterCheck(Model):
    """What intake found in the district's roster for the request's student, for staff to
    see (`intake/roster_facts.py`): written by intake, whatever a form says of it."""

    known: bool  # False: a student the roster does not know (a new family), taken as typed
    roster_school_year: str | None = None
    differences: list[RosterDifference] = Field(default_factory=list)
    note: str = ""
