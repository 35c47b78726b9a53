"""The within-district transfer draw (seed 004, Rule 5110.1 VIII.B) and the reopened window's
first come, first served allocation (VIII.A.3). Pure and deterministic: the same record
(seed, applications, seats) always gives the same result, whatever order the applications
come in, so anyone can re-run it from the record (docs/lottery.md "Audit and verification")."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
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
from rules.tiers import NoTransferNeeded, TierKey, tier_of

try:  # CPython's own SHA-256: for 40-byte inputs a third faster than OpenSSL's (no EVP set-up)
    from _sha256 import sha256 as _sha256  # CPython 3.11
except ImportError:  # pragma: no cover - the module's name from CPython 3.12 on
    try:
        from _sha2 import sha256 as _sha256  # type: ignore[no-redef]
    except ImportError:
        _sha256 = hashlib.sha256  # type: ignore[assignment]

RANDOM_BITS = 53  # fits a JSON number exactly, also for readers that parse it as a double
NUMBER_MASK = (1 << RANDOM_BITS) - 1
_quote = json.encoder.encode_basestring_ascii  # how json.dumps quotes a str


def random_number(seed: str, student_id: str) -> int:
    """docs/lottery.md "Random numbers": a student's number is fixed once per lottery, so it
    depends only on the lottery's seed and the student, never on the application (withdrawing
    and applying again gives the same number) or on the order of the input."""
    # The bytes of json.dumps(["5110.1-lottery", seed, student_id]), built without the encoder.
    payload = f'["5110.1-lottery", {_quote(seed)}, {_quote(student_id)}]'.encode()
    digest = hashlib.sha256(payload).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - RANDOM_BITS)


def random_numbers(seed: str, student_ids: Iterable[str]) -> dict[str, int]:
    """``random_number`` for many students at once (the hash prefix is built once)."""
    prefix = f'["5110.1-lottery", {_quote(seed)}, '.encode()
    sha256, shift = _sha256, 64 - RANDOM_BITS
    return {
        s: int.from_bytes(sha256(prefix + _quote(s).encode() + b"]").digest()[:8], "big") >> shift
        for s in student_ids
    }


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
    use_tiers: bool,
    values: Mapping[str, Any],
    by_student: bool,
) -> list[LotteryEntry]:
    """Place in order of ``values`` (the random number by student id with tiers; the
    receipt instant by application id without) within each seat key, after the VIII.C tier
    when ``use_tiers``; one placement per student."""
    numbered = use_tiers  # the lottery records numbers, first come first served instants

    def entry(a: Applicant, key: SeatKey, v: Any, outcome: Outcome, **more: Any) -> LotteryEntry:
        return LotteryEntry(
            a.application_id, a.student_id, key, outcome,
            random_number=v if numbered else None,
            received_at=None if numbered else v,
            **more,
        )

    # Hot path (100,000 applications in the benchmark): seat keys become list indexes once,
    # looked up by plain (school, program, grade) tuples of strings and ints; an Enum's hash
    # is Python code, so enum members enter keys by their ``_value_``.
    keys = sorted(seats, key=SeatKey.sort_key)
    index = {k.sort_key(): i for i, k in enumerate(keys)}
    left = [seats[k] for k in keys]
    total = list(left)
    # A tier depends only on these four facts (rules.tiers); refusals are not cached.
    tiers: dict[tuple[Any, ...], TierKey] = {}
    closed: dict[tuple[str, str, int], SeatKey] = {}  # keys applied for but not open (VII)
    refused: dict[tuple[str, str, int], list[LotteryEntry]] = {}
    ranked: list[tuple[Any, ...]] = []
    for a in applicants:
        program = a.program._value_
        t = (a.school, program, a.grade)
        v = values[a.student_id if by_student else a.application_id]
        i = index.get(t)
        if i is None or left[i] <= 0:  # VII: only designated schools, programs, grades
            key = keys[i] if i is not None else closed.setdefault(t, a.seat_key)
            reason = f"{key.describe()} is not open to within-district transfers (VII)"
        else:
            relief = bool(a.current_school) and a.current_school in overcrowded
            facts = (a.residency._value_, a.resident_sibling, program, relief)
            tier = tiers.get(facts)
            if tier is None:
                try:
                    tier = tiers[facts] = tier_of(a, a.program, overcrowded)
                except NoTransferNeeded as error:
                    reason = str(error)
            if tier is not None:
                # One int sorts by tier, then X.B relief, then the random number (53 bits);
                # the ids only break the ties of one student's own applications.
                rank = ((tier.order * 2 + tier.relief) << RANDOM_BITS | v) if use_tiers else v
                ranked.append((rank, a.student_id, a.application_id, a, i, tier))
                continue
            key = keys[i]
        refused.setdefault(key.sort_key(), []).append(
            entry(a, key, v, Outcome.denied, reason=reason)
        )
    ranked.sort()  # application ids are unique, so the comparison never reaches the objects
    # Going through every application in one global order places each key's applicants in
    # that key's order, and lets a student's first placement deny the rest (one seat each).
    placed, waitlisted = Outcome.placed, Outcome.waitlisted
    drawn: list[list[LotteryEntry]] = [[] for _ in keys]
    denied: list[list[LotteryEntry]] = [[] for _ in keys]
    placed_at: dict[str, SeatKey] = {}
    for item in ranked:
        rank, _, _, a, i, tier = item
        v = rank & NUMBER_MASK if use_tiers else rank
        key = keys[i]
        label = tier.label if use_tiers else None
        relief = tier.relief == 0
        if a.student_id in placed_at:
            reason = (
                f"student {a.student_id} is already placed in "
                f"{placed_at[a.student_id].describe()}: one placement per student"
            )
            denied[i].append(
                entry(a, key, v, Outcome.denied, tier=label, overcrowding_relief=relief,
                      reason=reason)
            )
            continue
        here = drawn[i]
        if left[i] > 0:
            left[i] -= 1
            placed_at[a.student_id] = key
            outcome, position = placed, None
        else:
            outcome, position = waitlisted, len(here) - total[i] + 1
        # Positional, in LotteryEntry's field order: the hot path of the draw.
        here.append(LotteryEntry(
            a.application_id, a.student_id, key, outcome, label, relief,
            v if numbered else None, None if numbered else v, position,
        ))
    # Canonical order: by seat key; placed and waitlisted as drawn, then the denied (those
    # refused before the drawing by application id, then the ones denied in the drawing).
    by_key = {k.sort_key(): (drawn[i], denied[i]) for i, k in enumerate(keys)}
    entries: list[LotteryEntry] = []
    for t in sorted(by_key.keys() | refused.keys() | closed.keys()):
        placed_or_waiting, late = by_key.get(t, ((), ()))
        entries += placed_or_waiting
        entries += sorted(refused.get(t, ()), key=lambda e: e.application_id)
        entries += late
    return entries


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
    # The draw makes no reference cycles: pausing the cycle collector only saves its passes
    # over the (large) heap while 100k entries are built; reference counting still frees.
    collecting = gc.isenabled()
    gc.disable()
    try:
        # One number per student, once however many applications they made
        # (docs/lottery.md "Random numbers").
        numbers = random_numbers(seed, {a.student_id for a in people})
        entries = _allocate(
            people,
            seats,
            frozenset(overcrowded),
            use_tiers=True,
            values=numbers,
            by_student=True,
        )
        return LotteryResult(method=Method.lottery, seed=seed, entries=entries)
    finally:
        if collecting:
            gc.enable()


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
        use_tiers=False,
        values=received_at,
        by_student=False,
    )
    entries = sorted(
        entries + early,
        key=lambda e: (e.seat_key.sort_key(), e.outcome is Outcome.denied),
    )
    return LotteryResult(method=Method.first_come_first_served, entries=entries)
