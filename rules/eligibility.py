"""Who may request, when, and who may appeal (seed 000; EC 46600, 46600.1)."""

from __future__ import annotations

from datetime import date

from models.people import Relationship
from rules.errors import PolicyError

PARENT_RELATIONSHIPS = frozenset(r.value for r in Relationship)


def check_requester(relationship: str) -> Relationship:
    """EC 46600.1: only a parent may request, meaning the natural or adoptive parent, the
    person having legal custody, or another educational rights holder."""
    if relationship not in PARENT_RELATIONSHIPS:
        allowed = ", ".join(sorted(PARENT_RELATIONSHIPS))
        raise PolicyError(
            f"requester relationship {relationship!r} may not request a permit: only a parent "
            f"may (EC 46600.1: {allowed})"
        )
    return Relationship(relationship)


def school_year_start(school_year: str) -> int:
    start, end = (int(part) for part in school_year.split("-"))
    if end != start + 1:
        raise PolicyError(f"school year {school_year!r} must be two consecutive years")
    return start


def requests_open_on(school_year: str, opens_month: int, opens_day: int) -> date:
    """Seed 000: requests "for the upcoming school year may be submitted beginning
    January 15" of the calendar year in which that school year starts."""
    return date(school_year_start(school_year), opens_month, opens_day)


def check_submission_date(
    school_year: str,
    first_day: date,
    last_day: date,
    today: date,
    opens_month: int,
    opens_day: int,
) -> None:
    """A request for a coming school year is refused before its window opens; one for a
    school year that has ended is refused; the current school year is open all year."""
    opens = requests_open_on(school_year, opens_month, opens_day)
    if today > last_day:
        raise PolicyError(f"school year {school_year} ended on {last_day.isoformat()}")
    if today < first_day and today < opens:
        raise PolicyError(
            f"requests for school year {school_year} open on {opens.isoformat()}; "
            f"today is {today.isoformat()}"
        )


def when_appeal_opens(expelled: bool, pending_expulsion: bool) -> str:
    """Seed 000: when a student who may not appeal now may: the letter says so (issue "Policy
    fidelity"); empty for one who may appeal."""
    if pending_expulsion:
        return "An appeal becomes possible once the expulsion proceedings have ended."
    if expelled:
        return "An appeal becomes possible when the term of the expulsion has ended."
    return ""


def check_may_appeal(expelled: bool, pending_expulsion: bool) -> None:
    """Seed 000: a student under consideration for expulsion, or expelled, may not appeal a
    denial while proceedings are pending or during the term of the expulsion."""
    if pending_expulsion:
        raise PolicyError("the student may not appeal while expulsion proceedings are pending")
    if expelled:
        raise PolicyError("the student may not appeal during the term of an expulsion")
