"""When a form counts as received, and how long staff have to enter a paper one (issue 19,
"Intake reads the staff machine's clock"; docs/cross-cutting.md "Paper forms").

A form handed in on paper counts as received when it was received, not when it was typed in:
Rule 5110.1 VIII.A.2 counts forms "received no later than 5:00 p.m.". Its received time may
not be in the future, and staff must enter it within the district's ``paper_entry_days`` of
the day it was received (the end of that day, in the district's zone: docs/cross-cutting.md
"Deadlines end at the end of the day"). Pure: the workflows call these with their own clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.calendar import end_of_day, local_date
from rules.errors import PolicyError


def _aware(instant: datetime, what: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise PolicyError(f"the {what} must carry a time zone")


def entry_last_day(received: datetime, entry_days: int, tz: str) -> date:
    """The last day a form received at ``received`` may be entered: ``entry_days`` after the
    day it was received (0: that same day)."""
    if entry_days < 0:
        raise PolicyError(f"paper_entry_days must be 0 or more, not {entry_days}")
    return local_date(received, tz) + timedelta(days=entry_days)


def check_received(received: datetime, now: datetime, entry_days: int, tz: str) -> None:
    """A received time as staff give it, judged at ``now``: not in the future, and entered by
    the end of its last entry day (``entry_last_day``)."""
    _aware(received, "received time")
    _aware(now, "time of entry")
    zone = ZoneInfo(tz)
    if received > now:
        raise PolicyError(
            f"the form's received time {received.astimezone(zone).isoformat()} is in the "
            f"future (it is {now.astimezone(zone).isoformat()})"
        )
    last = entry_last_day(received, entry_days, tz)
    if now >= end_of_day(last, tz):
        raise PolicyError(
            f"a paper form received {received.astimezone(zone).isoformat()} had to be entered "
            f"by the end of {last.isoformat()} ({entry_days} days after it was received: the "
            f"district's paper_entry_days); it is {now.astimezone(zone).isoformat()}"
        )


def paper_entry_closes(window_closes: datetime, entry_days: int, tz: str) -> datetime:
    """The end of the entry period of the last form a window takes (received just before its
    close): until then a form received in the window may still be entered, so a lottery's draw
    is certified only after it (docs/lottery.md "Paper forms after the close")."""
    last_received = window_closes - timedelta(microseconds=1)
    return end_of_day(entry_last_day(last_received, entry_days, tz), tz)


def parse_received_at(text: str, tz: str) -> datetime:
    """``2027-02-15 16:50`` (the district's zone) or an ISO instant with its offset; a local
    time the clocks skip (the spring change) is refused, never guessed."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PolicyError(
            f"received time {text!r} is not a date and time such as '2027-02-15 16:50'"
        ) from None
    if parsed.tzinfo is not None:
        return parsed
    zone = ZoneInfo(tz)
    local = parsed.replace(tzinfo=zone)
    if local.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None) != parsed:
        raise PolicyError(f"received time {text!r} does not exist in {tz} (the clocks skip it)")
    return local
