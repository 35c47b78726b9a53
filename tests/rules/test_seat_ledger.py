"""rules/seat_ledger.py without a server: the seats after a certified draw (seed 004, Rule
5110.1 VI.B, VIII.A.3, VIII.B; docs/lottery.md "Waitlists", "Offers", "One open offer per
student", "Seats that free", "Reopened window allocation", "Closing the ledger"), with the
boundaries, and the draw's properties carried over to the ledger's life after it."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.within_district import Applicant, SeatKey
from rules import lottery
from rules.calendar import end_of_day
from rules.errors import PolicyError
from rules.seat_ledger import Closed, Forfeited, Freed, SeatLedger
from tests.support.draws import IB_9, KEYS, MONT_K, OVERCROWDED, REG_2, app, scenarios

CHI = "America/Chicago"
SEED = "millard-2027-2028-draw-1"
SECOND = timedelta(seconds=1)
NOW = datetime(2027, 3, 5, 9, 0, tzinfo=ZoneInfo(CHI))  # certified, the Friday after March 1


def at(instant: datetime) -> Callable[[], datetime]:
    return lambda: instant


def released(
    people: list[Applicant], seats: dict[SeatKey, int], seed: str = SEED, accept_days: int = 10
) -> SeatLedger:
    """The ledger as the workflow starts it: every application known, then the draw."""
    ledger = SeatLedger(timezone=CHI, accept_days=accept_days)
    for person in people:
        ledger.entered(person.application_id, person.student_id)
    ledger.release(lottery.draw(people, seats, seed, OVERCROWDED), seats)
    return ledger


def line_of(n: int, key: SeatKey = MONT_K, seats: int = 1) -> tuple[SeatLedger, list[str]]:
    """``n`` applications for one key; returns the ledger and the drawn order (placed first)."""
    people = [app(i, key=key) for i in range(n)]
    result = lottery.draw(people, {key: seats}, SEED, OVERCROWDED)
    order = [e.application_id for e in result.placed(key)]
    order += [e.application_id for e in result.waitlist(key)]
    return released(people, {key: seats}), order


# ---- the draw's result ---------------------------------------------------------------


def test_release_holds_the_placements_and_keeps_the_drawn_order() -> None:
    ledger, order = line_of(5, seats=2)
    assert ledger.holder_ids() == sorted(order[:2])
    assert ledger.waiting == {MONT_K: order[2:]}
    assert ledger.left == {MONT_K: 0}
    assert [ledger.position(a) for a in order] == [None, None, 1, 2, 3]
    assert ledger.offers == {} and ledger.forfeits == []


def test_a_key_with_more_seats_than_requests_places_everyone_and_keeps_the_rest() -> None:
    ledger, order = line_of(2, seats=5)
    assert ledger.holder_ids() == sorted(order)
    assert ledger.left == {MONT_K: 3} and ledger.waitlists() == []


# ---- seats that free -----------------------------------------------------------------


def test_a_freed_seat_is_offered_to_the_first_in_line() -> None:
    ledger, order = line_of(4, seats=1)
    ledger.forfeit(order[0])
    assert ledger.left == {MONT_K: 0}  # told, not yet applied
    assert ledger.apply_forfeits() == [Forfeited(Freed.seat, order[0], MONT_K)]
    assert ledger.left == {MONT_K: 1} and order[0] not in ledger.holders
    offers = list(ledger.fill(at(NOW)))
    assert [o.application_id for o in offers] == [order[1]]
    offer = offers[0]
    assert (offer.student_id, offer.key, offer.offered_at) == (f"s{order[1][1:]}", MONT_K, NOW)
    assert offer.last_day == date(2027, 3, 15)  # 10 days after the day it is made
    assert ledger.left == {MONT_K: 0}
    assert [ledger.position(a) for a in order[2:]] == [1, 2]  # the line moved up
    assert list(ledger.fill(at(NOW))) == []  # nothing more to offer


def test_forfeiting_an_offer_frees_it_and_a_waiting_request_leaves_its_line() -> None:
    ledger, order = line_of(4, seats=1)
    ledger.forfeit(order[0])
    ledger.apply_forfeits()
    list(ledger.fill(at(NOW)))
    for application in (order[1], order[3], "a-unknown"):
        ledger.forfeit(application)
    assert ledger.apply_forfeits() == [
        Forfeited(Freed.offer, order[1], MONT_K),
        Forfeited(Freed.waitlist, order[3], MONT_K),
    ]  # in the order told; a forfeit of nothing the ledger keeps does nothing
    assert ledger.offers == {} and ledger.left == {MONT_K: 1}
    assert ledger.waiting == {MONT_K: [order[2]]}
    assert [o.application_id for o in ledger.fill(at(NOW))] == [order[2]]


def test_a_forfeit_told_twice_frees_one_seat() -> None:
    ledger, order = line_of(2, seats=1)
    ledger.forfeit(order[0])
    ledger.forfeit(order[0])
    assert ledger.apply_forfeits() == [Forfeited(Freed.seat, order[0], MONT_K)]
    assert ledger.left == {MONT_K: 1}


def test_added_seats_go_to_the_next_in_line() -> None:
    ledger, order = line_of(4, seats=1)
    ledger.add_seats(MONT_K, 2)
    assert [o.application_id for o in ledger.fill(at(NOW))] == order[1:3]
    assert ledger.left == {MONT_K: 0} and ledger.waiting == {MONT_K: [order[3]]}
    ledger.add_seats(REG_2, 1)  # a key nobody waits for keeps its seat, with an empty line
    assert list(ledger.fill(at(NOW))) == []
    assert ledger.left[REG_2] == 1 and ledger.waiting[REG_2] == []
    assert [s.key for s in ledger.seats_left()] == [REG_2, MONT_K]  # in key order
    assert [w.key for w in ledger.waitlists()] == [MONT_K]  # empty lines are not shown


def test_free_seats_are_offered_key_by_key_in_key_order() -> None:
    people = [app(f"{k}{i}", key=key) for k, key in enumerate(KEYS) for i in range(2)]
    ledger = released(people, dict.fromkeys(KEYS, 1))
    for key in KEYS:
        ledger.add_seats(key, 1)
    offered = [o.key for o in ledger.fill(at(NOW))]
    assert offered == sorted(KEYS, key=SeatKey.sort_key)


# ---- offers --------------------------------------------------------------------------


def offered(accept_days: int = 10) -> tuple[SeatLedger, list[str]]:
    """Two in line behind one placement; the placement forfeits and the first is offered."""
    people = [app(i) for i in range(3)]
    ledger = released(people, {MONT_K: 1}, accept_days=accept_days)
    held = ledger.holder_ids()[0]
    line = list(ledger.waiting[MONT_K])
    ledger.forfeit(held)
    ledger.apply_forfeits()
    assert [o.application_id for o in ledger.fill(at(NOW))] == line[:1]
    return ledger, line


def test_an_offer_is_open_through_the_end_of_its_last_day() -> None:
    ledger, line = offered()
    offer = ledger.offers[line[0]]
    ends = end_of_day(date(2027, 3, 15), CHI)
    assert ledger.offer_ends(offer) == ends == datetime(2027, 3, 16, tzinfo=ZoneInfo(CHI))
    assert ledger.deadlines() == [ends]
    assert ledger.open_offer(line[0], ends - SECOND) == offer  # 11:59:59 p.m.: still open
    assert list(ledger.expire(ends - SECOND)) == []
    with pytest.raises(PolicyError, match=r"ended with 2027-03-15; it passes to the next"):
        ledger.open_offer(line[0], ends)
    assert list(ledger.expire(ends)) == [offer]  # midnight: ended, and its seat is free
    assert ledger.offers == {} and ledger.left == {MONT_K: 1}
    with pytest.raises(PolicyError, match=f"application {line[0]} has no open offer"):
        ledger.open_offer(line[0], ends - SECOND)
    after = list(ledger.fill(at(ends)))
    assert [o.application_id for o in after] == [line[1]]
    assert after[0].last_day == date(2027, 3, 26)  # counted from the day it is made


def test_the_offer_deadline_is_the_districts_setting_in_its_zone() -> None:
    ledger, line = offered(accept_days=3)
    offer = ledger.offers[line[0]]
    assert offer.last_day == date(2027, 3, 8)
    # Midnight Chicago, 06:00 UTC on the day after (CDT from March 14 is not yet in force).
    assert ledger.offer_ends(offer) == datetime(2027, 3, 9, 6, 0, tzinfo=ZoneInfo("UTC"))
    # The day is the district's: 11 p.m. in Chicago on March 5 is March 6 in UTC.
    late = datetime(2027, 3, 5, 23, 0, tzinfo=ZoneInfo(CHI))
    ledger.decline(line[0])
    assert [o.last_day for o in ledger.fill(at(late))] == [date(2027, 3, 8)]


def test_an_accepted_offer_holds_the_seat_and_a_declined_one_passes_on() -> None:
    ledger, line = offered()
    assert ledger.decline(line[0]).application_id == line[0]
    assert ledger.left == {MONT_K: 1} and line[0] not in ledger.holders
    assert [o.application_id for o in ledger.fill(at(NOW))] == [line[1]]
    assert ledger.accept(line[1]).key == MONT_K
    assert ledger.holders[line[1]] == MONT_K and ledger.offers == {}
    assert ledger.left == {MONT_K: 0} and ledger.waiting == {MONT_K: []}


def test_a_student_holds_at_most_one_open_offer() -> None:
    """First in line for two keys at once: the second key's seat goes to the next in its line
    who holds no open offer; with nobody else in line it stays free until the first offer
    is answered."""
    ledger = SeatLedger(timezone=CHI)
    for application, student in [
        ("twice-mont", "s-twice"), ("twice-reg", "s-twice"), ("m2", "s-m2"), ("r2", "s-r2")
    ]:
        ledger.entered(application, student)
    ledger.waiting = {MONT_K: ["twice-mont", "m2"], REG_2: ["twice-reg", "r2"]}
    ledger.left = {MONT_K: 1, REG_2: 1}
    offers = list(ledger.fill(at(NOW)))
    # Keys in order: abbott's regular grade 2 before norris's montessori kindergarten.
    assert [(o.key, o.application_id) for o in offers] == [(REG_2, "twice-reg"), (MONT_K, "m2")]
    assert ledger.waiting == {MONT_K: ["twice-mont"], REG_2: ["r2"]}  # passed over, in place
    assert ledger.position("twice-mont") == 1

    alone = SeatLedger(timezone=CHI)
    alone.entered("x1", "s-x")
    alone.entered("x2", "s-x")
    alone.waiting = {MONT_K: ["x1"], REG_2: ["x2"]}
    alone.left = {MONT_K: 1, REG_2: 1}
    assert [o.application_id for o in alone.fill(at(NOW))] == ["x2"]
    assert alone.left == {MONT_K: 1, REG_2: 0} and alone.waiting[MONT_K] == ["x1"]
    assert list(alone.fill(at(NOW))) == []  # still offered: the seat waits
    alone.decline("x2")
    assert [o.application_id for o in alone.fill(at(NOW))] == ["x1"]


# ---- the reopened window -------------------------------------------------------------


def test_reopened_entries_are_placed_only_when_a_seat_is_left_and_nobody_waits() -> None:
    ledger, order = line_of(1, seats=2)  # one placed, one seat left, nobody waiting
    assert ledger.enter_reopened("r1", MONT_K) is None
    assert ledger.holders["r1"] == MONT_K and ledger.left == {MONT_K: 0}
    assert ledger.enter_reopened("r2", MONT_K) == 1  # no seat: the end of the line
    ledger.add_seats(MONT_K, 1)
    assert ledger.enter_reopened("r3", MONT_K) == 2  # a seat, but someone waits: behind them
    assert [o.application_id for o in ledger.fill(at(NOW))] == ["r2"]
    assert ledger.enter_reopened("r4", IB_9) == 1  # a key with no seat left


def test_a_student_who_holds_or_is_offered_a_seat_is_known() -> None:
    ledger, line = offered()  # the placement forfeited; the first in line is offered
    assert ledger.holds_or_is_offered(f"s{line[0][1:]}")  # offered
    assert not ledger.holds_or_is_offered(f"s{line[1][1:]}")  # waiting only
    ledger.accept(line[0])
    assert ledger.holds_or_is_offered(f"s{line[0][1:]}")  # holds
    assert not ledger.holds_or_is_offered("s-nobody")


# ---- the first day of school ---------------------------------------------------------


def test_closing_ends_every_open_offer_and_every_line() -> None:
    ledger, line = offered()
    ledger.add_seats(REG_2, 1)
    assert ledger.enter_reopened("r1", REG_2) is None
    assert ledger.enter_reopened("r2", REG_2) == 1
    closed = ledger.close()
    assert closed == Closed(offered=[line[0]], waiting=[line[1], "r2"])
    assert ledger.offers == {} and ledger.waitlists() == [] and ledger.deadlines() == []
    assert "r1" in ledger.holders  # a placement is kept: it holds its seat from now on
    assert ledger.close() == Closed(offered=[], waiting=[])


# ---- properties: the draw's, kept through the ledger's life -------------------------


# What staff, parents and the clock do to the ledger, as the workflow lets them.
ACTIONS = ["forfeit", "accept", "decline", "add", "days_pass", "reopened"]
steps = st.lists(
    st.tuples(
        st.sampled_from(ACTIONS),
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=1, max_value=12),
    ),
    max_size=40,
)


@dataclass
class Life:
    """A ledger driven as the workflow drives it, with what the checks need to know."""

    ledger: SeatLedger
    seats: dict[SeatKey, int]
    now: datetime = NOW
    added: dict[SeatKey, int] = field(default_factory=dict)
    lines: dict[SeatKey, list[str]] = field(default_factory=dict)  # everyone ever in line
    expired: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.lines = {k: list(v) for k, v in self.ledger.waiting.items()}
        self.settle()

    def settle(self) -> None:
        """One pass of the workflow's ``_keep_seats``: forfeits, expiries, offers."""
        self.ledger.apply_forfeits()
        for offer in self.ledger.expire(self.now):
            assert self.now >= self.ledger.offer_ends(offer)
            self.expired.append(offer.application_id)
        for offer in self.ledger.fill(at(self.now)):
            assert offer.offered_at == self.now
            assert offer.last_day == self.now.date() + timedelta(days=self.ledger.accept_days)

    def act(self, action: str, pick: int, n: int) -> None:
        ledger = self.ledger
        known = sorted(ledger.students)
        offers = sorted(ledger.offers)
        key = KEYS[pick % len(KEYS)]
        if action == "forfeit" and known:
            ledger.forfeit(known[pick % len(known)])
        elif action in ("accept", "decline") and offers:
            chosen = offers[pick % len(offers)]
            try:
                ledger.open_offer(chosen, self.now)
            except PolicyError:
                return  # the workflow refuses an answer to an ended offer
            (ledger.accept if action == "accept" else ledger.decline)(chosen)
        elif action == "add":
            ledger.add_seats(key, n)
            self.added[key] = self.added.get(key, 0) + n
        elif action == "days_pass":
            self.now += timedelta(days=n, hours=pick % 24)
        elif action == "reopened" and self.seats[key] > 0:
            student = f"stu-{pick % 50}"
            if ledger.holds_or_is_offered(student):
                return  # the workflow refuses it
            app_id = f"reopened-{len(known)}"
            ledger.entered(app_id, student)
            free = ledger.left.get(key, 0) > 0 and not ledger.waiting.get(key)
            position = ledger.enter_reopened(app_id, key)
            assert (position is None) == free  # placed only with a seat left and nobody waiting
            if position is not None:
                self.lines.setdefault(key, []).append(app_id)
                assert position == len(ledger.waiting[key])  # at the end of the line
        self.settle()

    def check(self) -> None:
        ledger = self.ledger
        # No key over its seats: every seat is held, offered or left, none twice.
        for key in {*self.seats, *ledger.left}:
            held = sum(1 for k in ledger.holders.values() if k == key)
            offered_ = sum(1 for o in ledger.offers.values() if o.key == key)
            left = ledger.left.get(key, 0)
            assert left >= 0
            assert held + offered_ + left == self.seats.get(key, 0) + self.added.get(key, 0)
        # Never both: an application holds, is offered or waits, in one line at most once.
        waiting = [a for line in ledger.waiting.values() for a in line]
        assert len(waiting) == len(set(waiting))
        assert not set(waiting) & set(ledger.holders)
        assert not set(waiting) & set(ledger.offers)
        assert not set(ledger.holders) & set(ledger.offers)
        # One open offer per student.
        students = [o.student_id for o in ledger.offers.values()]
        assert len(students) == len(set(students))
        # Lines keep their order (drawn, then receipt); positions are 1..n in it.
        for key, line in ledger.waiting.items():
            ever = self.lines.get(key, [])
            assert [a for a in ever if a in line] == line
            assert [ledger.position(a) for a in line] == list(range(1, len(line) + 1))
        # Nothing left undone: a free seat stays free only while everyone in its line is
        # someone with an open offer, and no open offer has ended.
        busy = {o.student_id for o in ledger.offers.values()}
        for key, line in ledger.waiting.items():
            if ledger.left.get(key, 0) > 0:
                assert all(ledger.student(a) in busy for a in line)
        assert all(self.now < ledger.offer_ends(o) for o in ledger.offers.values())
        # The record shows the ledger as it is.
        assert sum(s.seats for s in ledger.seats_left()) == sum(ledger.left.values())
        assert sorted(a for w in ledger.waitlists() for a in w.application_ids) == sorted(waiting)


def life_of(case: tuple, actions: Sequence[tuple[str, int, int]] = ()) -> Life:
    """The ledger released from the case's draw, then lived through ``actions``."""
    people, seats, seed = case
    life = Life(released(people, seats, seed), seats)
    life.start()
    for action in actions:
        life.act(*action)
    return life


@settings(max_examples=150, deadline=None)
@given(scenarios(), steps)
def test_property_no_key_over_its_seats_one_offer_per_student_lines_in_order(
    case: tuple, actions: list[tuple[str, int, int]]
) -> None:
    life = life_of(case)
    life.check()
    for action in actions:
        life.act(*action)
        life.check()


@settings(max_examples=100, deadline=None)
@given(scenarios(), steps, st.randoms(use_true_random=False))
def test_property_same_seed_same_ledger_whatever_the_input_order(
    case: tuple, actions: list[tuple[str, int, int]], rnd: random.Random
) -> None:
    people, seats, seed = case
    shuffled = list(people)
    rnd.shuffle(shuffled)
    one = life_of(case, actions)
    other = life_of((shuffled, dict(reversed(list(seats.items()))), seed), actions)
    assert one.ledger == other.ledger


@settings(max_examples=100, deadline=None)
@given(scenarios(), steps)
def test_property_closing_ends_everything_open_and_keeps_the_seats_held(
    case: tuple, actions: list[tuple[str, int, int]]
) -> None:
    life = life_of(case, actions)
    holders = dict(life.ledger.holders)
    offers = list(life.ledger.offers)
    waiting = [a for line in life.ledger.waiting.values() for a in line]
    closed = life.ledger.close()
    assert closed == Closed(offered=offers, waiting=waiting)
    assert life.ledger.offers == {} and life.ledger.waitlists() == []
    assert life.ledger.holders == holders
