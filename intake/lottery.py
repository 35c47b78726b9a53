"""A district's lottery at intake: the policy snapshot its workflow starts from (seed 004,
Rule 5110.1 VII, VIII, X.B; docs/lottery.md "The lottery of a district and school year").
Built from the district file before the workflow starts, so the workflow reads no file."""

from __future__ import annotations

from datetime import date, time

import rules.calendar as calendar
from models.lottery_record import LotteryInput, SeatCount
from models.within_district_config import WithinDistrictConfig
from rules.within_windows import next_year_window
from workflows.lottery import lottery_id


def lottery_input(
    config: WithinDistrictConfig, school_year: str, seats_set_by: str, seed: str | None = None
) -> LotteryInput:
    """The policy snapshot for one district's lottery for ``school_year`` (VII, VIII, X.B)."""
    settings = config.within_district
    window = next_year_window(
        school_year, config.timezone,
        opens_month=settings.next_year_opens_month, opens_day=settings.next_year_opens_day,
        closes_month=settings.next_year_closes_month, closes_day=settings.next_year_closes_day,
        closes_at=settings.next_year_closes_time,
    )
    notify_by = date(window.closes.year, settings.notify_by_month, settings.notify_by_day)
    first_day = config.calendar[school_year].first_day if school_year in config.calendar else None
    completes = settings.option_enrollment_complete.get(school_year)
    return LotteryInput(
        id=lottery_id(config.id, school_year),
        district_id=config.id,
        school_year=school_year,
        timezone=config.timezone,
        window_closes=window.closes,
        notify_by=notify_by,
        escalation_days_before=settings.certification_escalation_days_before,
        seats=[SeatCount(key=k, seats=n) for k, n in config.seats_for(school_year).items()],
        seats_set_by=seats_set_by,
        overcrowded_schools=sorted(config.overcrowded_schools()),
        notices_from=str(config.notices_from),
        staff_notices_to=[str(a) for a in config.staff_notices_to],
        seed=seed,
        ledger_closes=calendar.at_local(first_day, time(0, 0), config.timezone)
        if first_day
        else None,
        reopens=calendar.end_of_day(completes, config.timezone) if completes else None,
        offer_accept_days=settings.offer_accept_days,
    )
