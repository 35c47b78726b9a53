"""Impossible dates and school years, a request before its window, and a request made
twice: cases that `transfers` must refuse, naming the problem, changing nothing
(tests/e2e/bad_input/test_cli.py)."""

from __future__ import annotations

from tests.support.bad_input import (
    SUBMIT,
    SUBMIT_WITHIN,
    Case,
    permit,
    permit_form,
    within_form,
)

CASES = [
    # -- impossible dates and years
    Case("impossible-date-in-toml", SUBMIT, ("malformed",),
         b'district = "baddistrict"\nschool_year = 2027-02-30\n', ".toml"),
    Case("school-year-not-consecutive", SUBMIT, ("must be two consecutive years",),
         permit(school_year="2026-2030")),
    Case("school-year-year-zero", SUBMIT, ("school year",), permit(school_year="0000-0001")),
    Case("school-year-not-in-calendar", SUBMIT, ("not in baddistrict's calendar",),
         permit(school_year="2099-2100")),
    Case("appeal-filed-on-impossible-date",
         ("appeal", "{denied}", "--filed-on", "2027-02-30", "--actor", "clerk"),
         ("--filed-on", "'2027-02-30' is not a date"), touches=("denied",)),
    Case("appeal-filed-in-the-future",
         ("appeal", "{denied}", "--filed-on", "2999-01-01", "--actor", "clerk"),
         ("cannot be filed in the future",), touches=("denied",)),
    Case("appeal-filed-before-the-denial",
         ("appeal", "{denied}", "--filed-on", "2000-01-01", "--actor", "clerk"),
         ("cannot be filed before the denial",), touches=("denied",)),
    Case("list-due-before-impossible-date", ("list", "--due-before", "2027-13-01"),
         ("--due-before", "is not a date")),
    Case("leave-program-not-placed",
         ("leave-program", "{w_review}", "--actor", "olsen"),
         ("not a placement",), touches=("w_review",)),
    # -- a request before its window, and twice
    Case("before-the-window", SUBMIT, ("requests for school year", "open on"),
         lambda y: permit_form(y, "BAD-EARLY", school_year=y.permit_later)),
    Case("within-before-the-window", SUBMIT_WITHIN, ("no window for", "is open"),
         lambda y: within_form(y, "W-EARLY", y.later)),
    Case("duplicate-request", SUBMIT, ("already has an open request",),
         lambda y: permit_form(y, "BAD-OPEN")),
    Case("within-duplicate-request", SUBMIT_WITHIN, ("already has an open within-district",
                                                     "VI.C"),
         lambda y: within_form(y, "W-REVIEW")),
    Case("within-duplicate-other-year", SUBMIT_WITHIN, ("already has an open within-district",),
         lambda y: within_form(y, "W-LOTTERY")),
]
