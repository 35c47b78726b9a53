"""When a permit may be rescinded or revoked (seed 000; EC 46600)."""

from __future__ import annotations

from datetime import date

from models.permits import RevocationReason
from rules.errors import PolicyError

# EC 46600: never revoked "for any student entering grade 11 or 12", nor for a grade 10 student
# after June 30 of that year (docs/interdistrict.md "Rescission and revocation").
NEVER_REVOKED_FROM_GRADE = 11
LAST_REVOCABLE_GRADE = 10
REVOCATION_CUTOFF = (6, 30)  # June 30 following completion of grade 10


def check_may_revoke(grade: int, school_year_end: date, today: date, reasons: list[str]) -> None:
    """EC 46600: a permit is not rescinded "after June 30 following a student's completion of
    grade 10 or for any student entering grade 11 or 12". ``grade`` is the student's grade in
    the school year that ends on ``school_year_end``. A revocation cites a seed reason."""
    if not reasons:
        raise PolicyError("a revocation must cite at least one reason")
    unknown = [r for r in reasons if r not in RevocationReason.__members__]
    if unknown:
        raise PolicyError(f"unknown revocation reason(s): {', '.join(unknown)}")
    if grade >= NEVER_REVOKED_FROM_GRADE:
        raise PolicyError(f"a permit may not be revoked for a student in grade {grade} (EC 46600)")
    cutoff = date(school_year_end.year, *REVOCATION_CUTOFF)
    if grade == LAST_REVOCABLE_GRADE and today > cutoff:
        raise PolicyError(
            "a permit may not be revoked after June 30 following completion of grade 10 "
            f"({cutoff.isoformat()}; EC 46600)"
        )


# Seed 000: "A decision to rescind or revoke a permit may not be appealed." The workflow
# refuses every appeal with it, and a front says it of a permit that has ended.
NOT_APPEALABLE = "a decision to rescind or revoke a permit may not be appealed (seed 000)"
