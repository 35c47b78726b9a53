"""Dates and instants in the district's time zone (docs/cross-cutting.md "Time").

Workflows import this module as ``import rules.calendar as calendar`` inside
``workflow.unsafe.imports_passed_through()`` so that it sees the real ``ZoneInfo``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_date(instant: datetime, tz: str) -> date:
    """The calendar date of ``instant`` in the zone ``tz``."""
    return instant.astimezone(ZoneInfo(tz)).date()


def at_local(day: date, clock: time, tz: str) -> datetime:
    """The instant at which the clock in ``tz`` reads ``clock`` on ``day``."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(tz))


def end_of_day(day: date, tz: str) -> datetime:
    """The instant ``day`` ends in ``tz``: midnight starting the next day (exclusive).

    "Within N calendar days of D" ends at ``end_of_day(D + N)``.
    """
    return at_local(day + timedelta(days=1), time(0, 0), tz)


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def long_date(day: date) -> str:
    """How notices write a date: "Wednesday, March 31, 2027"."""
    return f"{day:%A, %B} {day.day}, {day.year}"
