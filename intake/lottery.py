"""A district's lottery at intake: the policy snapshot its workflow starts from (seed 004,
Rule 5110.1 VII, VIII, X.B; docs/lottery.md "The lottery of a district and school year").
Built from the district file before the workflow starts, so the workflow reads no file."""

from __future__ import annotations

from models.lottery_record import LotteryInput, SeatCount
from models.within_district_config import WithinDistrictConfig
from rules import receipts, within_windows
from workflows.lottery import lottery_id


def lottery_input(
    config: WithinDistrictConfig, school_year: str, seats_set_by: str, seed: str | None = None
) -> LotteryInput:
    """The policy snapshot for one district's lottery for ``school_year`` (VII, VIII, X.B)."""
    settings = config.within_district
    tz = config.timezone
    window = within_windows.district_next_year_window(settings, school_year, tz)
    notify_by = within_windows.notify_by(
        school_year, settings.notify_by_month, settings.notify_by_day
    )
    first_day = config.calendar[school_year].first_day if school_year in config.calendar else None
    completes = settings.option_enrollment_complete.get(school_year)
    return LotteryInput(
        id=lottery_id(config.id, school_year),
        district_id=config.id,
        school_year=school_year,
        timezone=config.timezone,
        window_closes=window.closes,
        in_person_closes=window.in_person_closes,
        notify_by=notify_by,
        escalation_days_before=settings.certification_escalation_days_before,
        seats=[SeatCount(key=k, seats=n) for k, n in config.seats_for(school_year).items()],
        seats_set_by=seats_set_by,
        overcrowded_schools=sorted(config.overcrowded_schools()),
        notices_from=str(config.notices_from),
        staff_notices_to=[str(a) for a in config.staff_notices_to],
        seed=seed,
        # The reopened window (VIII.A.3), from its opening to the first day of school; kept
        # apart so a lottery whose year has no reopening still closes its ledger.
        ledger_closes=within_windows.school_starts(first_day, tz) if first_day else None,
        reopens=within_windows.reopening(completes, tz) if completes else None,
        offer_accept_days=settings.offer_accept_days,
        window_opens=window.opens,
        paper_entry_days=config.paper_entry_days,
        # Paper is delivered in person: its entry period runs from the in-person close.
        paper_entry_closes=receipts.paper_entry_closes(
            within_windows.in_person_close(window), config.paper_entry_days, tz),
    )
