"""When within-district transfer applications are accepted (seed 004, Rule 5110.1 VIII.A,
IX.A) and when the district must have answered (VIII). Every instant is aware; every
date is in the district's zone. Defaults are the seed's; a district's settings
(`models.within_district_config.WithinDistrictSettings`) may pass others.

The one place for these windows: intake (`intake.within.window_for`) asks ``window_kind``
which window a request falls in, and the lottery's input (`intake.lottery.lottery_input`)
takes its close, its reopening and its notification day from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.within_district_config import WithinDistrictSettings
from models.within_request import Span, WithinKind, YearWindows
from rules.calendar import at_local, end_of_day
from rules.eligibility import school_year_start
from rules.errors import PolicyError
from rules.receipts import check_received

CLOSING_TIME = time(17, 0)  # VIII.A.2: "no later than 5:00 p.m. on February 15"


@dataclass(frozen=True)
class Window:
    """Open from ``opens`` (included) until ``closes`` (excluded); forms delivered in person
    until ``in_person_closes`` when that is earlier (VIII.A.2), else until ``closes``."""

    opens: datetime
    closes: datetime
    in_person_closes: datetime | None = None

    def contains(self, instant: datetime, in_person: bool = False) -> bool:
        closes = self.in_person_closes if in_person and self.in_person_closes else self.closes
        return self.opens <= instant < closes


def check_aware(instant: datetime, what: str = "receipt time") -> None:
    """A receipt time without a zone could be any of 24 hours: refused, never guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise PolicyError(f"the {what} must carry a time zone")


def next_year_window(
    school_year: str,
    tz: str,
    opens_month: int = 9,
    opens_day: int = 1,
    closes_month: int = 2,
    closes_day: int = 15,
    closes_at: time = CLOSING_TIME,
    online_until_end_of_day: bool = True,
) -> Window:
    """VIII.A: for the school year starting in year Y, from the start of September 1 of Y-1
    (read as "from September 1": docs/within-district.md "Next-year window"). VIII.A.2 gives
    two closes on February 15 of Y, local time: applications "submitted online by on or
    before February 15" until the end of that day, and those "by personal delivery, received
    no later than 5:00 p.m." until 5:00 p.m.; 5:00:00 p.m. itself is late for them, a
    clock-time close excluding that instant (docs/cross-cutting.md "Clock-time closes").
    ``online_until_end_of_day`` False: every application closes at 5:00 p.m."""
    start = school_year_start(school_year)
    opens = at_local(date(start - 1, opens_month, opens_day), time(0, 0), tz)
    last_day = date(start, closes_month, closes_day)
    in_person = at_local(last_day, closes_at, tz)
    if not online_until_end_of_day:
        return Window(opens=opens, closes=in_person)
    return Window(opens=opens, closes=end_of_day(last_day, tz), in_person_closes=in_person)


def district_next_year_window(
    settings: WithinDistrictSettings, school_year: str, tz: str
) -> Window:
    """VIII.A with the district's dates (the seed's unless its file sets others)."""
    return next_year_window(
        school_year, tz,
        opens_month=settings.next_year_opens_month, opens_day=settings.next_year_opens_day,
        closes_month=settings.next_year_closes_month, closes_day=settings.next_year_closes_day,
        closes_at=settings.next_year_closes_time,
        online_until_end_of_day=settings.online_until_end_of_day,
    )


def in_person_close(window: Window) -> datetime:
    """When forms delivered in person stop being taken (VIII.A.2): 5:00 p.m. on February 15."""
    return window.in_person_closes or window.closes


def current_year_closing_day(first_day: date, closes_month: int = 1, closes_day: int = 15) -> date:
    """IX.A: the first January 15 after the first day of school."""
    day = date(first_day.year, closes_month, closes_day)
    return day if day > first_day else date(first_day.year + 1, closes_month, closes_day)


def current_year_window(
    first_day: date, tz: str, closes_month: int = 1, closes_day: int = 15
) -> Window:
    """IX.A: "after the first day of school and prior to January 15": from the start of the
    first day of school (the first day included, read as "once school has begun") until the
    start of January 15 (January 15 itself refused)."""
    closing = current_year_closing_day(first_day, closes_month, closes_day)
    return Window(opens=school_starts(first_day, tz), closes=at_local(closing, time(0, 0), tz))


def school_starts(first_day: date, tz: str) -> datetime:
    """The start of the first day of school: the current-year window opens (IX.A), the
    reopened window closes and the lottery's ledger closes (VIII.A.3)."""
    return at_local(first_day, time(0, 0), tz)


def reopening(option_enrollment_complete: date, tz: str) -> datetime:
    """VIII.A.3: the window reopens at the start of the day after option enrollment
    completes."""
    return end_of_day(option_enrollment_complete, tz)


def reopened_window(option_enrollment_complete: date, first_day: date, tz: str) -> Window:
    """VIII.A.3: the window "will re-open after the option enrollment application process is
    completed": from the start of the day after the completion date, until the first day of
    school, when the current-year window (IX.A) takes over."""
    if first_day <= option_enrollment_complete:
        raise PolicyError("option enrollment must complete before the first day of school")
    return Window(
        opens=reopening(option_enrollment_complete, tz), closes=school_starts(first_day, tz)
    )


def year_windows(
    settings: WithinDistrictSettings, school_year: str, first_day: date, tz: str
) -> YearWindows:
    """The three windows of ``school_year`` (VIII.A.1-2, VIII.A.3, IX.A), as a request's input
    carries them so that its workflow can judge its receipt on its own clock."""
    window = district_next_year_window(settings, school_year, tz)
    completes = settings.option_enrollment_complete.get(school_year)
    reopened = None
    if completes is not None:
        again = reopened_window(completes, first_day, tz)
        reopened = Span(opens=again.opens, closes=again.closes)
    current = current_year_window(
        first_day, tz, settings.current_year_closes_month, settings.current_year_closes_day
    )
    return YearWindows(
        next_year=Span(opens=window.opens, closes=window.closes),
        reopened=reopened,
        current_year=Span(opens=current.opens, closes=current.closes),
        in_person_closes=window.in_person_closes,
    )


def _contains(span: Span, instant: datetime) -> bool:
    return span.opens <= instant < span.closes


def kind_in(
    windows: YearWindows, school_year: str, instant: datetime, in_person: bool = False
) -> WithinKind:
    """Which window ``instant`` falls in: VIII.A.1-2, VIII.A.3 or IX.A, tried in that order; an
    instant outside all three is refused with the windows it missed (docs/within-district.md
    "No window open"). ``in_person``: a form delivered in person, for which the next-year
    window closes at 5:00 p.m. (VIII.A.2) while online applications are still taken."""
    check_aware(instant)
    zone = windows.next_year.opens.tzinfo
    if _contains(windows.next_year, instant):
        closes = windows.in_person_closes
        if in_person and closes is not None and instant >= closes:
            raise PolicyError(
                f"forms delivered in person for {school_year} closed at "
                f"{closes.astimezone(zone).isoformat()} (VIII.A.2: \"received no later than "
                f"5:00 p.m.\"); applications submitted online are taken until "
                f"{windows.next_year.closes.astimezone(zone).isoformat()}"
            )
        return WithinKind.next_year
    if windows.reopened is not None and _contains(windows.reopened, instant):
        return WithinKind.reopened
    if _contains(windows.current_year, instant):
        return WithinKind.current_year
    again = ""
    if windows.reopened is not None:
        completes = windows.reopened.opens.astimezone(zone).date() - timedelta(days=1)
        again = f"; it reopens the day after {completes.isoformat()} (VIII.A.3)"
    window = windows.next_year
    in_person_until = ""
    if windows.in_person_closes is not None:
        in_person_until = (f" (forms delivered in person until "
                           f"{windows.in_person_closes.isoformat()})")
    raise PolicyError(
        f"no window for {school_year} is open at {instant.astimezone(zone).isoformat()}: "
        f"next-year applications run from {window.opens.isoformat()} until "
        f"{window.closes.isoformat()}{in_person_until} (VIII.A){again}; current-year "
        f"applications from the first day of school until "
        f"{windows.current_year.closes.astimezone(zone).date().isoformat()} (IX.A)"
    )


def window_kind(
    settings: WithinDistrictSettings, school_year: str, first_day: date, tz: str, now: datetime,
    in_person: bool = False,
) -> WithinKind:
    """Which window ``now`` falls in for ``school_year`` (``kind_in``)."""
    check_aware(now)
    return kind_in(year_windows(settings, school_year, first_day, tz), school_year, now,
                   in_person)


def notify_by(school_year: str, month: int = 3, day: int = 1) -> date:
    """VIII: parents are told "on or before March 1 of the preceding school year", i.e. the
    March 1 before the school year starts."""
    return date(school_year_start(school_year), month, day)


def certification_escalation_day(notify_last_day: date, days_before: int) -> date:
    """An uncertified draw is escalated well before the notification deadline
    (docs/lottery.md "Escalation of an uncertified draw")."""
    if days_before < 1:
        raise PolicyError("escalation must come at least one day before the deadline")
    return notify_last_day - timedelta(days=days_before)


def offer_accept_last_day(offered: date, accept_days: int = 10) -> date:
    """A freed seat is offered with a deadline to accept, 10 days if unset
    (docs/lottery.md "Offers")."""
    return offered + timedelta(days=accept_days)


def check_receipt(
    windows: YearWindows,
    school_year: str,
    kind: WithinKind,
    received: datetime,
    now: datetime,
    tz: str,
    paper_entry_days: int | None = None,
) -> None:
    """A request's own verdict at its start, on its clock ``now`` (docs/cross-cutting.md "One
    clock for intake"): its receipt is not in the future; a paper form (``paper_entry_days``
    given) is entered within the district's days of its receipt; and the receipt falls in the
    window the submitting machine chose (``kind``), a paper form's by the close for forms
    delivered in person (VIII.A.2). Any other answer refuses the start. Which channel an
    application without a received time came by is the lottery's to judge, from the proof
    of who entered it (docs/lottery.md "Online and in person")."""
    if paper_entry_days is not None:
        check_received(received, now, paper_entry_days, tz)
    elif received > now:
        raise PolicyError(f"the receipt time {received.isoformat()} is in the future")
    actual = kind_in(windows, school_year, received, in_person=paper_entry_days is not None)
    if actual is not kind:
        raise PolicyError(
            f"received at {received.astimezone(ZoneInfo(tz)).isoformat()} "
            f"by the workflows' clock, the request falls in the {actual.value} window, not the "
            f"{kind.value} one the submitting machine's clock gave: check that machine's clock"
        )
