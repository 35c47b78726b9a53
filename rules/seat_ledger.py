"""The seats of a district's school year after its draw is certified (seed 004, Rule 5110.1
VI.B, VIII.A.3, VIII.B): who holds a seat, who waits in which line, which offers are open and
how many seats each key has left. The policy is docs/lottery.md "Waitlists", "Offers", "One
open offer per student", "Seats that free", "Reopened window allocation" and "Closing the
ledger".

Pure: no clock, no I/O. The lottery workflow passes its own clock (``workflow.now()``) and
turns what each step returns into audit entries and news for the requests, so the steps here
are the stages it reads as. The steps that the workflow interleaves with signalling (expiring
and filling offers) are generators: each offer is made or ended only when the workflow asks
for the next one, so what an Update sees between two signals is what it saw before the ledger
moved here (a replayed history takes the same path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from models.lottery_record import Offer, SeatCount, WaitlistLine
from models.within_district import LotteryResult, Outcome, SeatKey
from rules.calendar import end_of_day, local_date
from rules.errors import PolicyError
from rules.within_windows import offer_accept_last_day


class Freed(StrEnum):
    """What a forfeit did; each is one audit entry, named as the lottery's history names it."""

    seat = "seat_freed"  # it held a seat: the seat is free again
    offer = "offer_forfeited"  # it had an open offer: the offered seat is free again
    waitlist = "left_waitlist"  # it waited: it leaves the line


@dataclass(frozen=True)
class Forfeited:
    what: Freed
    application_id: str
    key: SeatKey


@dataclass(frozen=True)
class Closed:
    """What the first day of school ended: open offers, then the waiting, in line order."""

    offered: list[str]
    waiting: list[str]


@dataclass
class SeatLedger:
    """One lottery's seats after its draw, kept until the first day of school."""

    timezone: str  # the district's: an offer's last day ends at its midnight
    accept_days: int = 10  # docs/lottery.md "Offers": 10 if the district sets none
    students: dict[str, str] = field(default_factory=dict)  # application id -> student id
    left: dict[SeatKey, int] = field(default_factory=dict)  # free seats per key
    waiting: dict[SeatKey, list[str]] = field(default_factory=dict)  # lines, first is next
    offers: dict[str, Offer] = field(default_factory=dict)  # by application id, in offer order
    holders: dict[str, SeatKey] = field(default_factory=dict)  # application id -> its seat
    forfeits: list[str] = field(default_factory=list)  # told, not yet applied

    # ---- the draw's result, and who entered -------------------------------------------

    def entered(self, application_id: str, student_id: str) -> None:
        """Know an application's student: one open offer per student is counted by it."""
        self.students[application_id] = student_id

    def release(self, result: LotteryResult, seats: dict[SeatKey, int]) -> None:
        """VIII.B: the certified draw's placements hold their seats; its waitlists become the
        lines, in drawn order (the result lists each key's waitlisted in position order)."""
        self.left = dict(seats)
        for entry in result.entries:
            if entry.outcome is Outcome.placed:
                self.holders[entry.application_id] = entry.seat_key
                self.left[entry.seat_key] -= 1
            elif entry.outcome is Outcome.waitlisted:
                self.waiting.setdefault(entry.seat_key, []).append(entry.application_id)

    # ---- seats that free (docs/lottery.md "Seats that free") ----------------------------

    def forfeit(self, application_id: str) -> None:
        """A request no longer holds or wants its seat; applied by ``apply_forfeits``."""
        self.forfeits.append(application_id)

    def apply_forfeits(self) -> list[Forfeited]:
        """Free the seats and offers the forfeits held and take them out of every line, in the
        order they were told. A forfeit of nothing the ledger keeps does nothing."""
        done: list[Forfeited] = []
        while self.forfeits:
            app_id = self.forfeits.pop(0)
            if app_id in self.holders:
                key = self.holders.pop(app_id)
                self.left[key] = self.left.get(key, 0) + 1
                done.append(Forfeited(Freed.seat, app_id, key))
            elif app_id in self.offers:
                offer = self.offers.pop(app_id)
                self.left[offer.key] = self.left.get(offer.key, 0) + 1
                done.append(Forfeited(Freed.offer, app_id, offer.key))
            for key, line in self.waiting.items():
                if app_id in line:
                    line.remove(app_id)
                    done.append(Forfeited(Freed.waitlist, app_id, key))
        return done

    def add_seats(self, key: SeatKey, seats: int) -> None:
        """VII: seats designated after the draw go to the next in line for the key."""
        self.left[key] = self.left.get(key, 0) + seats
        self.waiting.setdefault(key, [])

    # ---- offers (docs/lottery.md "Offers", "One open offer per student") ----------------

    def offer_ends(self, offer: Offer) -> datetime:
        """An offer is open through the end of its last day, the district's midnight."""
        return end_of_day(offer.last_day, self.timezone)

    def deadlines(self) -> list[datetime]:
        """When each open offer ends: the ledger has work to do at the earliest."""
        return [self.offer_ends(o) for o in self.offers.values()]

    def expire(self, now: datetime) -> Iterator[Offer]:
        """End each offer not accepted by the end of its last day, freeing its seat; one at a
        time, as the caller tells each parent."""
        for app_id, offer in list(self.offers.items()):
            if now < self.offer_ends(offer):
                continue
            del self.offers[app_id]
            self.left[offer.key] = self.left.get(offer.key, 0) + 1
            yield offer

    def fill(self, clock: Callable[[], datetime]) -> Iterator[Offer]:
        """Offer every free seat to the first in its key's line who holds no open offer (one
        open offer per student), keys in their order; one offer at a time, each made at
        ``clock()``, open through ``accept_days`` after today."""
        today = local_date(clock(), self.timezone)
        for key in sorted(self.waiting, key=SeatKey.sort_key):
            line = self.waiting[key]
            while self.left.get(key, 0) > 0:
                busy = {o.student_id for o in self.offers.values()}
                nxt = next((a for a in line if self.student(a) not in busy), None)
                if nxt is None:
                    break
                line.remove(nxt)
                self.left[key] -= 1
                offer = Offer(
                    application_id=nxt, student_id=self.student(nxt), key=key,
                    offered_at=clock(), last_day=offer_accept_last_day(today, self.accept_days),
                )
                self.offers[nxt] = offer
                yield offer

    def open_offer(self, application_id: str, now: datetime) -> Offer:
        """The offer a parent's answer is for; refused when there is none or it has ended."""
        offer = self.offers.get(application_id)
        if offer is None:
            raise PolicyError(f"application {application_id} has no open offer")
        if now >= self.offer_ends(offer):
            raise PolicyError(
                f"the offer to {application_id} ended with "
                f"{offer.last_day.isoformat()}; it passes to the next in line"
            )
        return offer

    def accept(self, application_id: str) -> Offer:
        """Accepted: the student holds the offered seat."""
        offer = self.offers.pop(application_id)
        self.holders[application_id] = offer.key
        return offer

    def decline(self, application_id: str) -> Offer:
        """Declined: the seat is free for the next in line."""
        offer = self.offers.pop(application_id)
        self.left[offer.key] = self.left.get(offer.key, 0) + 1
        return offer

    # ---- the reopened window (docs/lottery.md "Reopened window allocation") -------------

    def holds_or_is_offered(self, student_id: str) -> bool:
        """VIII.A.3 refuses a student who already holds or is offered a seat."""
        return any(self.student(a) == student_id for a in [*self.holders, *self.offers])

    def enter_reopened(self, application_id: str, key: SeatKey) -> int | None:
        """First come, first served behind those already waiting: placed (None) only when a
        seat is left and nobody waits for the key; else the position it joins the line at."""
        line = self.waiting.setdefault(key, [])
        if self.left.get(key, 0) > 0 and not line:
            self.left[key] -= 1
            self.holders[application_id] = key
            return None
        line.append(application_id)
        return len(line)

    # ---- the first day of school (docs/lottery.md "Closing the ledger") -----------------

    def close(self) -> Closed:
        """The next-year process ends: every open offer and every line ends with it."""
        closed = Closed(
            offered=list(self.offers),
            waiting=[a for line in self.waiting.values() for a in line],
        )
        self.offers.clear()
        self.waiting.clear()
        return closed

    # ---- what the record shows (docs/lottery.md "Waitlists") ----------------------------

    def position(self, application_id: str) -> int | None:
        """The application's place in line now (1 is offered the next seat)."""
        for line in self.waiting.values():
            if application_id in line:
                return line.index(application_id) + 1
        return None

    def seats_left(self) -> list[SeatCount]:
        return [
            SeatCount(key=k, seats=n)
            for k, n in sorted(self.left.items(), key=lambda kv: kv[0].sort_key())
        ]

    def waitlists(self) -> list[WaitlistLine]:
        return [
            WaitlistLine(key=k, application_ids=list(v))
            for k, v in sorted(self.waiting.items(), key=lambda kv: kv[0].sort_key())
            if v
        ]

    def open_offers(self) -> list[Offer]:
        return list(self.offers.values())

    def holder_ids(self) -> list[str]:
        return sorted(self.holders)

    def student(self, application_id: str) -> str:
        return self.students.get(application_id, "")
