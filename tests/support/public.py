"""What the portal's public pages are tested with: a permit in the records store, as its
workflow would record it (tests/web/test_public_pages.py, tests/web/test_browser_public.py)."""

from __future__ import annotations

from datetime import date

from app import context
from models.permits import (
    PermitCondition,
    PermitHolder,
    PermitProcess,
    PermitStage,
    PermitState,
)
from store import permits

YEAR = "2027-2028"


def stored_permit(n: int, stage: PermitStage = PermitStage.active) -> PermitState:
    """Paramount's permit ``n`` for Ana Maria Lopez, grade 4 at Mark Keppel, in the store."""
    request_id = f"paramount-{YEAR}-out-verify{n}"
    state = PermitState(
        id=f"PERMIT-{request_id}", request_id=request_id, district="paramount",
        process=PermitProcess.interdistrict,
        holder=PermitHolder(student_id=f"S{n}", student_name="Ana Maria Lopez",
                            parent_name="Maria Lopez", parent_email="maria@example.com"),
        school="keppel", school_name="Mark Keppel Elementary School",
        condition=PermitCondition.until_level_end, school_year=YEAR, grade=4,
        level_last_grade=5, stage=stage,
        ended_on=date(2027, 10, 1) if stage is PermitStage.revoked else None,
    )
    permits.save_permit(context.engine(), state)
    return state
