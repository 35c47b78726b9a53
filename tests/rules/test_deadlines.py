"""rules/deadlines.py and rules/calendar.py: EC 46600.2 and the district's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models.decisions import ExtensionCircumstance
from models.district import InterdistrictSettings
from rules import calendar, deadlines

LA = "America/Los_Angeles"
FIRST_DAY = date(2027, 8, 11)  # Paramount's first day of 2027-2028 (a Wednesday)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- EC 46600.2: the statutory last day --------------------------------------------------


def test_received_exactly_15_days_before_first_day_gets_30_days_from_receipt() -> None:
    received = FIRST_DAY - timedelta(days=15)  # July 27: "15 or fewer" includes the 15th day
    assert received == date(2027, 7, 27)
    assert deadlines.statutory_decision_last_day(received, FIRST_DAY) == date(2027, 8, 26)


def test_received_16_days_before_first_day_gets_14_days_after_first_day() -> None:
    received = FIRST_DAY - timedelta(days=16)  # July 26: more than 15 days before
    assert deadlines.statutory_decision_last_day(received, FIRST_DAY) == date(2027, 8, 25)


def test_received_long_before_first_day_gets_14_days_after_first_day() -> None:
    assert deadlines.statutory_decision_last_day(date(2027, 2, 1), FIRST_DAY) == date(
        2027, 8, 25
    )


@pytest.mark.parametrize("days_before", [14, 1])
def test_received_inside_the_short_window_gets_30_days_from_receipt(days_before: int) -> None:
    received = FIRST_DAY - timedelta(days=days_before)
    assert deadlines.statutory_decision_last_day(received, FIRST_DAY) == received + timedelta(
        days=30
    )


@pytest.mark.parametrize("days_after", [0, 1, 14, 200])
def test_received_on_or_after_first_day_gets_30_days_from_receipt(days_after: int) -> None:
    received = FIRST_DAY + timedelta(days=days_after)
    assert deadlines.statutory_decision_last_day(received, FIRST_DAY) == received + timedelta(
        days=30
    )


def test_the_two_branches_meet_without_a_gap_at_the_boundary() -> None:
    # 16 days before: Aug 25; 15 days before: Aug 26. One more day of receipt, one more day.
    sixteen = deadlines.statutory_decision_last_day(FIRST_DAY - timedelta(days=16), FIRST_DAY)
    fifteen = deadlines.statutory_decision_last_day(FIRST_DAY - timedelta(days=15), FIRST_DAY)
    assert fifteen - sixteen == timedelta(days=1)


# ---- the due date: the earlier of statute and promise ------------------------------------


def test_promise_earlier_than_statute_sets_the_due_date() -> None:
    # Received March 1: the statute gives until Aug 25, the promise until March 31.
    due = deadlines.decision_deadlines(date(2027, 3, 1), FIRST_DAY, promise_days=30)
    assert due.statutory == date(2027, 8, 25)
    assert due.promise == date(2027, 3, 31)
    assert due.due == date(2027, 3, 31)


def test_statute_earlier_than_promise_sets_the_due_date() -> None:
    # Received July 20 (22 days before): the statute says Aug 25, the promise Aug 19 (30 days);
    # with a 45-day promise (Sept 3) the statute is earlier.
    received = date(2027, 7, 20)
    due = deadlines.decision_deadlines(received, FIRST_DAY, promise_days=45)
    assert due.statutory == date(2027, 8, 25)
    assert due.promise == date(2027, 9, 3)
    assert due.due == date(2027, 8, 25)


def test_equal_statute_and_promise_in_the_short_window() -> None:
    received = FIRST_DAY - timedelta(days=10)
    due = deadlines.decision_deadlines(received, FIRST_DAY, promise_days=30)
    assert due.statutory == due.promise == due.due == received + timedelta(days=30)


@given(
    received=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    first_day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    promise_days=st.integers(min_value=1, max_value=120),
)
def test_due_is_the_earlier_of_statute_and_promise(
    received: date, first_day: date, promise_days: int
) -> None:
    due = deadlines.decision_deadlines(received, first_day, promise_days)
    assert due.due <= due.statutory
    assert due.due <= due.promise
    assert due.due in (due.statutory, due.promise)
    assert due.promise == received + timedelta(days=promise_days)
    # The statutory branch follows EC 46600.2 and never ends before receipt.
    if (first_day - received).days <= 15:
        assert due.statutory == received + timedelta(days=30)
    else:
        assert due.statutory == first_day + timedelta(days=14)
    assert due.statutory > received


# ---- appeals and the county ---------------------------------------------------------------


def test_appeal_last_day_is_30_calendar_days_from_the_letter() -> None:
    assert deadlines.appeal_last_day(date(2027, 3, 1)) == date(2027, 3, 31)


def test_appeal_last_day_crosses_months_and_leap_days() -> None:
    assert deadlines.appeal_last_day(date(2028, 2, 1)) == date(2028, 3, 2)  # 2028 is leap
    assert deadlines.appeal_last_day(date(2027, 2, 1)) == date(2027, 3, 3)
    assert deadlines.appeal_last_day(date(2027, 12, 15)) == date(2028, 1, 14)


def test_county_decision_last_day_is_30_days_or_60_when_extended() -> None:
    filed = date(2027, 4, 1)
    assert deadlines.county_decision_last_day(filed) == date(2027, 5, 1)
    assert deadlines.county_decision_last_day(filed, extended=False) == date(2027, 5, 1)
    assert deadlines.county_decision_last_day(filed, extended=True) == date(2027, 5, 31)


def test_days_after() -> None:
    assert deadlines.days_after(date(2027, 3, 1), 14) == date(2027, 3, 15)


# ---- reminders ---------------------------------------------------------------------------


def test_reminders_are_sorted_earliest_first() -> None:
    due = date(2027, 3, 31)
    assert deadlines.reminder_days(due, [2, 7], date(2027, 3, 1)) == [
        date(2027, 3, 24),
        date(2027, 3, 29),
    ]


def test_reminders_already_past_or_today_are_dropped() -> None:
    due = date(2027, 3, 31)
    # March 24 (7 before) is today: dropped; March 29 (2 before) is still ahead.
    assert deadlines.reminder_days(due, [7, 2], date(2027, 3, 24)) == [date(2027, 3, 29)]
    assert deadlines.reminder_days(due, [7, 2], date(2027, 3, 23)) == [
        date(2027, 3, 24),
        date(2027, 3, 29),
    ]
    assert deadlines.reminder_days(due, [7, 2], date(2027, 3, 30)) == []


def test_reminders_ignore_non_positive_offsets_and_duplicates() -> None:
    due = date(2027, 3, 31)
    assert deadlines.reminder_days(due, [0, -3, 2, 2], date(2027, 3, 1)) == [date(2027, 3, 29)]
    assert deadlines.reminder_days(due, [], date(2027, 3, 1)) == []


# ---- calendar ----------------------------------------------------------------------------


def test_end_of_day_is_local_midnight_starting_the_next_day() -> None:
    # March 31, 2027 in Los Angeles (PDT, UTC-7) ends at 07:00 UTC on April 1.
    end = calendar.end_of_day(date(2027, 3, 31), LA)
    assert end.astimezone(UTC) == utc(2027, 4, 1, 7, 0)
    assert calendar.local_date(end, LA) == date(2027, 4, 1)
    assert calendar.local_date(end - timedelta(microseconds=1), LA) == date(2027, 3, 31)


def test_end_of_day_in_winter_is_utc_minus_8() -> None:
    end = calendar.end_of_day(date(2027, 1, 14), LA)
    assert end.astimezone(UTC) == utc(2027, 1, 15, 8, 0)


@pytest.mark.parametrize(
    ("day", "start_utc", "end_utc", "hours"),
    [
        # 2027-03-14: clocks go from 2:00 PST to 3:00 PDT.
        (date(2027, 3, 14), utc(2027, 3, 14, 8, 0), utc(2027, 3, 15, 7, 0), 23),
        # 2027-11-07: clocks go from 2:00 PDT back to 1:00 PST.
        (date(2027, 11, 7), utc(2027, 11, 7, 7, 0), utc(2027, 11, 8, 8, 0), 25),
    ],
    ids=["spring_forward", "fall_back"],
)
def test_end_of_day_on_a_dst_day_is_its_length_after_its_start(
    day: date, start_utc: datetime, end_utc: datetime, hours: int
) -> None:
    start = calendar.end_of_day(day - timedelta(days=1), LA)
    end = calendar.end_of_day(day, LA)
    assert start.astimezone(UTC) == start_utc
    assert end.astimezone(UTC) == end_utc
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours)
    assert calendar.local_date(end - timedelta(seconds=1), LA) == day


def test_within_30_days_of_march_1_runs_through_march_31() -> None:
    last = deadlines.appeal_last_day(date(2027, 3, 1))
    end = calendar.end_of_day(last, LA)
    late_on_the_31st = calendar.at_local(date(2027, 3, 31), time(23, 59, 59), LA)
    assert late_on_the_31st < end
    assert calendar.at_local(date(2027, 4, 1), time(0, 0), LA) == end


def test_local_date_converts_utc_to_the_district_zone() -> None:
    # 03:00 UTC on March 2 is still March 1 in Los Angeles.
    assert calendar.local_date(utc(2027, 3, 2, 3, 0), LA) == date(2027, 3, 1)
    assert calendar.local_date(utc(2027, 3, 2, 9, 0), LA) == date(2027, 3, 2)


def test_at_local_on_a_dst_day() -> None:
    at = calendar.at_local(date(2027, 3, 14), time(8, 0), LA)
    assert at.astimezone(UTC) == utc(2027, 3, 14, 15, 0)  # 8 a.m. PDT


def test_long_date() -> None:
    assert calendar.long_date(date(2027, 3, 31)) == "Wednesday, March 31, 2027"
    assert calendar.long_date(date(2027, 3, 1)) == "Monday, March 1, 2027"


def test_add_days() -> None:
    assert calendar.add_days(date(2027, 12, 31), 1) == date(2028, 1, 1)


# ---- the county's extension (EC 46601 as amended by SB 413, 2023) --------------------------


@pytest.mark.parametrize("county_class", [1, 2])
@pytest.mark.parametrize("circumstance", list(ExtensionCircumstance))
def test_a_class_1_or_2_county_may_extend_in_each_circumstance(
    county_class: int, circumstance: ExtensionCircumstance
) -> None:
    assert deadlines.extension_refusal(county_class, circumstance) is None
    filed = date(2027, 9, 1)
    assert deadlines.county_decision_last_day(filed, extended=True) == date(2027, 10, 31)


@pytest.mark.parametrize(("county_class", "circumstance", "words"), [
    (3, ExtensionCircumstance.party_delay, "class 3"),
    (58, ExtensionCircumstance.window_closed, "class 58"),
    (None, ExtensionCircumstance.party_delay, "not configured"),
    (1, None, "must name its circumstance"),
])
def test_an_extension_elsewhere_or_without_a_circumstance_is_refused(
    county_class: int | None, circumstance: ExtensionCircumstance | None, words: str
) -> None:
    refusal = deadlines.extension_refusal(county_class, circumstance)
    assert refusal is not None and words in refusal


@pytest.mark.parametrize("county_class", [0, 59])
def test_a_county_class_outside_the_governments_classes_is_refused(county_class: int) -> None:
    with pytest.raises(ValidationError, match="county_class"):
        InterdistrictSettings(county_class=county_class)
