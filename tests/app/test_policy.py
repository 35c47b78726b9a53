"""The district's policy as data (app/policy.py): each number from the district's file or the
rules' constants, and each process only where the district runs it."""

from __future__ import annotations

from datetime import date, timedelta

from app import policy
from districts import load_district, load_within_district
from rules import deadlines, revocation
from rules.documents import REASON_EVIDENCE
from rules.tiers import TIER_LABELS

TODAY = date(2026, 12, 3)


def test_an_interdistrict_districts_policy_comes_from_its_file_and_the_rules() -> None:
    config = load_district("paramount")
    settings = config.interdistrict
    assert settings is not None
    found = policy.policy("paramount", TODAY)
    assert found.within is None
    inter = found.interdistrict
    assert inter is not None
    assert [y.school_year for y in inter.years] == sorted(
        y for y, d in config.calendar.items() if d.last_day >= TODAY)
    for year in inter.years:
        first_day = config.calendar[year.school_year].first_day
        assert year.opens == date(int(year.school_year[:4]), settings.opens_month,
                                  settings.opens_day)
        assert year.early_last_day == first_day + timedelta(
            days=deadlines.STATUTE_AFTER_FIRST_DAY_DAYS)
        # EC 46600.2: the 15th day before the first day is already in the short window.
        assert deadlines.statutory_decision_last_day(year.short_window_from, first_day) == (
            year.short_window_from + timedelta(days=deadlines.STATUTE_DECISION_DAYS))
    assert inter.decision_promise_days == settings.decision_promise_days
    assert inter.document_deadline_days == settings.document_deadline_days
    assert inter.appeal_body == settings.appeal_body
    assert inter.county_extended_days == deadlines.COUNTY_EXTENDED_DAYS  # a class 1 county
    assert inter.never_revoked_from_grade == revocation.NEVER_REVOKED_FROM_GRADE
    assert {r.reason for r in inter.reasons_out} == {r.value for r in REASON_EVIDENCE}
    assert len(inter.agreements) == len(config.agreements)


def test_a_within_district_districts_policy_has_its_windows_tiers_and_seats() -> None:
    config = load_within_district("millard")
    found = policy.policy("millard", TODAY)
    assert found.interdistrict is None
    within = found.within
    assert within is not None
    assert within.tiers == TIER_LABELS
    assert within.offer_accept_days == config.within_district.offer_accept_days
    year = next(y for y in within.years if y.school_year == "2027-2028")
    # VIII.A.2: in person until 5:00 p.m. on February 15, online through the end of that day
    closing_day = date(2027, config.within_district.next_year_closes_month,
                       config.within_district.next_year_closes_day)
    in_person = year.next_year_in_person_closes
    assert in_person is not None
    assert in_person.hour == config.within_district.next_year_closes_time.hour
    assert in_person.date() == closing_day
    assert year.next_year_last_day == closing_day
    assert year.next_year_closes.date() == closing_day + timedelta(days=1)
    assert sum(s.seats for s in year.seats) == sum(
        e.seats for e in config.open_seats if e.school_year == "2027-2028")
    assert "Elk Ridge Elementary School" in within.overcrowded_schools
