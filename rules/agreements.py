"""Agreements between districts for interdistrict attendance (EC 46600(a)(1)-(3)).

- (a)(1): two districts "may enter into an agreement, for a term not to exceed five school
  years"; once enrolled a pupil does not reapply unless the agreement says otherwise.
- (a)(2): the agreement states the terms for granting and denying, may set standards for
  reapplication, and the terms under which a permit may be revoked.
- (a)(3): the permit of the district of residence "shall be valid upon concurring endorsement
  by the designee of the governing board of the district of proposed attendance".

Pure functions; the district file (models/district.py::Agreement) holds the agreements."""

from __future__ import annotations

from datetime import date, timedelta

from models.district import Agreement
from rules.eligibility import school_year_start
from rules.errors import PolicyError

MAX_TERM_SCHOOL_YEARS = 5  # EC 46600(a)(1): "a term not to exceed five school years"


def term_school_years(first_school_year: str, last_school_year: str) -> int:
    """How many school years an agreement runs, both ends included (2025-2026 through
    2029-2030 is five)."""
    return school_year_start(last_school_year) - school_year_start(first_school_year) + 1


def check_term(agreement: Agreement) -> None:
    """EC 46600(a)(1): a term of one to five school years."""
    years = term_school_years(agreement.first_school_year, agreement.last_school_year)
    span = f"{agreement.first_school_year} through {agreement.last_school_year}"
    if years < 1:
        raise PolicyError(f"the agreement with {agreement.partner} ends before it begins "
                          f"({span})")
    if years > MAX_TERM_SCHOOL_YEARS:
        raise PolicyError(
            f"the agreement with {agreement.partner} runs {years} school years ({span}): an "
            f"agreement's term may not exceed {MAX_TERM_SCHOOL_YEARS} school years "
            "(EC 46600(a)(1))"
        )


def check_agreements(agreements: list[Agreement]) -> None:
    """Every term within the limit, and no two agreements with one partner overlapping (a
    request must find one agreement, not two)."""
    for agreement in agreements:
        check_term(agreement)
    for i, a in enumerate(agreements):
        for b in agreements[i + 1:]:
            if _same_partner(a, b) and _overlap(a, b):
                raise PolicyError(
                    f"two agreements with {a.partner} cover the same school years "
                    f"({a.first_school_year}-{a.last_school_year[5:]} and "
                    f"{b.first_school_year}-{b.last_school_year[5:]})"
                )


def covers(agreement: Agreement, school_year: str) -> bool:
    start = school_year_start(school_year)
    return (school_year_start(agreement.first_school_year) <= start
            <= school_year_start(agreement.last_school_year))


def agreement_for(agreements: list[Agreement], other_district: str,
                  school_year: str) -> Agreement | None:
    """The agreement a request for ``school_year`` naming ``other_district`` rests on
    (EC 46600(a)(1)), matched on the partner's name, short name or CD code, case and spacing
    aside. None when the district lists no agreements (not configured); a PolicyError when it
    lists some and none is with that district for that year."""
    if not agreements:
        return None
    wanted = _normal(other_district)
    partners = [a for a in agreements if wanted in {_normal(n) for n in a.names}]
    if not partners:
        known = "; ".join(sorted({a.partner for a in agreements}))
        raise PolicyError(
            f"no agreement with {other_district!r}: interdistrict attendance rests on an "
            f"agreement between the two districts (EC 46600(a)(1)); agreements: {known}"
        )
    for agreement in partners:
        if covers(agreement, school_year):
            return agreement
    terms = ", ".join(f"{a.first_school_year} through {a.last_school_year}" for a in partners)
    raise PolicyError(
        f"the agreement with {partners[0].partner} does not cover {school_year} ({terms}; "
        "EC 46600(a)(1))"
    )


def check_reapplication(agreement: Agreement, request_reapply_annually: bool) -> None:
    """EC 46600(a)(1)-(2): whether the student reapplies each year is the agreement's
    standard; a request asking for yearly reapplication under an agreement without it is
    refused (it would put on the permit a condition the districts did not agree)."""
    if request_reapply_annually and not agreement.reapply_annually:
        raise PolicyError(
            f"the agreement with {agreement.partner} does not require reapplying each year: "
            "once enrolled, the student does not reapply (EC 46600(a)(1)-(2))"
        )


def check_revocation_terms(partner: str, allowed: list[str], reasons: list[str]) -> None:
    """EC 46600(a)(2)-(3): a permit is revoked only on the terms its agreement states."""
    outside = [r for r in reasons if r not in allowed]
    if outside:
        raise PolicyError(
            f"the agreement with {partner} does not provide for revocation for "
            f"{', '.join(outside)} (its terms: {', '.join(allowed) or 'none'}; "
            "EC 46600(a)(2)-(3))"
        )


def agreement_last_day(agreement: Agreement) -> date:
    """June 30 of the agreement's last school year (EC 46600's school years end June 30)."""
    return date(school_year_start(agreement.last_school_year) + 1, 6, 30)


def agreement_notice_day(last_day: date, days_before: int) -> date:
    """The day staff are told an agreement is ending: ``days_before`` its last day."""
    return last_day - timedelta(days=days_before)


def endorsement_due(issued: date, due_days: int) -> date:
    """The last day the district of enrollment's endorsement is expected (a district
    setting, counted from the permit's issue; EC 46600(a)(3) sets no time)."""
    return issued + timedelta(days=due_days)


def endorsement_reminder_day(due: date, days_before: int) -> date:
    """Staff are reminded ``days_before`` the endorsement is due (0: on the due day)."""
    return due - timedelta(days=days_before)


def check_endorsement_date(endorsed_on: date, issued: date, today: date) -> None:
    """An endorsement is dated between the permit's issue and today."""
    if endorsed_on > today:
        raise PolicyError(f"an endorsement cannot be dated in the future "
                          f"({endorsed_on.isoformat()})")
    if endorsed_on < issued:
        raise PolicyError(f"an endorsement cannot be dated before the permit was issued on "
                          f"{issued.isoformat()} ({endorsed_on.isoformat()})")


def _normal(name: str) -> str:
    return " ".join(name.split()).casefold()


def _same_partner(a: Agreement, b: Agreement) -> bool:
    return bool({_normal(n) for n in a.names} & {_normal(n) for n in b.names})


def _overlap(a: Agreement, b: Agreement) -> bool:
    return not (school_year_start(a.last_school_year) < school_year_start(b.first_school_year)
                or school_year_start(b.last_school_year) < school_year_start(a.first_school_year))
