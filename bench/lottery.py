"""Benchmark of the within-district lottery draw (rules.lottery.draw) at district scale.

Builds a seat map over every school, program and grade of the shipped `millard` district (the
configured seat counts where the district designates them, a seeded 5-25 elsewhere), draws
reproducible applications across all of them, and times only the draw itself.

    .venv/bin/python bench/lottery.py [--applications N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import sysconfig
import time
import tracemalloc
from collections import Counter

import common  # noqa: E402, F401  (bench/common.py: puts the repository on sys.path)

from districts import load_within_district  # noqa: E402
from models.within_district import (  # noqa: E402
    Applicant,
    Level,
    LotteryResult,
    Residency,
    SeatKey,
    is_special,
)
from models.within_district_config import (  # noqa: E402
    WithinDistrictConfig,
    WithinSchool,
)
from rules.lottery import draw  # noqa: E402

DISTRICT = "millard"
SCHOOL_YEAR = "2027-2028"  # the year districts/millard.toml designates open seats for
SEED = "bench-seed"
DATA_SEED = 5110  # the generator's seed: the same applications on every run
TARGET_SECONDS = 1.0
DISTINCT_STUDENT_SHARE = 0.85  # the rest of the applications are students' second choices
SIBLING_SHARE = 0.10
ATTENDANCE_AREA_SHARE = 0.25  # of resident applications to a special program: their own school
# Per student: district residents, option-enrollment students, other non-residents.
STUDENT_KINDS = (("resident", 0.92), ("option_enrollment", 0.06), ("non_resident", 0.02))


def build_seats(config: WithinDistrictConfig, rng: random.Random) -> dict[SeatKey, int]:
    """Every SeatKey of the district: the configured count where there is one, else 5-25."""
    configured = config.seats_for(SCHOOL_YEAR)
    seats: dict[SeatKey, int] = {}
    for school in config.schools:
        for program in school.programs:
            for grade in range(school.lowest_grade, school.highest_grade + 1):
                key = SeatKey(school=school.id, program=program, grade=grade)
                seats[key] = configured.get(key, rng.randint(5, 25))
    return seats


def build_applicants(
    config: WithinDistrictConfig,
    keys: list[SeatKey],
    count: int,
    rng: random.Random,
) -> list[Applicant]:
    """``count`` applications from about 85% as many students, spread over ``keys``."""
    schools_by_level: dict[Level, list[WithinSchool]] = {}
    for school in config.schools:
        schools_by_level.setdefault(school.level, []).append(school)
    level_of = {school.id: school.level for school in config.schools}
    keys_by_grade: dict[int, list[SeatKey]] = {}
    for key in keys:
        keys_by_grade.setdefault(key.grade, []).append(key)

    def other_school(level: Level, *avoid: str) -> str:
        choices = [s.id for s in schools_by_level[level] if s.id not in avoid]
        return rng.choice(choices)

    students = max(1, round(count * DISTINCT_STUDENT_SHARE))
    students = max(students, (count + 1) // 2)  # at most two applications per student
    second = set(rng.sample(range(students), count - students))
    kinds, weights = zip(*STUDENT_KINDS, strict=True)

    applicants: list[Applicant] = []
    for n in range(students):
        student_id = f"S{n:06d}"
        first = rng.choice(keys)
        level = level_of[first.school]
        kind = rng.choices(kinds, weights)[0]
        home = ""  # the school whose attendance area a resident lives in
        if kind == "resident":
            if is_special(first.program) and rng.random() < ATTENDANCE_AREA_SHARE:
                home = first.school
            else:
                home = other_school(level, first.school)
        wanted = [first]
        if n in second:
            options = [
                k
                for k in keys_by_grade[first.grade]
                if k != first and not (k.school == home and not is_special(k.program))
            ]
            if options:
                wanted.append(rng.choice(options))
        sibling = rng.random() < SIBLING_SHARE
        for key in wanted:
            if kind == "resident":
                at_home = key.school == home
                residency = Residency.attendance_area if at_home else Residency.other_resident
                current = other_school(level, key.school) if at_home else home
            elif kind == "option_enrollment":
                residency = Residency.option_enrollment
                current = other_school(level, key.school)
            else:
                residency = Residency.non_resident
                current = ""
            applicants.append(
                Applicant(
                    application_id=f"A{len(applicants):06d}",
                    student_id=student_id,
                    school=key.school,
                    program=key.program,
                    grade=key.grade,
                    residency=residency,
                    resident_sibling=sibling,
                    current_school=current,
                )
            )
    # A student whose second choice found no other key at that grade applied once; top up.
    while len(applicants) < count:
        n = len(applicants)
        key = rng.choice(keys)
        applicants.append(
            Applicant(
                application_id=f"A{n:06d}",
                student_id=f"S{students + n:06d}",
                school=key.school,
                program=key.program,
                grade=key.grade,
                residency=Residency.other_resident,
                current_school=other_school(level_of[key.school], key.school),
            )
        )
    rng.shuffle(applicants)  # the draw must not depend on the input order
    return applicants


def timed_draw(
    applicants: list[Applicant], seats: dict[SeatKey, int], overcrowded: frozenset[str]
) -> tuple[float, LotteryResult]:
    gc.collect()
    start = time.perf_counter()
    result = draw(applicants, seats, seed=SEED, overcrowded=overcrowded)
    return time.perf_counter() - start, result


def peak_memory(
    applicants: list[Applicant], seats: dict[SeatKey, int], overcrowded: frozenset[str]
) -> float:
    """Peak traced allocation of one draw, MiB (tracemalloc slows it: not timed)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = draw(applicants, seats, seed=SEED, overcrowded=overcrowded)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak / (1024 * 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=100_000, help="default 100000")
    parser.add_argument("--repeat", type=int, default=5, help="timed draws (default 5)")
    args = parser.parse_args(argv)
    if args.applications < 1 or args.repeat < 1:
        parser.error("--applications and --repeat must be at least 1")

    config = load_within_district(DISTRICT)
    rng = random.Random(DATA_SEED)
    seats = build_seats(config, rng)
    applicants = build_applicants(config, list(seats), args.applications, rng)
    overcrowded = config.overcrowded_schools()
    configured = config.seats_for(SCHOOL_YEAR)
    residencies = Counter(a.residency.value for a in applicants)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    build = sysconfig.get_config_var("CONFIG_ARGS") or ""
    pgo = "PGO-optimized" if "--enable-optimizations" in build else "not PGO-optimized"
    print(f"python: {platform.python_implementation()} {platform.python_version()} ({pgo} build)")
    print(
        f"district: {DISTRICT} ({len(config.schools)} schools), seat keys: {len(seats)} "
        f"({len(configured)} configured for {SCHOOL_YEAR}, {sum(seats.values())} seats)"
    )
    print(
        f"applications: {len(applicants)} from {len({a.student_id for a in applicants})} "
        f"students, {sum(a.resident_sibling for a in applicants)} with a sibling"
    )
    print("residency: " + ", ".join(f"{k} {v}" for k, v in sorted(residencies.items())))
    print(f"overcrowded (X.B): {', '.join(sorted(overcrowded)) or 'none'}")

    times: list[float] = []
    result: LotteryResult | None = None
    for _ in range(args.repeat):
        result = None  # the last run's entries are neither kept alive nor scanned meanwhile
        seconds, result = timed_draw(applicants, seats, overcrowded)
        times.append(seconds)
    assert result is not None
    outcomes = Counter(e.outcome.value for e in result.entries)
    result = None
    peak = peak_memory(applicants, seats, overcrowded)

    print(
        f"outcomes: placed {outcomes['placed']}, waitlisted {outcomes['waitlisted']}, "
        f"denied {outcomes['denied']}"
    )
    print(
        f"draw ({args.repeat} runs): best {min(times):.3f} s, "
        f"median {statistics.median(times):.3f} s"
    )
    print(f"draw peak memory (tracemalloc): {peak:.1f} MiB")
    met = statistics.median(times) < TARGET_SECONDS
    print(f"target < {TARGET_SECONDS} s (median): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
