"""Deadlines of the interdistrict permit process (seed 000, "What are the applicable
timelines?"; EC 46600.2). Each function returns the *last day*, a date in the district's
zone; the instant it ends is ``rules.calendar.end_of_day(last_day, tz)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

STATUTE_SHORT_WINDOW_DAYS = 15  # EC 46600.2: "15 or fewer calendar days" before the first day
STATUTE_DECISION_DAYS = 30  # ... decided within 30 calendar days of receipt
STATUTE_AFTER_FIRST_DAY_DAYS = 14  # ... else no later than 14 days after the first day
APPEAL_WINDOW_DAYS = 30  # appeal to the county within 30 calendar days of the final denial
COUNTY_DECISION_DAYS = 30  # the county board decides within 30 days of filing
COUNTY_EXTENDED_DAYS = 60  # ... or 60 when it extends with a stated reason
EXTENDING_COUNTY_CLASSES = frozenset({1, 2})  # EC 46601 as amended in 2023 (SB 413)


@dataclass(frozen=True)
class DecisionDeadlines:
    statutory: date  # EC 46600.2: past it, no written decision is a denial (EC 46600.1)
    promise: date  # the district's own promise, "within 30 calendar days of receiving"
    due: date  # the earlier of the two: when staff must have decided


def statutory_decision_last_day(received: date, first_day: date) -> date:
    """EC 46600.2: received 15 or fewer calendar days before the first day of school (the
    15th day included) or after it, 30 days from receipt; received more than 15 days before,
    no later than 14 days after the first day."""
    if (first_day - received).days <= STATUTE_SHORT_WINDOW_DAYS:
        return received + timedelta(days=STATUTE_DECISION_DAYS)
    return first_day + timedelta(days=STATUTE_AFTER_FIRST_DAY_DAYS)


def decision_deadlines(received: date, first_day: date, promise_days: int) -> DecisionDeadlines:
    """The due date is the earlier of the statute and the district's promise."""
    statutory = statutory_decision_last_day(received, first_day)
    promise = received + timedelta(days=promise_days)
    return DecisionDeadlines(statutory=statutory, promise=promise, due=min(statutory, promise))


def appeal_last_day(letter_date: date) -> date:
    """Seed 000: appeal to the county "within 30 calendar days from the date of the
    District's final denial", counted from the letter's date."""
    return letter_date + timedelta(days=APPEAL_WINDOW_DAYS)


def county_decision_last_day(filed: date, extended: bool = False) -> date:
    """EC 46601: the county board decides within 30 days of filing, 60 if it extends."""
    return filed + timedelta(days=COUNTY_EXTENDED_DAYS if extended else COUNTY_DECISION_DAYS)


def days_after(start: date, days: int) -> date:
    """A district-set deadline ("N calendar days after start"): documents, release."""
    return start + timedelta(days=days)


def reminder_days(due: date, days_before: list[int], today: date) -> list[date]:
    """The days staff are reminded before a decision falls due, earliest first; those
    already past are dropped."""
    days = {due - timedelta(days=n) for n in days_before if n > 0}
    return sorted(d for d in days if d > today)


def extension_refusal(county_class: int | None, circumstance: object | None) -> str | None:
    """EC 46601 (as amended by SB 413, Stats. 2023, ch. 606): only the county board of a
    class 1 or class 2 county (EC 46600.1(a)) may extend its decision, to at most 60
    calendar days after filing, and only in one of the circumstances the statute names
    (``models.decisions.ExtensionCircumstance``). Why this extension is refused, or None."""
    if county_class is None:
        return ("the district's county class is not configured (county_class): only a class 1 "
                "or class 2 county may extend its decision (EC 46601)")
    if county_class not in EXTENDING_COUNTY_CLASSES:
        return (f"only a class 1 or class 2 county may extend its decision to 60 days (EC "
                f"46601); this district's county is class {county_class}: it decides within 30")
    if circumstance is None:
        return ("an extension must name its circumstance (EC 46601): party_delay, "
                "hearing_availability, parent_asked_delay or window_closed")
    return None
