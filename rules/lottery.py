"""The within-district transfer draw (seed 004, Rule 5110.1 VIII.B) and the reopened window's
first come, first served allocation (VIII.A.3). Pure and deterministic: the same record
(seed, applications, seats) always gives the same result, whatever order the applications
come in, so anyone can re-run it from the record (DESIGN.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from models.within_district import (
    Applicant,
    LotteryEntry,
    LotteryResult,
    Method,
    Outcome,
    SeatKey,
)
from rules.errors import PolicyError
from rules.tiers import NoTransferNeeded, tier_of

RANDOM_BITS = 53  # fits a JSON number exactly, also for readers that parse it as a double


def random_number(seed: str, student_id: str) -> int:
    """DESIGN.md: a student's number is fixed once per lottery, so it depends only on the
    lottery's seed and the student, never on the application (withdrawing and applying again
    gives the same number) or on the order of the input."""
    payload = json.dumps(["5110.1-lottery", seed, student_id]).encode()
    digest = hashlib.sha256(payload).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - RANDOM_BITS)


def _check_inputs(applicants: list[Applicant], seats: Mapping[SeatKey, int]) -> None:
    ids = [a.application_id for a in applicants]
    if len(ids) != len(set(ids)):
        raise PolicyError("application ids must be unique in one draw")
    for key, count in seats.items():
        if count < 0:
            raise PolicyError(f"{key.describe()} has a negative seat count ({count})")


def _allocate(
    applicants: list[Applicant],
    seats: Mapping[SeatKey, int],
    overcrowded: Collection[str],
    rank: Callable[[Applicant], tuple[Any, ...]],
    use_tiers: bool,
    extra: Callable[[Applicant], dict[str, Any]],
) -> list[LotteryEntry]:
    """Place in ``rank`` order within each seat key, one placement per student."""
    entries: dict[str, LotteryEntry] = {}
    ranked: list[tuple[tuple[Any, ...], Applicant, str | None, bool]] = []
    for a in applicants:
        key = a.seat_key
        base = {"application_id": a.application_id, "student_id": a.student_id, "seat_key": key}
        base |= extra(a)
        if seats.get(key, 0) <= 0:  # VII: only designated schools, programs, grades are open
            reason = f"{key.describe()} is not open to within-district transfers (VII)"
            entries[a.application_id] = LotteryEntry(**base, outcome=Outcome.denied, reason=reason)
            continue
        try:
            tier = tier_of(a, key.program, overcrowded)
        except NoTransferNeeded as error:
            entries[a.application_id] = LotteryEntry(
                **base, outcome=Outcome.denied, reason=str(error)
            )
            continue
        order = (tier[:2] if use_tiers else ()) + rank(a) + (a.student_id, a.application_id)
        ranked.append((order, a, tier.label, tier.overcrowding_relief))
    ranked.sort(key=lambda item: item[0])
    # Going through every application in one global order places each key's applicants in
    # that key's order, and lets a student's first placement deny the rest (one seat each).
    left = dict(seats)
    waiting: dict[SeatKey, int] = {}
    placed_at: dict[str, SeatKey] = {}
    for _, a, label, relief in ranked:
        key = a.seat_key
        base = {"application_id": a.application_id, "student_id": a.student_id, "seat_key": key}
        base |= extra(a) | {"overcrowding_relief": relief}
        base["tier"] = label if use_tiers else None
        if a.student_id in placed_at:
            reason = (
                f"student {a.student_id} is already placed in "
                f"{placed_at[a.student_id].describe()}: one placement per student"
            )
            entry = LotteryEntry(**base, outcome=Outcome.denied, reason=reason)
        elif left[key] > 0:
            left[key] -= 1
            placed_at[a.student_id] = key
            entry = LotteryEntry(**base, outcome=Outcome.placed)
        else:
            waiting[key] = waiting.get(key, 0) + 1
            entry = LotteryEntry(**base, outcome=Outcome.waitlisted, waitlist_position=waiting[key])
        entries[a.application_id] = entry
    order_of = {a.application_id: i for i, (_, a, _, _) in enumerate(ranked)}
    outcome_rank = {Outcome.placed: 0, Outcome.waitlisted: 0, Outcome.denied: 1}
    return sorted(
        entries.values(),
        key=lambda e: (
            e.seat_key.sort_key(),
            outcome_rank[e.outcome],
            order_of.get(e.application_id, 0),
            e.application_id,
        ),
    )


def draw(
    applicants: Iterable[Applicant],
    seats: Mapping[SeatKey, int],
    seed: str,
    overcrowded: Collection[str] = (),
) -> LotteryResult:
    """VIII.B: for each seat key, applicants in VIII.C tier order (X.B relief first inside a
    tier when ``overcrowded`` names schools), the random number breaking ties only inside a
    tier; the first ``seats[key]`` are placed, the rest waitlisted in that order with their
    positions. A key with no seats open denies every application to it (VII). A student
    holds at most one placement: a further application of an already placed student is
    denied. Where requests do not exceed seats everyone is placed, so the drawing only
    matters when they do (VIII.B.2)."""
    if not seed:
        raise PolicyError("a lottery needs a recorded seed")
    people = list(applicants)
    _check_inputs(people, seats)
    entries = _allocate(
        people,
        seats,
        frozenset(overcrowded),
        rank=lambda a: (random_number(seed, a.student_id),),
        use_tiers=True,
        extra=lambda a: {"random_number": random_number(seed, a.student_id)},
    )
    return LotteryResult(method=Method.lottery, seed=seed, entries=entries)


def first_come_first_served(
    requests: Iterable[tuple[Applicant, datetime]],
    seats: Mapping[SeatKey, int],
    reopened_at: datetime,
) -> LotteryResult:
    """VIII.A.3: after option enrollment completes, the window reopens and applications are
    accepted first come, first served: in order of receipt (no tiers, no drawing), placed
    while the seats left last, then waitlisted in order of receipt. Receipt instants must
    carry a zone; one received before the reopening is denied."""
    if reopened_at.tzinfo is None:
        raise PolicyError("the reopening instant must carry a time zone")
    pairs = list(requests)
    ids = [a.application_id for a, _ in pairs]
    if len(ids) != len(set(ids)):
        raise PolicyError("application ids must be unique in one allocation")
    received_at: dict[str, datetime] = {}
    people: list[Applicant] = []
    early: list[LotteryEntry] = []
    for applicant, received in pairs:
        if received.tzinfo is None:
            raise PolicyError(
                f"application {applicant.application_id}: receipt time must carry a time zone"
            )
        if received < reopened_at:
            early.append(
                LotteryEntry(
                    application_id=applicant.application_id,
                    student_id=applicant.student_id,
                    seat_key=applicant.seat_key,
                    outcome=Outcome.denied,
                    received_at=received,
                    reason=(
                        f"received {received.isoformat()}, before the window reopened at "
                        f"{reopened_at.isoformat()} (VIII.A.3)"
                    ),
                )
            )
            continue
        received_at[applicant.application_id] = received
        people.append(applicant)
    _check_inputs(people, seats)
    entries = _allocate(
        people,
        seats,
        frozenset(),
        rank=lambda a: (received_at[a.application_id],),
        use_tiers=False,
        extra=lambda a: {"received_at": received_at[a.application_id]},
    )
    entries = sorted(
        entries + early,
        key=lambda e: (e.seat_key.sort_key(), e.outcome is Outcome.denied),
    )
    return LotteryResult(method=Method.first_come_first_served, entries=entries)
