"""Provisional attendance (EC 46603) and the school days it is counted in (EC 37201).

While the district of proposed enrollment has a request before it, or the county board an
appeal, that district may admit the pupil provisionally "for a period not to exceed two
school months" (EC 46603(a)), from the first day the pupil attends. A school month is 20
school days (EC 37201). School days are the weekdays of the school year (its first to its last
day) that the district's calendar does not mark as non-instructional (the holidays of EC
37220, breaks, staff days). Each function returns a *last day*, a date in the district's
zone; the instant it ends is ``rules.calendar.end_of_day(last_day, tz)``."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from rules.errors import PolicyError

SCHOOL_MONTH_DAYS = 20  # EC 37201: a school month is 20 school days
PROVISIONAL_SCHOOL_MONTHS = 2  # EC 46603(a): "not to exceed two school months"
PROVISIONAL_SCHOOL_DAYS = SCHOOL_MONTH_DAYS * PROVISIONAL_SCHOOL_MONTHS


@dataclass(frozen=True)
class SchoolDays:
    """A school year's calendar: its first and last day and its non-instructional days."""

    first_day: date
    last_day: date
    non_instructional: Collection[date] = ()

    def is_school_day(self, day: date) -> bool:
        return (self.first_day <= day <= self.last_day and day.weekday() < 5
                and day not in self.non_instructional)

    def nth_from(self, start: date, n: int) -> date:
        """The ``n``-th school day counting ``start`` (a school day) as the first; the
        year's last school day if the year ends sooner."""
        day, counted, last = start, 0, start
        while day <= self.last_day:
            if self.is_school_day(day):
                counted, last = counted + 1, day
                if counted == n:
                    return day
            day += timedelta(days=1)
        return last


def provisional_last_day(first_attended: date, days: SchoolDays) -> date:
    """EC 46603(a), EC 37201: the last day of provisional attendance, the 40th school day
    counting the first day attended; sooner if the school year ends first."""
    return days.nth_from(first_attended, PROVISIONAL_SCHOOL_DAYS)


def check_first_attended(first_attended: date, days: SchoolDays, received: date,
                         today: date) -> None:
    """The first day of provisional attendance staff record: a school day of the request's
    school year, not before the request was received, not in the future."""
    if first_attended > today:
        raise PolicyError(f"the first day attended, {first_attended.isoformat()}, is in the "
                          "future: record it once the student has attended")
    if first_attended < received:
        raise PolicyError(f"the first day attended, {first_attended.isoformat()}, is before the "
                          f"request was received ({received.isoformat()}): provisional "
                          "attendance is while a request is pending (EC 46603)")
    if not days.is_school_day(first_attended):
        raise PolicyError(f"{first_attended.isoformat()} is not a school day of the school "
                          f"year ({days.first_day.isoformat()} to {days.last_day.isoformat()}, "
                          "weekdays not marked non-instructional)")
