"""When a permit may be rescinded or revoked (seed 000; EC 46600)."""

from __future__ import annotations

from datetime import date

from models.permits import RevocationReason
from rules.errors import PolicyError


def check_may_revoke(grade: int, school_year_end: date, today: date, reasons: list[str]) -> None:
    """EC 46600: a permit is not rescinded "after June 30 following a student's completion of
    grade 10 or for any student entering grade 11 or 12". ``grade`` is the student's grade in
    the school year that ends on ``school_year_end``. A revocation cites a seed reason."""
    if not reasons:
        raise PolicyError("a revocation must cite at least one reason")
    unknown = [r for r in reasons if r not in RevocationReason.__members__]
    if unknown:
        raise PolicyError(f"unknown revocation reason(s): {', '.join(unknown)}")
    if grade >= 11:
        raise PolicyError(f"a permit may not be revoked for a student in grade {grade} (EC 46600)")
    cutoff = date(school_year_end.year, 6, 30)
    if grade == 10 and today > cutoff:
        raise PolicyError(
            "a permit may not be revoked after June 30 following completion of grade 10 "
            f"({cutoff.isoformat()}; EC 46600)"
        )


# Seed 000: "A decision to rescind or revoke a permit may not be appealed." The workflow
# refuses every appeal with it, and a front says it of a permit that has ended.
NOT_APPEALABLE = "a decision to rescind or revoke a permit may not be appealed (seed 000)"
