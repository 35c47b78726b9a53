"""What the portal's public pages are tested with (tests/web/test_public_pages.py,
tests/web/test_browser_public.py): a permit in the records store, and a lottery's record, as
their workflows would record them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app import context
from models.lottery_record import (
    LotteryRecord,
    LotteryStage,
    RecordedApplicant,
    SeatCount,
    seed_commitment,
)
from models.permits import (
    PermitCondition,
    PermitHolder,
    PermitProcess,
    PermitStage,
    PermitState,
)
from models.within_district import Applicant, Program, Residency, SeatKey
from rules.lottery import draw, random_number
from rules.lottery_audit import recorded_tier
from store import permits

YEAR = "2027-2028"
SEED = "0f6c4e1a-5b7d-4c2e-9a3b-7d1e2f3a4b5c"
KEY = SeatKey(school="norris-elementary", program=Program.montessori, grade=0)


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


def lottery_applicants() -> list[Applicant]:
    return [Applicant(application_id=f"millard-{YEAR}-within-app{n}", student_id=f"stu-{n}",
                      school=KEY.school, program=KEY.program, grade=KEY.grade,
                      residency=Residency.other_resident) for n in range(5)]


def lottery_record(stage: LotteryStage) -> LotteryRecord:
    """Five applications for two seats, drawn (or not yet) with ``SEED``, as the workflow
    records them in the store."""
    entered = datetime(2027, 1, 10, 18, 0, tzinfo=UTC)
    drawn = stage is not LotteryStage.collecting
    people = lottery_applicants()
    return LotteryRecord(
        id=f"lottery-millard-{YEAR}", district_id="millard", school_year=YEAR, seed=SEED,
        seed_commitment=seed_commitment(SEED), stage=stage,
        window_closes=datetime(2027, 2, 15, 23, 0, tzinfo=UTC),
        applicants=[RecordedApplicant(applicant=a, tier=recorded_tier(RecordedApplicant(
            applicant=a, tier=None, random_number=None, entered_at=entered)),
            random_number=random_number(SEED, a.student_id), entered_at=entered)
            for a in people],
        seats=[SeatCount(key=KEY, seats=2)],
        result=draw(people, {KEY: 2}, SEED) if drawn else None,
        drawn_at=datetime(2027, 2, 16, 15, 0, tzinfo=UTC) if drawn else None,
        certified=stage is LotteryStage.certified,
        certified_at=(datetime(2027, 2, 20, 15, 0, tzinfo=UTC)
                      if stage is LotteryStage.certified else None),
        seats_set_by="olsen",
    )
