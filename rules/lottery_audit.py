"""Re-running a recorded lottery: anyone can re-run it from the record and get the same outcome
(docs/lottery.md "Audit and verification"). Pure: the record's seed, applications and seats go
through ``rules.lottery.draw`` again and every difference from the recorded result is reported."""

from __future__ import annotations

from pydantic import TypeAdapter

from models.lottery_record import LotteryRecord, RecordedApplicant, seed_commitment
from models.within_district import LotteryEntry
from rules.errors import PolicyError
from rules.lottery import draw, random_number
from rules.tiers import NoTransferNeeded, tier_label

_ENTRY = TypeAdapter(LotteryEntry)


def recorded_tier(entry: RecordedApplicant) -> str | None:
    """VIII.C: the tier label the application is drawn in (None: no transfer needed)."""
    applicant = entry.applicant
    try:
        return tier_label(applicant, applicant.program)
    except NoTransferNeeded:
        return None


def _commitment_problems(record: LotteryRecord) -> list[str]:
    """The seed revealed at the draw against the commitment published at the opening, in the
    record and in its opening audit entry (docs/lottery.md "The sealed seed"); a lottery
    opened before seeds were sealed has none."""
    published = [record.seed_commitment] if record.seed_commitment else []
    published += [e.reason.rsplit(" ", 1)[-1] for e in record.history
                  if e.event == "lottery_opened" and "seed committed as" in e.reason]
    revealed = seed_commitment(record.seed)
    return [f"the seed revealed at the draw does not match the commitment {c} published when "
            "the lottery opened" for c in dict.fromkeys(published) if c != revealed]


def verify(record: LotteryRecord) -> list[str]:
    """The differences between the recorded result and a re-run of the draw; empty when the
    record holds up."""
    problems: list[str] = []
    for entry in record.applicants:
        a = entry.applicant
        expected = random_number(record.seed, a.student_id)
        if entry.random_number != expected:
            problems.append(
                f"application {a.application_id}: recorded random number {entry.random_number}, "
                f"the seed gives {expected}"
            )
        tier = recorded_tier(entry)
        if entry.tier != tier:
            problems.append(
                f"application {a.application_id}: recorded tier {entry.tier}, the rules give {tier}"
            )
    problems += _commitment_problems(record)
    if record.result is None:
        return problems + ["the record holds no result to verify"]
    if record.result.seed != record.seed:
        problems.append(f"the result's seed {record.result.seed!r} is not the record's")
    try:
        rerun = draw(
            [e.applicant for e in record.applicants],
            record.seat_map(),
            record.seed,
            frozenset(record.overcrowded_schools),
        )
    except PolicyError as error:
        return problems + [f"the draw cannot be re-run: {error}"]
    recorded = {e.application_id: e for e in record.result.entries}
    again = {e.application_id: e for e in rerun.entries}
    for app_id in sorted(recorded.keys() - again.keys()):
        problems.append(f"application {app_id} is in the result but not among the inputs")
    for app_id in sorted(again.keys() - recorded.keys()):
        problems.append(f"application {app_id} is among the inputs but not in the result")
    for app_id in sorted(recorded.keys() & again.keys()):
        old = _ENTRY.dump_python(recorded[app_id], mode="json")
        new = _ENTRY.dump_python(again[app_id], mode="json")
        for field in sorted(old.keys() | new.keys()):
            if old.get(field) != new.get(field):
                problems.append(
                    f"application {app_id}: {field} recorded {old.get(field)!r}, "
                    f"re-run gives {new.get(field)!r}"
                )
    if not problems and [e.application_id for e in record.result.entries] != [
        e.application_id for e in rerun.entries
    ]:
        problems.append("the result's order differs from the re-run's")
    return problems
