"""A permit's calendar: school years, renewals, the end of the level (seed 000; seed 004
IV.C, IV.D). School years run July 1 to June 30 (EC 46600's "June 30 following ...")."""

from __future__ import annotations

from datetime import date

from rules.eligibility import school_year_start
from rules.errors import PolicyError

# The last grade of each educational level where a school's own grades are not known
# (a permit to another district's school): K-5, 6-8, 9-12.
LEVEL_LAST_GRADES = (5, 8, 12)


def school_year_end(school_year: str) -> date:
    """June 30 of the school year's second calendar year."""
    return date(school_year_start(school_year) + 1, 6, 30)


def next_school_year(school_year: str) -> str:
    start = school_year_start(school_year) + 1
    return f"{start}-{start + 1}"


def level_last_grade(grade: int) -> int:
    """The last grade of the level ``grade`` belongs to (K-5, 6-8, 9-12)."""
    if not 0 <= grade <= 12:
        raise PolicyError(f"grade {grade} is not K-12")
    return next(last for last in LEVEL_LAST_GRADES if grade <= last)


def renewal_window(
    school_year: str, opens: tuple[int, int], deadline: tuple[int, int]
) -> tuple[date, date]:
    """Seed 000: requests "for the upcoming school year may be submitted beginning January
    15"; a permit renewed each year is renewed in that window, in the spring of
    ``school_year``, for the next one, through the district's deadline (its last day)."""
    year = school_year_start(school_year) + 1
    first, last = date(year, *opens), date(year, *deadline)
    if last < first:
        raise PolicyError("the renewal deadline comes before renewals open")
    return first, last


def check_renewal(school_year: str, renewed_for: str) -> None:
    """A renewal is for the school year after the current one."""
    expected = next_school_year(school_year)
    if renewed_for != expected:
        raise PolicyError(f"a renewal now is for {expected}, not {renewed_for}")


def check_may_leave_program(permit_id: str, within_district: bool, program: str) -> None:
    """Rule 5110.1 IV.A: withdrawing from the special program a transfer was for revokes it;
    it applies to within-district transfers for a special program only."""
    what = "IV.A applies to a within-district transfer for a special program"
    if not within_district:
        raise PolicyError(f"permit {permit_id} is an interdistrict permit: {what}")
    if program == "regular":
        raise PolicyError(f"permit {permit_id} is for the regular program: {what}")
