"""rules/provisional.py: two school months of 20 school days (EC 46603, EC 37201), counted
on the district's calendar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rules.errors import PolicyError
from rules.provisional import SchoolDays, check_first_attended, provisional_last_day

MONDAY = date(2027, 8, 16)
YEAR = SchoolDays(first_day=date(2027, 8, 11), last_day=date(2028, 6, 1),
                  non_instructional=frozenset({date(2027, 9, 6)}))  # Labor Day


def test_the_40th_school_day_counts_the_first_and_skips_weekends_and_holidays() -> None:
    # Aug 16 + 8 weeks of weekdays ends Friday Oct 8; Labor Day moves it to Monday Oct 11.
    assert provisional_last_day(MONDAY, YEAR) == date(2027, 10, 11)
    assert YEAR.nth_from(MONDAY, 41) == date(2027, 10, 12)
    no_holiday = SchoolDays(YEAR.first_day, YEAR.last_day)
    assert provisional_last_day(MONDAY, no_holiday) == date(2027, 10, 8)


def test_a_year_ending_sooner_ends_it_on_its_last_school_day() -> None:
    year = SchoolDays(first_day=date(2028, 5, 1), last_day=date(2028, 6, 2))  # a Friday
    assert provisional_last_day(date(2028, 5, 22), year) == date(2028, 6, 2)


@pytest.mark.parametrize(("day", "received", "today", "words"), [
    (MONDAY + timedelta(days=1), MONDAY, MONDAY, "in the future"),
    (MONDAY - timedelta(days=3), MONDAY, MONDAY, "before the request was received"),
    (date(2027, 9, 6), MONDAY, date(2027, 9, 7), "not a school day"),  # Labor Day
    (date(2027, 9, 4), MONDAY, date(2027, 9, 7), "not a school day"),  # a Saturday
])
def test_the_first_day_attended_is_a_school_day_between_receipt_and_today(
    day: date, received: date, today: date, words: str
) -> None:
    with pytest.raises(PolicyError, match=words):
        check_first_attended(day, YEAR, received, today)
    check_first_attended(today, YEAR, received, today)  # the day itself, a Monday or Tuesday
