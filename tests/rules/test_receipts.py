"""Paper forms' received times (rules/receipts.py; docs/cross-cutting.md "Paper forms") and
the district setting that bounds their entry (``paper_entry_days``)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from districts import load_district
from models.district import DistrictConfig
from models.within_district_config import WithinDistrictConfig
from rules import calendar, within_windows
from rules.errors import PolicyError
from rules.receipts import (
    check_received,
    entry_last_day,
    paper_entry_closes,
    parse_received_at,
)

TZ = "America/Chicago"
SHIPPED = Path(__file__).resolve().parents[2] / "districts"
RECEIVED = calendar.at_local(datetime(2027, 2, 15).date(), time(16, 59), TZ)  # 4:59 p.m.


def test_a_form_is_entered_through_the_end_of_its_last_entry_day() -> None:
    last = entry_last_day(RECEIVED, 3, TZ)
    assert last.isoformat() == "2027-02-18"
    check_received(RECEIVED, calendar.end_of_day(last, TZ) - timedelta(seconds=1), 3, TZ)
    with pytest.raises(PolicyError, match="had to be entered by the end of 2027-02-18"):
        check_received(RECEIVED, calendar.end_of_day(last, TZ), 3, TZ)


def test_no_entry_days_means_the_same_day() -> None:
    check_received(RECEIVED, calendar.at_local(RECEIVED.date(), time(23, 59), TZ), 0, TZ)
    with pytest.raises(PolicyError, match="entered by the end of 2027-02-15"):
        check_received(RECEIVED, calendar.end_of_day(RECEIVED.date(), TZ), 0, TZ)


def test_a_received_time_in_the_future_is_refused() -> None:
    check_received(RECEIVED, RECEIVED, 3, TZ)  # received the moment it is entered
    with pytest.raises(PolicyError, match="in the future"):
        check_received(RECEIVED + timedelta(seconds=1), RECEIVED, 3, TZ)


def test_a_naive_received_time_is_refused() -> None:
    with pytest.raises(PolicyError, match="must carry a time zone"):
        check_received(RECEIVED.replace(tzinfo=None), RECEIVED, 3, TZ)


def test_the_lottery_takes_paper_until_the_entry_period_of_the_close_ends() -> None:
    # Paper is delivered in person: its period runs from the 5:00 p.m. close (VIII.A.2),
    # through the end of February 18 with 3 days, not from the online close at midnight.
    window = within_windows.next_year_window("2027-2028", TZ)
    closes = within_windows.in_person_close(window)
    assert closes == calendar.at_local(RECEIVED.date(), time(17, 0), TZ)
    assert paper_entry_closes(closes, 3, TZ) == calendar.end_of_day(closes.date() + (
        timedelta(days=3)), TZ)


def test_received_at_is_read_in_the_districts_zone() -> None:
    assert parse_received_at("2027-02-15 16:50", TZ) == calendar.at_local(
        RECEIVED.date(), time(16, 50), TZ)
    assert parse_received_at("2027-02-15T22:50:00+00:00", TZ) == datetime(
        2027, 2, 15, 22, 50, tzinfo=UTC)
    with pytest.raises(PolicyError, match="not a date and time"):
        parse_received_at("yesterday at five", TZ)
    with pytest.raises(PolicyError, match="does not exist in America/Chicago"):
        parse_received_at("2027-03-14 02:30", TZ)  # the clocks skip 2:00-3:00 that night


def test_a_paper_form_received_before_the_window_opened_is_in_no_window() -> None:
    millard = WithinDistrictConfig.model_validate(
        tomllib.loads((SHIPPED / "millard.toml").read_text()))
    year = "2027-2028"
    windows = within_windows.year_windows(
        millard.within_district, year, millard.calendar[year].first_day, TZ)
    opens = windows.next_year.opens
    assert within_windows.kind_in(windows, year, opens).value == "next_year"
    with pytest.raises(PolicyError, match="no window for 2027-2028 is open"):
        within_windows.kind_in(windows, year, opens - timedelta(seconds=1))


def _data(name: str) -> dict[str, Any]:
    return tomllib.loads((SHIPPED / f"{name}.toml").read_text())


def test_the_shipped_districts_give_three_days() -> None:
    assert load_district("paramount").paper_entry_days == 3
    assert WithinDistrictConfig.model_validate(_data("millard")).paper_entry_days == 3


@pytest.mark.parametrize("value", [-1, 15, "three", 2.5])
def test_a_bad_paper_entry_days_is_refused(value: object) -> None:
    data = _data("paramount")
    data["paper_entry_days"] = value
    with pytest.raises(ValueError, match="paper_entry_days"):
        DistrictConfig.model_validate(data)


def test_a_paper_entry_period_that_reaches_the_notification_day_is_refused() -> None:
    data = _data("millard")
    data["paper_entry_days"] = 13  # February 15 + 13 = February 28: certified by March 1
    WithinDistrictConfig.model_validate(data)
    data["paper_entry_days"] = 14  # March 1: parents must be told that day
    with pytest.raises(ValueError, match="paper_entry_days .14. must end before parents"):
        WithinDistrictConfig.model_validate(data)
