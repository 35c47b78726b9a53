"""A roster student's grade in the year a request is for (models/roster.py): the roster's
grade moved on a grade a year; none when the roster cannot say (docs/cross-cutting.md
"Roster")."""

from __future__ import annotations

from models.roster import RosterStudent


def student(grade: int | None) -> RosterStudent:
    return RosterStudent(district="millard", sourced_id="s-1", identifier="S1",
                         given_name="Ana", family_name="Berg", grade=grade,
                         school_year="2026-2027", school="abbott-elementary")


def test_the_grade_moves_on_a_grade_a_year() -> None:
    assert student(3).grade_in("2026-2027") == 3
    assert student(3).grade_in("2027-2028") == 4
    assert student(0).grade_in("2028-2029") == 2


def test_the_roster_cannot_say_before_its_year_past_grade_12_or_without_a_grade() -> None:
    assert student(3).grade_in("2025-2026") is None
    assert student(12).grade_in("2027-2028") is None
    assert student(None).grade_in("2026-2027") is None
