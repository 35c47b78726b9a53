"""rules/tiers.py and rules/lottery.py: Rule 5110.1 VIII.B-C, VIII.A.3, X.B (seed 004)."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.within_district import (
    Applicant,
    LotteryResult,
    Method,
    Outcome,
    Program,
    Residency,
    SeatKey,
)
from rules import lottery, tiers
from rules.errors import PolicyError
from tests.support.draws import KEYS, MONT_K, OVERCROWDED, REG_2, app, scenarios

SEED = "millard-2027-2028-draw-1"

def label(a: Applicant, overcrowded: frozenset[str] = frozenset()) -> str:
    return tiers.tier_of(a, a.program, overcrowded).label


# ---- VIII.C: each tier ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("residency", "sibling", "key", "expected"),
    [
        (Residency.attendance_area, False, MONT_K, "1"),
        (Residency.attendance_area, True, MONT_K, "1"),
        (Residency.other_resident, True, MONT_K, "2a"),
        (Residency.other_resident, True, REG_2, "2a"),
        (Residency.other_resident, False, MONT_K, "2b"),
        (Residency.other_resident, False, REG_2, "2c"),
        (Residency.option_enrollment, False, MONT_K, "3a"),
        (Residency.option_enrollment, True, MONT_K, "3a"),  # sibling priority is residents'
        (Residency.option_enrollment, False, REG_2, "3b"),
        (Residency.option_enrollment, True, REG_2, "3b"),
        (Residency.non_resident, False, MONT_K, "4a"),
        (Residency.non_resident, False, REG_2, "4b"),
    ],
)
def test_each_tier(residency: Residency, sibling: bool, key: SeatKey, expected: str) -> None:
    assert label(app(1, residency, key, sibling=sibling)) == expected


@pytest.mark.parametrize("program", [Program.core, Program.montessori, Program.ib])
def test_core_montessori_ib_are_special_programs(program: Program) -> None:
    key = SeatKey(school="x", program=program, grade=3)
    assert label(app(1, Residency.other_resident, key)) == "2b"
    assert label(app(1, Residency.attendance_area, key)) == "1"


def test_attendance_area_student_asking_for_own_regular_program_needs_no_transfer() -> None:
    with pytest.raises(tiers.NoTransferNeeded, match="needs no transfer"):
        tiers.tier_of(app(1, Residency.attendance_area, REG_2), Program.regular)


def test_tiers_sort_in_viii_c_order() -> None:
    cases = [
        app(8, Residency.non_resident, REG_2),
        app(7, Residency.non_resident, MONT_K),
        app(6, Residency.option_enrollment, REG_2),
        app(5, Residency.option_enrollment, MONT_K),
        app(4, Residency.other_resident, REG_2),
        app(3, Residency.other_resident, MONT_K),
        app(2, Residency.other_resident, REG_2, sibling=True),
        app(1, Residency.attendance_area, MONT_K),
    ]
    ordered = sorted(cases, key=lambda a: tiers.tier_of(a, a.program))
    assert [label(a) for a in ordered] == list(tiers.TIER_LABELS)


def test_overcrowding_moves_to_front_of_own_tier_only() -> None:
    crowded = frozenset({"elk-ridge-elementary"})
    relief_2c = app(1, Residency.other_resident, REG_2, current="elk-ridge-elementary")
    plain_2c = app(2, Residency.other_resident, REG_2, current="bell-elementary")
    plain_2b = app(3, Residency.other_resident, MONT_K, current="bell-elementary")
    k_relief = tiers.tier_of(relief_2c, relief_2c.program, crowded)
    assert k_relief.overcrowding_relief and k_relief.label == "2c"
    assert k_relief < tiers.tier_of(plain_2c, plain_2c.program, crowded)
    assert tiers.tier_of(plain_2b, plain_2b.program, crowded) < k_relief
    # the switch off: the same applicant is not relieved
    assert not tiers.tier_of(relief_2c, relief_2c.program, frozenset()).overcrowding_relief


# ---- the draw ---------------------------------------------------------------------


def test_higher_tier_placed_before_lower_whatever_the_random_numbers() -> None:
    # 3 seats, one applicant per tier: tiers 1, 2a, 2b are placed, all others waitlisted
    people = [
        app(1, Residency.non_resident),
        app(2, Residency.option_enrollment),
        app(3, Residency.other_resident),
        app(4, Residency.other_resident, sibling=True),
        app(5, Residency.attendance_area),
    ]
    result = lottery.draw(people, {MONT_K: 3}, SEED)
    assert {e.application_id for e in result.placed(MONT_K)} == {"a5", "a4", "a3"}
    waitlist = result.waitlist(MONT_K)
    assert [e.application_id for e in waitlist] == ["a2", "a1"]
    assert [e.waitlist_position for e in waitlist] == [1, 2]


def test_ties_inside_a_tier_are_broken_by_the_random_number_only() -> None:
    people = [app(i) for i in range(12)]  # all tier 2b
    result = lottery.draw(people, {MONT_K: 4}, SEED)
    drawn = sorted(people, key=lambda a: lottery.random_number(SEED, a.student_id))
    expected = [a.application_id for a in drawn]
    got = [e.application_id for e in result.placed(MONT_K)] + [
        e.application_id for e in result.waitlist(MONT_K)
    ]
    assert got == expected
    assert len(set(got)) == 12
    # ... and another seed draws another order
    other = lottery.draw(people, {MONT_K: 4}, "another-seed")
    assert [e.application_id for e in other.placed(MONT_K)] != expected[:4]


def test_overcrowding_relief_goes_first_within_the_tier_in_the_draw() -> None:
    people = [app(i, Residency.other_resident, REG_2, current="bell-elementary") for i in range(8)]
    relieved = app(99, Residency.other_resident, REG_2, current="elk-ridge-elementary")
    higher = app(50, Residency.other_resident, REG_2, sibling=True)
    result = lottery.draw(
        [*people, relieved, higher], {REG_2: 2}, SEED, overcrowded={"elk-ridge-elementary"}
    )
    assert [e.application_id for e in result.placed(REG_2)] == ["a50", "a99"]
    assert result.for_application("a99").overcrowding_relief
    # the switch off: the relieved applicant takes their chance with the rest
    off = lottery.draw([*people, relieved, higher], {REG_2: 2}, SEED)
    assert not off.for_application("a99").overcrowding_relief


def test_a_key_with_no_seats_open_denies_every_application() -> None:
    closed = SeatKey(school="reagan-elementary", program=Program.regular, grade=0)
    people = [app(1, key=closed), app(2, key=REG_2), app(3, key=closed)]
    result = lottery.draw(people, {closed: 0, REG_2: 1}, SEED)
    for n in ("a1", "a3"):
        entry = result.for_application(n)
        assert entry.outcome is Outcome.denied
        assert "not open to within-district transfers (VII)" in entry.reason
    assert result.for_application("a2").outcome is Outcome.placed
    unlisted = lottery.draw([app(4, key=MONT_K)], {}, SEED)
    assert unlisted.for_application("a4").outcome is Outcome.denied


def test_attendance_area_regular_application_is_denied_in_the_draw() -> None:
    result = lottery.draw([app(1, Residency.attendance_area, REG_2)], {REG_2: 5}, SEED)
    entry = result.for_application("a1")
    assert entry.outcome is Outcome.denied and "needs no transfer" in entry.reason


def test_a_student_holds_at_most_one_placement() -> None:
    first = app(1, Residency.other_resident, MONT_K, student="s1")
    second = app(2, Residency.other_resident, REG_2, student="s1")
    result = lottery.draw([first, second], {MONT_K: 1, REG_2: 1}, SEED)
    assert result.for_application("a1").outcome is Outcome.placed  # tier 2b before 2c
    denied = result.for_application("a2")
    assert denied.outcome is Outcome.denied and "one placement per student" in denied.reason


def test_random_number_is_fixed_by_seed_and_student_only() -> None:
    n = lottery.random_number(SEED, "s1")
    assert n == lottery.random_number(SEED, "s1")
    assert n != lottery.random_number(SEED, "s2")
    assert n != lottery.random_number("other", "s1")
    assert 0 <= n < 2**53


def test_withdraw_and_reapply_keeps_the_number_and_the_place() -> None:
    people = [app(i) for i in range(10)]
    before = lottery.draw(people, {MONT_K: 3}, SEED)
    again = app("new", student="s4")  # s4 withdrew a4 and applied again as anew
    after = lottery.draw([p for p in people if p.student_id != "s4"] + [again], {MONT_K: 3}, SEED)
    old, new = before.for_application("a4"), after.for_application("anew")
    assert old.random_number == new.random_number
    assert (old.outcome, old.waitlist_position) == (new.outcome, new.waitlist_position)


def test_result_records_seed_method_and_numbers() -> None:
    result = lottery.draw([app(1)], {MONT_K: 1}, SEED)
    assert result.method is Method.lottery and result.seed == SEED
    entry = result.for_application("a1")
    assert entry.tier == "2b" and entry.random_number == lottery.random_number(SEED, "s1")
    assert LotteryResult.model_validate_json(result.model_dump_json()) == result


@pytest.mark.parametrize(
    ("seed", "seats", "people", "message"),
    [
        ("", {MONT_K: 1}, [app(1)], "seed"),
        (SEED, {MONT_K: -1}, [app(1)], "negative"),
        (SEED, {MONT_K: 1}, [app(1), app(1, student="s9")], "unique"),
    ],
)
def test_bad_draw_inputs_are_refused(
    seed: str, seats: dict[SeatKey, int], people: list[Applicant], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        lottery.draw(people, seats, seed)


# ---- VIII.A.3: first come, first served -------------------------------------------------

REOPENED = datetime(2027, 4, 2, 5, 0, tzinfo=UTC)  # 00:00 April 2 in Chicago (CDT)


def test_first_come_first_served_ignores_tiers_and_follows_receipt() -> None:
    late_tier1 = app(1, Residency.attendance_area, MONT_K)
    early_tier3 = app(2, Residency.option_enrollment, MONT_K)
    middle_tier4 = app(3, Residency.non_resident, MONT_K)
    result = lottery.first_come_first_served(
        [
            (late_tier1, REOPENED + timedelta(hours=3)),
            (early_tier3, REOPENED + timedelta(hours=1)),
            (middle_tier4, REOPENED + timedelta(hours=2)),
        ],
        {MONT_K: 1},
        REOPENED,
    )
    assert result.method is Method.first_come_first_served and result.seed is None
    assert [e.application_id for e in result.placed(MONT_K)] == ["a2"]
    assert [(e.application_id, e.waitlist_position) for e in result.waitlist(MONT_K)] == [
        ("a3", 1),
        ("a1", 2),
    ]


def test_first_come_first_served_refuses_early_and_naive_receipts() -> None:
    result = lottery.first_come_first_served(
        [(app(1), REOPENED - timedelta(seconds=1)), (app(2), REOPENED)], {MONT_K: 5}, REOPENED
    )
    assert result.for_application("a1").outcome is Outcome.denied
    assert "before the window reopened" in result.for_application("a1").reason
    assert result.for_application("a2").outcome is Outcome.placed
    with pytest.raises(PolicyError, match="time zone"):
        lottery.first_come_first_served(
            [(app(1), datetime(2027, 4, 3, 9, 0))], {MONT_K: 1}, REOPENED
        )


# ---- properties ---------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_property_no_key_over_its_seats(case: tuple) -> None:
    people, seats, seed = case
    result = lottery.draw(people, seats, seed, OVERCROWDED)
    for key in KEYS:
        assert len(result.placed(key)) <= seats[key]
    assert len(result.entries) == len(people)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_property_nobody_placed_while_a_higher_tier_applicant_waits(case: tuple) -> None:
    people, seats, seed = case
    result = lottery.draw(people, seats, seed, OVERCROWDED)
    by_id = {a.application_id: a for a in people}

    def rank(entry_id: str) -> tuple:
        a = by_id[entry_id]
        return tuple(tiers.tier_of(a, a.program, OVERCROWDED)[:2])

    for key in KEYS:
        waiting = result.waitlist(key)
        if not waiting:
            continue
        best_waiting = min(rank(e.application_id) for e in waiting)
        for placed in result.placed(key):
            assert rank(placed.application_id) <= best_waiting
        # waitlist positions are 1..n in drawn order
        assert [e.waitlist_position for e in waiting] == list(range(1, len(waiting) + 1))
        ranks = [rank(e.application_id) for e in waiting]
        assert ranks == sorted(ranks)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_property_same_seed_same_result_whatever_the_input_order(
    case: tuple, rnd: random.Random
) -> None:
    people, seats, seed = case
    shuffled = list(people)
    rnd.shuffle(shuffled)
    reordered_seats = dict(reversed(list(seats.items())))
    assert lottery.draw(people, seats, seed, OVERCROWDED) == lottery.draw(
        shuffled, reordered_seats, seed, OVERCROWDED
    )


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_property_never_both_placed_and_waitlisted_and_one_seat_per_student(
    case: tuple,
) -> None:
    people, seats, seed = case
    result = lottery.draw(people, seats, seed, OVERCROWDED)
    ids = [e.application_id for e in result.entries]
    assert sorted(ids) == sorted(a.application_id for a in people)  # one outcome each
    for e in result.entries:
        assert (e.outcome is Outcome.waitlisted) == (e.waitlist_position is not None)
    placed_students = [e.student_id for e in result.entries if e.outcome is Outcome.placed]
    assert len(placed_students) == len(set(placed_students))


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.data())
def test_property_withdraw_and_reapply_keeps_the_random_number(
    case: tuple, data: st.DataObject
) -> None:
    people, seats, seed = case
    if not people:
        return
    gone = data.draw(st.sampled_from(people))
    again = gone.model_copy(update={"application_id": "reapplied"})
    before = lottery.draw(people, seats, seed, OVERCROWDED)
    rest = [p for p in people if p.application_id != gone.application_id]
    after = lottery.draw([*rest, again], seats, seed, OVERCROWDED)
    number = lottery.random_number(seed, gone.student_id)
    assert before.for_application(gone.application_id).random_number == number
    assert after.for_application("reapplied").random_number == number


def test_a_students_number_is_the_documented_hash_of_seed_and_student() -> None:
    """Anyone re-running a draw from its record computes the numbers this way
    (docs/lottery.md "Random numbers"): the first 53 bits of SHA-256 of the JSON array
    ["5110.1-lottery", seed, student id]."""
    students = ["S1", "S-0042", 'odd "quoted" \\ id', "Muñoz-7"]
    expected = {
        s: int.from_bytes(
            hashlib.sha256(json.dumps(["5110.1-lottery", SEED, s]).encode()).digest()[:8], "big"
        ) >> 11
        for s in students
    }
    assert lottery.random_numbers(SEED, students) == expected
    assert {s: lottery.random_number(SEED, s) for s in students} == expected
