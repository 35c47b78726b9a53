"""How long a within-district transfer holds (seed 004, Rule 5110.1 IV.C, IV.D)."""

from __future__ import annotations

from datetime import date

from rules.eligibility import school_year_start
from rules.errors import PolicyError

SCHOOL_YEAR_LAST_MONTH_DAY = (6, 30)  # a school year's records close on June 30


def level_ends(school_year: str, grade: int, highest_grade: int) -> date:
    """IV.D: the transfer holds for the educational level, i.e. through the school year in
    which the student completes the school's highest grade; moving up a level needs a new
    request. ``grade`` is the student's grade in ``school_year``."""
    if grade > highest_grade:
        raise PolicyError(f"grade {grade} is above the school's highest grade {highest_grade}")
    last_year_start = school_year_start(school_year) + (highest_grade - grade)
    month, day = SCHOOL_YEAR_LAST_MONTH_DAY
    return date(last_year_start + 1, month, day)
