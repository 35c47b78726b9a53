"""A simulated school year of interdistrict permit requests on the time-skipping server.

N requests for 2027-2028 into and out of Paramount (seed 000) are submitted on weekdays from
January 15, 2027 on, each following a path drawn from a seeded, realistic mix: approved;
approved past the district's promise; denied and not appealed (abandoned when the 30-day
window ends); denied and appealed (the county upholds or grants, sometimes late or after an
extension); documents never supplied (abandoned at the document deadline); into the district
with no release by its deadline (abandoned) or a refused release; withdrawn at some open
stage; deemed denied at the statute (EC 46600.1) and then not appealed, appealed, or approved
late. Staff act at 10 a.m. local time on the day a path says (a request's documents as the
parent's packet, one Update, as `transfers documents add` sends several files); between those
days the server skips time, and every deadline on the way fires on its own.

At the end every request's result (the closed run) and its row in the records store must
show the stage its path predicts, on the day it predicts, with the events it predicts.
Prints the counts per path, every mismatch (exit 1 if any), a breakdown of the wall time and
whether the target (under 60 s for 1,000 requests) was met.

The worker runs as production runs it, in its own process (`transfers worker`, connected to
the test server); ``--in-process-worker`` runs it in this process beside the driver instead.

    .venv/bin/python bench/school_year.py [--requests 1000] [--seed 2027]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import common  # noqa: E402  (bench/common.py, beside this script: it puts the repository on sys.path)
from sqlalchemy import select  # noqa: E402
from temporalio.client import WorkflowHandle  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

import rules.calendar as calendar  # noqa: E402
from app.submissions import start  # noqa: E402
from districts import load_district  # noqa: E402
from infra.codec import DATA_CONVERTER  # noqa: E402
from infra.search_attributes import register  # noqa: E402
from infra.settings import find_binary, load_settings  # noqa: E402
from intake.interdistrict import prepare  # noqa: E402
from models import actions  # noqa: E402
from models.decisions import (  # noqa: E402
    AppealOutcome,
    DenialReason,
    ExtensionCircumstance,
    Outcome,
)
from models.documents import DocumentKind  # noqa: E402
from models.people import Actor  # noqa: E402
from models.requests import Direction, InterdistrictRequest, TransferReason  # noqa: E402
from models.stages import Stage  # noqa: E402
from models.state import RequestState  # noqa: E402
from rules.documents import required_documents  # noqa: E402
from store import records  # noqa: E402
from store.engine import engine_for  # noqa: E402
from store.schema import RequestRow  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W  # noqa: E402

DISTRICT = "paramount"
SCHOOL_YEAR = "2027-2028"
LONG_BEACH = "Long Beach Unified School District"
OPENS = date(2027, 1, 15)  # requests for 2027-2028 open (seed 000)
LAST_SUBMISSION = date(2027, 6, 15)
STAFF_CLOCK = clock(10, 0)  # staff act at 10 a.m. local time
TARGET_SECONDS = 60.0

CLERK = Actor(name="avalos", roles=["pupil_services"])
DIRECTOR = Actor(name="nguyen", roles=["director"])
COUNTY = Actor(name="lacoe", roles=["county_office"])
SHA = "5c" * 32

# The deadlines as the docs state them (docs/interdistrict.md "Decision deadlines", and the
# entries on documents, the release, appeals and the county beside it), written out here
# rather than taken from rules/, so a timer firing on the wrong day is a mismatch.
DOCUMENT_DAYS = 14  # district setting: documents within 14 days of the request
RELEASE_DAYS = 30  # district setting: the release within 30 days of awaiting it
PROMISE_DAYS = 30  # the district's promise: a decision within 30 days of a complete request
APPEAL_DAYS = 30  # appeal to the county within 30 days of the denial's letter
COUNTY_DAYS, COUNTY_EXTENDED_DAYS = 30, 60  # the county's decision after filing


# ---- the paths ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Path_:
    name: str
    weight: float  # percent of the requests
    final: Stage  # the stage it ends in
    into_only: bool = False


PATHS: list[Path_] = [
    Path_("approved", 50, Stage.approved),
    Path_("approved_past_promise", 4, Stage.approved),
    Path_("denied_not_appealed", 9, Stage.abandoned),
    Path_("appeal_upheld", 4, Stage.denied_final),
    Path_("appeal_granted", 2.5, Stage.approved),
    Path_("documents_never_supplied", 8, Stage.abandoned),
    Path_("release_never_received", 2, Stage.abandoned, into_only=True),
    Path_("release_refused", 3, Stage.release_refused, into_only=True),
    Path_("withdrawn", 9, Stage.withdrawn),
    Path_("deemed_denied_not_appealed", 4.5, Stage.abandoned),
    Path_("deemed_denied_appealed", 2, Stage.approved),  # final set per request: see plan
    Path_("deemed_denied_then_approved", 2, Stage.approved),
]



@dataclass
class Plan:
    index: int
    path: str
    request: InterdistrictRequest
    submit_day: date
    actions: list[tuple[date, str, Any]] = field(default_factory=list)  # (day, kind, payload)
    final: Stage = Stage.approved
    final_day: date | None = None  # the local date of the last history entry
    events: tuple[str, ...] = ()  # events the history must have
    absent: tuple[str, ...] = ()  # events it must not have
    variant: str = ""
    request_id: str = ""

    def act(self, day: date, kind: str, payload: Any) -> date:
        self.actions.append((day, kind, payload))
        return day


class Planner:
    def __init__(self, rng: random.Random, first_day: date, schools: dict[str, tuple[int, int]]):
        self.rng = rng
        self.first_day = first_day
        self.schools = schools

    # -- days -------------------------------------------------------------------------------

    def weekday(self, lo: date, hi: date) -> date:
        """A random weekday in [lo, hi] (any day if the range holds none)."""
        days = [lo + timedelta(days=n) for n in range((hi - lo).days + 1)]
        weekdays = [d for d in days if d.weekday() < 5]
        return self.rng.choice(weekdays or days)

    def statute(self, complete: date) -> date:
        """EC 46600.2, counted from the day the request is complete (README)."""
        if (self.first_day - complete).days <= 15:
            return complete + timedelta(days=30)
        return self.first_day + timedelta(days=14)

    # -- requests ---------------------------------------------------------------------------

    def request(self, index: int, seed: int, into: bool) -> InterdistrictRequest:
        rng = self.rng
        grade = rng.randint(0, 12)
        level = [s for s, (lo, hi) in self.schools.items() if lo <= grade <= hi]
        reason = rng.choice(list(TransferReason))
        spanish = rng.random() < 0.3
        first = rng.choice(["Ana", "Luis", "Sofia", "Mateo", "Emma", "Noah", "Mia", "Kai"])
        last = rng.choice(["Lopez", "Nguyen", "Garcia", "Smith", "Kim", "Martinez", "Reyes"])
        request = {
            "district": DISTRICT,
            "student": {
                "id": f"S{seed}-{index:05d}", "first_name": first, "last_name": last,
                "grade": grade, "has_iep_or_504": rng.random() < 0.1,
            },
            "parent": {
                "name": f"Parent {last}", "email": f"parent{index}@example.com",
                "relationship": rng.choice(["natural_parent"] * 8 + ["legal_custodian",
                                                                     "adoptive_parent"]),
                "language": "es" if spanish else "en",
            },
            "direction": "into" if into else "out",
            "reason": reason.value,
            "school_year": SCHOOL_YEAR,
            "other_district": rng.choice(["Downey Unified School District",
                                          "Bellflower Unified School District",
                                          LONG_BEACH]),
            "preferred_school": rng.choice(level) if into and level else None,
            "self_employed": reason is TransferReason.parent_employment and rng.random() < 0.2,
            "reapply_annually": rng.random() < 0.2,
        }
        # Only the agreement with Long Beach requires reapplying each year (EC 46600(a)(2),
        # districts/paramount.toml); a request asking for it elsewhere would be refused.
        request["reapply_annually"] = (request["other_district"] == LONG_BEACH
                                       and request["reapply_annually"])
        return InterdistrictRequest.model_validate(request)

    # -- one plan -----------------------------------------------------------------------------

    def plan(self, index: int, seed: int, submit_day: date) -> Plan:
        rng = self.rng
        path = rng.choices(PATHS, weights=[p.weight for p in PATHS])[0]
        into = path.into_only or rng.random() < 0.35
        request = self.request(index, seed, into)
        p = Plan(index=index, path=path.name, request=request, submit_day=submit_day,
                 final=path.final)
        needed = required_documents(request.direction, request.reason,
                                    request.student.has_iep_or_504, request.self_employed)
        S = submit_day
        day_ = timedelta(days=1)

        def documents(lo: date, hi: date, kinds: list[DocumentKind] | None = None) -> date:
            return p.act(self.weekday(lo, hi), "documents", kinds if kinds is not None else needed)

        def complete() -> date:
            """Documents in and, into the district, the release granted: review starts."""
            docs = documents(S + day_, S + timedelta(days=DOCUMENT_DAYS - 2))
            if request.direction is Direction.into:
                return p.act(self.weekday(docs + day_, docs + timedelta(days=20)), "release",
                             actions.RecordRelease(actor=CLERK, granted=True))
            return docs

        def decide(lo: date, hi: date, outcome: Outcome) -> date:
            if outcome is Outcome.approve:
                school = None
                if request.direction is Direction.into and rng.random() < 0.2:
                    grade = request.student.grade
                    school = rng.choice([s for s, (a, b) in self.schools.items()
                                         if a <= grade <= b])
                action = actions.Decide(actor=DIRECTOR, outcome=outcome, school=school)
            else:
                reasons = rng.sample([r for r in DenialReason
                                      if r is not DenialReason.disciplinary_or_expelled],
                                     rng.choice([1, 1, 2]))
                action = actions.Decide(actor=DIRECTOR, outcome=outcome, reasons=reasons)
            return p.act(self.weekday(lo, hi), "decide", action)

        def appeal(letter: date, outcome: AppealOutcome) -> date:
            """Filed inside the window; the county decides, on time, late, or extended."""
            filed = p.act(self.weekday(letter + day_, letter + timedelta(days=APPEAL_DAYS - 2)),
                          "appeal", actions.FileAppeal(actor=rng.choice([CLERK, COUNTY])))
            events = ["appeal_filed"]
            timing = rng.choices(["on_time", "late", "extended"], weights=[70, 15, 15])[0]
            p.variant = timing
            if timing == "on_time":
                hi = filed + timedelta(days=COUNTY_DAYS - 2)
                ruled = self.weekday(filed + timedelta(days=5), hi)
            elif timing == "late":  # past the county's 30 days: staff are escalated first
                events.append("county_decision_overdue")
                ruled = self.weekday(filed + timedelta(days=COUNTY_DAYS + 1),
                                     filed + timedelta(days=COUNTY_DAYS + 10))
            else:
                events.append("appeal_extended")
                p.act(self.weekday(filed + timedelta(days=3), filed + timedelta(days=25)),
                      "extend",
                      actions.ExtendAppeal(
                          actor=COUNTY, reason="the board meets next month",
                          circumstance=ExtensionCircumstance.hearing_availability))
                ruled = self.weekday(filed + timedelta(days=COUNTY_DAYS + 1),
                                     filed + timedelta(days=COUNTY_EXTENDED_DAYS - 2))
            p.act(ruled, "outcome", actions.RecordAppealOutcome(actor=COUNTY, outcome=outcome))
            events.append("appeal_upheld" if outcome is AppealOutcome.upheld else "approved")
            p.events += tuple(events)
            if timing != "late":
                p.absent += ("county_decision_overdue",)
            return ruled

        name = path.name
        if name == "approved":
            done = complete()
            p.final_day = decide(done + day_, done + timedelta(days=PROMISE_DAYS - 2),
                                 Outcome.approve)
            p.events, p.absent = ("review_started", "approved"), ("overdue", "denied")
        elif name == "approved_past_promise":
            done = complete()
            lo = done + timedelta(days=PROMISE_DAYS + 1)
            hi = min(done + timedelta(days=PROMISE_DAYS + 12), self.statute(done) - day_)
            p.final_day = decide(lo, hi, Outcome.approve)
            p.events, p.absent = ("overdue", "approved"), ("deemed_denied",)
        elif name in ("denied_not_appealed", "appeal_upheld", "appeal_granted"):
            done = complete()
            letter = decide(done + day_, done + timedelta(days=PROMISE_DAYS - 2), Outcome.deny)
            p.events = ("denied",)
            if name == "denied_not_appealed":
                p.final_day = letter + timedelta(days=APPEAL_DAYS + 1)
                p.events += ("abandoned",)
                p.absent = ("appeal_filed",)
            else:
                p.final_day = appeal(letter, AppealOutcome.upheld if name == "appeal_upheld"
                                     else AppealOutcome.granted)
        elif name == "documents_never_supplied":
            if len(needed) > 1 and rng.random() < 0.5:  # some, not all
                documents(S + day_, S + timedelta(days=DOCUMENT_DAYS - 2), needed[:-1])
                p.variant = "some_documents"
            p.final_day = S + timedelta(days=DOCUMENT_DAYS + 1)
            p.events, p.absent = ("documents_requested", "abandoned"), ("review_started",)
        elif name == "release_never_received":
            docs = documents(S + day_, S + timedelta(days=DOCUMENT_DAYS - 2))
            p.final_day = docs + timedelta(days=RELEASE_DAYS + 1)
            p.events, p.absent = ("awaiting_release", "abandoned"), ("review_started",)
        elif name == "release_refused":
            refusal = actions.RecordRelease(actor=CLERK, granted=False, note="no release")
            if rng.random() < 0.3:  # refused before the documents came
                p.variant = "before_documents"
                p.final_day = p.act(self.weekday(S + day_, S + timedelta(days=10)), "release",
                                    refusal)
            else:
                docs = documents(S + day_, S + timedelta(days=DOCUMENT_DAYS - 2))
                p.final_day = p.act(self.weekday(docs + day_, docs + timedelta(days=20)),
                                    "release", refusal)
            p.events, p.absent = ("release_refused",), ("review_started",)
        elif name == "withdrawn":
            at = rng.choice(["awaiting_documents", "under_review", "denied", "appeal_pending"])
            p.variant = at
            if at == "awaiting_documents":
                lo, hi = S + day_, S + timedelta(days=DOCUMENT_DAYS - 2)
            elif at == "under_review":
                done = complete()
                lo, hi = done + day_, done + timedelta(days=PROMISE_DAYS - 2)
            else:
                done = complete()
                letter = decide(done + day_, done + timedelta(days=PROMISE_DAYS - 2),
                                Outcome.deny)
                lo, hi = letter + day_, letter + timedelta(days=APPEAL_DAYS - 2)
                if at == "appeal_pending":
                    filed = p.act(self.weekday(lo, hi), "appeal", actions.FileAppeal(actor=CLERK))
                    lo, hi = filed + day_, filed + timedelta(days=COUNTY_DAYS - 2)
            p.final_day = p.act(self.weekday(lo, hi), "withdraw",
                                actions.Withdraw(actor=CLERK,
                                                 note="the parent withdrew the request"))
            p.events = ("withdrawn",)
        else:  # the deemed denials: no decision by the statute
            done = complete()
            deemed = self.statute(done) + day_  # the day the failure becomes a denial
            p.events = ("review_started", "deemed_denied")
            if done + timedelta(days=PROMISE_DAYS) < self.statute(done):
                p.events += ("overdue",)
            if name == "deemed_denied_not_appealed":
                p.final_day = deemed + timedelta(days=APPEAL_DAYS + 1)
                p.events += ("abandoned",)
            elif name == "deemed_denied_then_approved":
                p.final_day = decide(deemed + day_, deemed + timedelta(days=APPEAL_DAYS - 5),
                                     Outcome.approve)
                p.events += ("approved",)
            else:
                outcome = rng.choice([AppealOutcome.upheld, AppealOutcome.granted])
                p.final = Stage.denied_final if outcome is AppealOutcome.upheld else Stage.approved
                p.final_day = appeal(deemed, outcome)
        return p


def submission_days(rng: random.Random, count: int) -> list[date]:
    """Weekdays from January 15: an opening-day rush, then fewer each week into June."""
    days = [OPENS + timedelta(days=n) for n in range((LAST_SUBMISSION - OPENS).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    weights = [12.0 if d == OPENS else 2.0 * 0.97 ** (d - OPENS).days for d in days]
    return sorted(rng.choices(days, weights=weights, k=count))


def make_plans(count: int, seed: int, first_day: date, schools: dict[str, tuple[int, int]]
               ) -> list[Plan]:
    rng = random.Random(seed)
    planner = Planner(rng, first_day, schools)
    return [planner.plan(i, seed, day) for i, day in enumerate(submission_days(rng, count))]


# ---- driving ------------------------------------------------------------------------------


class Timings:
    def __init__(self) -> None:
        self.parts: dict[str, float] = defaultdict(float)
        self.counts: Counter[str] = Counter()

    def add(self, part: str, seconds: float, n: int = 1) -> None:
        self.parts[part] += seconds
        self.counts[part] += n


async def bounded(limit: asyncio.Semaphore, work: Callable[[], Awaitable[Any]]) -> Any:
    async with limit:
        return await work()


async def skip_to(env: WorkflowEnvironment, day: date, tz: str) -> None:
    delta = calendar.at_local(day, STAFF_CLOCK, tz) - await env.get_current_time()
    if delta.total_seconds() > 0:
        await env.sleep(delta)


async def wait_parked(engine: Any, ids: list[str], seconds: float = 120) -> None:
    """Until every request just started has recorded its receipt and moved past submitted:
    the time-skipping server must not skip past a workflow whose first task has not run."""
    deadline = time.monotonic() + seconds
    while True:
        with engine.connect() as connection:
            moved = connection.execute(
                select(RequestRow.id).where(RequestRow.id.in_(ids),
                                            RequestRow.stage != Stage.submitted.value)
            ).scalars().all()
        if len(moved) == len(ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids) - len(moved)} requests never left submitted")
        await asyncio.sleep(0.02)


async def wait_closed(engine: Any, ids: list[str], seconds: float) -> int:
    """Until the records store shows every request closed (or the time is up): the open."""
    deadline = time.monotonic() + seconds
    while True:
        with engine.connect() as connection:
            still_open = connection.execute(
                select(RequestRow.id).where(RequestRow.id.in_(ids), RequestRow.is_open)
            ).scalars().all()
        if not still_open or time.monotonic() > deadline:
            return len(still_open)
        await asyncio.sleep(0.05)


async def perform(handle: WorkflowHandle, kind: str, payload: Any) -> int:
    """One planned staff action; the number of Updates it took."""
    if kind == "documents":  # the parent's packet, as `transfers documents add` sends it
        files = [actions.DocumentFile(kind=k, name=f"{k.value}.pdf", sha256=SHA, size=2048)
                 for k in payload]
        if len(files) == 1:
            await handle.execute_update(W.add_document,
                                        actions.AddDocument(actor=CLERK, **files[0].model_dump()))
        else:
            await handle.execute_update(W.add_documents,
                                        actions.AddDocuments(actor=CLERK, documents=files))
        return 1
    update = {
        "release": W.record_release, "decide": W.decide, "appeal": W.file_appeal,
        "extend": W.extend_appeal, "outcome": W.record_appeal_outcome, "withdraw": W.withdraw,
    }[kind]
    await handle.execute_update(update, payload)
    return 1


async def simulate(env: WorkflowEnvironment, engine: Any, plans: list[Plan], task_queue: str,
                   concurrency: int, timings: Timings, progress: bool = True) -> None:
    config = load_district(DISTRICT)
    tz = config.timezone
    limit = asyncio.Semaphore(concurrency)
    handles: dict[int, WorkflowHandle] = {}
    starts: dict[date, list[Plan]] = defaultdict(list)
    actions: dict[date, list[tuple[Plan, list[tuple[str, Any]]]]] = defaultdict(list)
    for plan in plans:
        starts[plan.submit_day].append(plan)
        by_day: dict[date, list[tuple[str, Any]]] = defaultdict(list)
        for day, kind, payload in plan.actions:
            by_day[day].append((kind, payload))
        for day, todo in by_day.items():
            actions[day].append((plan, todo))
    days = sorted(set(starts) | set(actions))
    began, month, started = time.perf_counter(), None, 0
    for day in days:
        if progress and (day.year, day.month) != month:
            month = (day.year, day.month)
            print(f"  {day:%Y-%m}: {started} requests started so far, "
                  f"{time.perf_counter() - began:6.1f} s", flush=True)
        started += len(starts[day])
        t = time.perf_counter()
        await skip_to(env, day, tz)
        timings.add("skip time (server fires the deadlines)", time.perf_counter() - t)
        if starts[day]:
            t = time.perf_counter()

            async def submit(plan: Plan, day: date = day) -> None:
                inp = prepare(plan.request, config, day, engine, CLERK.name)
                plan.request_id = inp.id
                handles[plan.index] = await start(env.client, inp, task_queue)

            await asyncio.gather(*(bounded(limit, lambda p=p: submit(p)) for p in starts[day]))
            await wait_parked(engine, [p.request_id for p in starts[day]])
            timings.add("submit (start, receipt recorded)", time.perf_counter() - t,
                        len(starts[day]))
        if actions[day]:
            t = time.perf_counter()

            async def act(plan: Plan, todo: list[tuple[str, Any]]) -> int:
                return sum([await perform(handles[plan.index], k, x) for k, x in todo])

            done = await asyncio.gather(*(bounded(limit, lambda p=p, x=x: act(p, x))
                                          for p, x in actions[day]))
            timings.add("staff updates", time.perf_counter() - t, sum(done))
    # Past every path's last day: the appeal windows and the county's days have run out.
    last = max(p.final_day for p in plans if p.final_day) + timedelta(days=2)
    t = time.perf_counter()
    await skip_to(env, last, tz)
    timings.add("skip time (server fires the deadlines)", time.perf_counter() - t)
    t = time.perf_counter()
    still_open = await wait_closed(engine, [p.request_id for p in plans], seconds=60)
    timings.add("wait until the store shows all closed", time.perf_counter() - t)
    if still_open:
        print(f"warning: {still_open} requests still open in the records store", flush=True)


# ---- checking -------------------------------------------------------------------------------


def check(plan: Plan, result: RequestState | None, stored: Any, tz: str) -> list[str]:
    problems: list[str] = []
    if result is None:
        return ["the run did not close"]
    if result.stage is not plan.final:
        problems.append(f"ended {result.stage}, expected {plan.final}")
    last_day = calendar.local_date(result.history[-1].at, tz)
    if plan.final_day and last_day != plan.final_day:
        problems.append(f"last event {result.history[-1].event} on {last_day}, expected "
                        f"{plan.final_day}")
    events = {e.event for e in result.history}
    missing = [e for e in plan.events if e not in events]
    extra = [e for e in plan.absent if e in events]
    if missing:
        problems.append(f"history lacks {', '.join(missing)}")
    if extra:
        problems.append(f"history has {', '.join(extra)}")
    if stored is None:
        problems.append("no row in the records store")
    else:
        if stored.stage is not result.stage:
            problems.append(f"records store says {stored.stage}, the run {result.stage}")
        if len(stored.history) != len(result.history):
            problems.append(f"records store has {len(stored.history)} events, the run "
                            f"{len(result.history)}")
    return problems


async def collect(env: WorkflowEnvironment, engine: Any, plans: list[Plan], concurrency: int,
                  tz: str) -> dict[int, list[str]]:
    limit = asyncio.Semaphore(concurrency)

    async def one(plan: Plan) -> list[str]:
        handle = env.client.get_workflow_handle_for(W.run, plan.request_id)
        try:
            result = await asyncio.wait_for(handle.result(), timeout=30)
        except TimeoutError:
            state = await handle.query(W.status)
            return [f"the run did not close: still {state.stage}"]
        stored = records.get_request(engine, plan.request_id)
        return check(plan, result, stored, tz)

    found = await asyncio.gather(*(bounded(limit, lambda p=p: one(p)) for p in plans))
    return {plan.index: problems for plan, problems in zip(plans, found, strict=True)
            if problems}


def report(plans: list[Plan], mismatches: dict[int, list[str]]) -> None:
    by_path: Counter[str] = Counter(p.path for p in plans)
    bad: Counter[str] = Counter(p.path for p in plans if p.index in mismatches)
    variants: dict[str, Counter[str]] = defaultdict(Counter)
    finals: dict[str, Counter[str]] = defaultdict(Counter)
    for p in plans:
        if p.variant:
            variants[p.path][p.variant] += 1
        finals[p.path][p.final.value] += 1
    into = sum(p.request.direction is Direction.into for p in plans)
    print(f"\n{'path':30} {'requests':>8} {'mismatch':>8}  expected final stage (variants)")
    for path in PATHS:
        n = by_path[path.name]
        if not n:
            continue
        ends = ", ".join(f"{k} {v}" for k, v in sorted(finals[path.name].items()))
        detail = ", ".join(f"{k} {v}" for k, v in sorted(variants[path.name].items()))
        print(f"{path.name:30} {n:8d} {bad[path.name]:8d}  {ends}"
              + (f"  ({detail})" if detail else ""))
    print(f"{'total':30} {len(plans):8d} {sum(bad.values()):8d}  "
          f"into {into}, out {len(plans) - into}")
    first = min(p.submit_day for p in plans)
    last_submit = max(p.submit_day for p in plans)
    end = max(p.final_day for p in plans if p.final_day)
    print(f"submitted {first} .. {last_submit}; last request closed {end}")
    for index, problems in sorted(mismatches.items())[:40]:
        plan = plans[index]
        print(f"MISMATCH {plan.request_id} [{plan.path}{'/' + plan.variant if plan.variant else ''}"
              f", {plan.request.direction}, submitted {plan.submit_day}]: {'; '.join(problems)}")
    if len(mismatches) > 40:
        print(f"... and {len(mismatches) - 40} more mismatches")


class Metrics:
    """The SDK's own metrics (``--metrics``): workflow task and activity latencies, drained
    from a buffer once a second."""

    NAMES = {
        "temporal_workflow_task_schedule_to_start_latency": "workflow task waits for the worker",
        "temporal_workflow_task_execution_latency": "workflow task runs (Python, sandbox)",
        "temporal_workflow_task_replay_latency": "workflow task replay part",
        "temporal_activity_schedule_to_start_latency": "activity waits for a slot",
        "temporal_activity_execution_latency": "activity runs",
        "temporal_local_activity_execution_latency": "local activity runs",
        "temporal_workflow_endtoend_latency": "workflow run, start to close",
    }

    def __init__(self) -> None:
        from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

        self.buffer = MetricBuffer(1_000_000)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=self.buffer))
        self.values: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.counters: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    def drain(self) -> None:
        for update in self.buffer.retrieve_updates():
            name = update.metric.name
            if name in self.NAMES:
                what = str(update.attributes.get("activity_type")
                           or update.attributes.get("workflow_type") or "")
                self.values[(name, what)].append(float(update.value))
            elif update.metric.kind == 0:  # a counter: its delta
                self.counters[name] += int(update.value)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(1)
            self.drain()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    def report(self) -> None:
        if self._task:
            self._task.cancel()
        self.drain()
        print("\nSDK metrics (milliseconds): count, total, median, p95, max")
        for (name, what), values in sorted(self.values.items()):
            values.sort()
            n = len(values)
            print(f"  {self.NAMES[name] + (' ' + what if what else ''):62} {n:6d} "
                  f"{sum(values) / 1000:8.1f} s {values[n // 2]:7.0f} "
                  f"{values[int(n * 0.95)]:7.0f} {values[-1]:7.0f}")
        for name in ("temporal_workflow_completed", "temporal_sticky_cache_miss",
                     "temporal_sticky_cache_total_forced_eviction",
                     "temporal_workflow_task_execution_failed",
                     "temporal_activity_execution_failed"):
            if self.counters.get(name):
                print(f"  {name:62} {self.counters[name]:6d}")


@contextlib.asynccontextmanager
async def project_worker(
    env: WorkflowEnvironment, settings: Any, args: argparse.Namespace, options: dict[str, Any]
) -> AsyncIterator[int | None]:
    """The project's worker: by default `transfers worker` in its own process, as production
    runs it, connected to the test server (yields its pid); with ``--in-process-worker``,
    in this process beside the driver (yields None), where the two share one interpreter
    lock."""
    if args.in_process_worker:
        with ThreadPoolExecutor(max_workers=args.activity_threads) as executor:
            async with build_worker(env.client, settings, executor, **options):
                yield None
        return
    log_path = settings.data_dir / "worker.log"
    environment = {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TRANSFERS_DATA_DIR": str(settings.data_dir),
        "TRANSFERS_DATABASE_URL": settings.database_url,
        "TRANSFERS_TASK_QUEUE": settings.task_queue,
    }
    environment.pop("TRANSFERS_SMTP_HOST", None)  # notices to the outbox, as here
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(common.BIN / "transfers"), "worker"], env=environment,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        while "worker polling task queue" not in log_path.read_text():
            if process.poll() is not None:
                raise SystemExit(f"the worker exited with {process.returncode}: {log_path}")
            await asyncio.sleep(0.05)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)  # a clean shutdown: running tasks finish
        await asyncio.to_thread(process.wait, 60)


async def main(args: argparse.Namespace) -> int:
    wall = time.perf_counter()
    timings = Timings()
    config = load_district(DISTRICT)
    first_day = config.calendar[SCHOOL_YEAR].first_day
    schools = {s.id: (s.lowest_grade, s.highest_grade) for s in config.schools}
    plans = make_plans(args.requests, args.seed, first_day, schools)
    updates = sum(len(p.actions) for p in plans)  # a packet of documents is one Update
    print(f"{args.requests} requests, seed {args.seed}: {updates} staff updates planned, "
          f"{len({p.submit_day for p in plans} | {d for p in plans for d, _, _ in p.actions})}"
          " staff days", flush=True)
    with tempfile.TemporaryDirectory(prefix="school-year-") as tmp:
        data = Path(tmp)
        settings = replace(
            load_settings(), data_dir=data, database_url=f"sqlite:///{data / 'records.sqlite3'}",
            smtp_host=None, task_queue=f"school-year-{uuid.uuid4().hex[:8]}",
        )
        t = time.perf_counter()
        engine = engine_for(settings.database_url)  # the worker's activities share it
        metrics = Metrics() if args.metrics else None
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=find_binary("temporal-test-server"),
            data_converter=DATA_CONVERTER,
            runtime=metrics.runtime if metrics else None,
        )
        if metrics:
            metrics.start()
        await register(env.client)
        timings.add("start the server and the store", time.perf_counter() - t)
        mismatches: dict[int, list[str]] = {}
        worker_cpu: float | None = None
        try:
            options: dict[str, Any] = {}
            if args.cache is not None:
                options["max_cached_workflows"] = args.cache
            t = time.perf_counter()
            async with project_worker(env, settings, args, options) as worker_pid:
                timings.add("start the worker", time.perf_counter() - t)
                # Nothing here waits on a result for time to pass: the only skips are the
                # explicit ones between staff days.
                with env.auto_time_skipping_disabled():
                    sim = time.perf_counter()
                    await simulate(env, engine, plans, settings.task_queue,
                                   args.concurrency, timings, not args.quiet)
                    simulated = time.perf_counter() - sim
                    t = time.perf_counter()
                    mismatches = await collect(env, engine, plans, args.concurrency,
                                               config.timezone)
                    timings.add("collect results and check the store",
                                time.perf_counter() - t, len(plans))
                if worker_pid is not None:
                    worker_cpu = common.cpu_seconds(worker_pid)
                t = time.perf_counter()
            # shutting the worker down (its open permits stay on the server)
            timings.add("stop the worker", time.perf_counter() - t)
            outbox = len(list(settings.outbox_dir.glob("*.eml"))) if settings.outbox_dir.exists() \
                else 0
        finally:
            await env.shutdown()
    report(plans, mismatches)
    total = time.perf_counter() - wall
    if metrics:
        metrics.report()
    print("\nwall time breakdown:")
    for part, seconds in timings.parts.items():
        n = timings.counts[part]
        print(f"  {part:42} {seconds:7.2f} s  ({n} {'calls' if n != 1 else 'call'})")
    print(f"  {'simulation (submission to last close)':42} {simulated:7.2f} s")
    print(f"notices in the outbox: {outbox}")
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    own_cpu, children_cpu = own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime
    if worker_cpu is None:
        print(f"CPU time: this process (driver and worker) {own_cpu:.1f} s, "
              f"the test server {children_cpu:.1f} s; ", end="")
    else:
        print(f"CPU time: the driver {own_cpu:.1f} s, the worker process {worker_cpu:.1f} s, "
              f"the test server {children_cpu - worker_cpu:.1f} s; ", end="")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    met = "met" if total < TARGET_SECONDS else "not met"
    print(f"\nwall time {total:.1f} s for {len(plans)} requests "
          f"(target < {TARGET_SECONDS:.0f} s: {met})")
    print("RESULT: " + ("all requests ended as their paths predict" if not mismatches
                        else f"{len(mismatches)} mismatches"))
    return 1 if mismatches else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--concurrency", type=int, default=64,
                        help="client calls (starts, Updates, results) in flight at once")
    parser.add_argument("--activity-threads", type=int, default=16,
                        help="the worker's activity executor (the production worker's 16)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--metrics", action="store_true",
                        help="collect the SDK's task and activity latencies and print them")
    parser.add_argument("--cache", type=int, default=None,
                        help="max_cached_workflows (default: build_worker's; in-process only)")
    parser.add_argument("--in-process-worker", action="store_true",
                        help="run the worker in this process, beside the driver (default: "
                        "`transfers worker` in its own process, as production runs it)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    status = asyncio.run(main(parse_args()))
    # The SDK's native bridge can crash the interpreter at exit (temporalio/sdk-python#300):
    # leave with the run's own status.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
