"""Throughput of the project against bare Temporal, side by side in one run.

On the embedded default (the dev server persisted to SQLite, as `transfers dev` starts it)
the server's single SQLite writer is the bottleneck: a bare workflow of a few activities
completes at about a dozen per second. This measures whether the project's own work (records,
notices, search attributes, the sandbox, pydantic payloads) costs the server anything beyond
what a workflow of the same shape costs anyway. The same number of requests goes through:

  (a) a bare workflow of the project's shape, defined here and run by its own Worker on its
      own task queue against the same dev server: as many no-op activities (always regular
      ones, Temporal's default), Updates, signals, timers and child workflows as (b),
      counted from (b)'s history at the start of the run, ending the same way (a child that
      does its no-op activities and then waits on a timer, as the permit does);
  (b) the project's interdistrict lifecycle: `submit` into the district (child care), the
      four documents (`documents add`), the release, the approval; with the receipt, the
      missing-documents and approval notices, a record of every event, and the permit's own
      workflow.

Both go through the client API as the CLI's commands do (`starter._prepare_interdistrict` and
`Client.start_workflow`; `execute_update` with the project's models), not one CLI process per
action, whose start-up would dominate. Like a clerk, the driver of (b) waits for the records
store to show the request awaiting documents before adding them, and under review before
deciding. Both workers run in this process, one side at a time, with the same number of
requests in flight. A request counts as completed when its workflow has completed and every
activity it caused, its child's included, has finished. Printed: the shape counted, completed
requests per second for (a) and (b), and b/a (target >= 1.0).

    .venv/bin/python bench/throughput.py [--requests 200] [--concurrency 20] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.workflow import ParentClosePolicy

BARE_QUEUE = "bench-bare"
LONG_WAIT = timedelta(days=300)  # the timers nothing ever reaches


class BareShape(BaseModel):
    """Where the project's lifecycle runs its activities, counted from its history."""

    start: int = 0  # before the first Update (the run)
    in_update: list[int] = []  # during Update k (its handler)
    after_update: list[int] = []  # after Update k, before the next one (the run)
    signals: int = 0
    timers: int = 0  # how many of the run's waits for an Update are on a timer
    children: int = 0
    child_activities: int = 0
    child_timers: int = 0


class ChildInput(BaseModel):
    activities: int
    timers: int


@activity.defn(name="bench_noop")
async def noop() -> None:
    """Nothing."""


async def _noops(count: int) -> None:
    for _ in range(count):
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=60))


@workflow.defn(name="BenchBareRequest")
class BareRequest:
    @workflow.init
    def __init__(self, shape: BareShape) -> None:
        self.shape = shape
        self.updates_done = 0
        self.signals = 0

    @workflow.run
    async def run(self, shape: BareShape) -> None:
        await _noops(shape.start)
        for k in range(len(shape.in_update)):
            def arrived(k: int = k) -> bool:
                return self.updates_done > k

            if k < shape.timers:
                await workflow.wait_condition(arrived, timeout=LONG_WAIT)
            else:
                await workflow.wait_condition(arrived)
            await _noops(shape.after_update[k])
        await workflow.wait_condition(lambda: self.signals >= shape.signals)
        info = workflow.info()
        for c in range(shape.children):
            await workflow.start_child_workflow(
                BareChild.run, ChildInput(activities=shape.child_activities,
                                          timers=shape.child_timers),
                id=f"{info.workflow_id}-child-{c}", parent_close_policy=ParentClosePolicy.ABANDON,
            )
        await workflow.wait_condition(workflow.all_handlers_finished)

    @workflow.update
    async def step(self, k: int) -> int:
        await _noops(self.shape.in_update[k])
        self.updates_done += 1
        return k

    @workflow.signal
    def poke(self) -> None:
        self.signals += 1


@workflow.defn(name="BenchBareChild")
class BareChild:
    @workflow.run
    async def run(self, inp: ChildInput) -> None:
        await _noops(inp.activities)
        for _ in range(inp.timers):
            await workflow.sleep(LONG_WAIT)


# ---- counting the project's shape ------------------------------------------------------------


def count_history(events: list[Any]) -> dict[str, int]:
    from temporalio.api.enums.v1 import EventType as E

    counts = {"activities": 0, "local activities": 0, "updates": 0, "signals": 0,
              "timers": 0, "child workflows": 0, "search attribute upserts": 0,
              "workflow tasks": 0, "history events": len(events)}
    for e in events:
        t = e.event_type
        if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts["activities"] += 1
        elif t == E.EVENT_TYPE_MARKER_RECORDED and \
                e.marker_recorded_event_attributes.marker_name == "core_local_activity":
            counts["local activities"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts["updates"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            counts["signals"] += 1
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            counts["timers"] += 1
        elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            counts["child workflows"] += 1
        elif t == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            counts["search attribute upserts"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            counts["workflow tasks"] += 1
    return counts


def shape_of(events: list[Any], child: dict[str, int] | None) -> BareShape:
    """Where the activities of a project request's history are: before the first Update,
    while Update k runs (accepted to completed), after it. Local activities count as
    activities: the bare workflow runs regular ones."""
    from temporalio.api.enums.v1 import EventType as E

    shape = BareShape()
    where: tuple[str, int] = ("start", 0)
    updates = 0
    for e in events:
        t = e.event_type
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            shape.in_update.append(0)
            shape.after_update.append(0)
            where = ("in", updates)
            updates += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            where = ("after", where[1])
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED or (
            t == E.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            if where[0] == "start":
                shape.start += 1
            elif where[0] == "in":
                shape.in_update[where[1]] += 1
            else:
                shape.after_update[where[1]] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            shape.signals += 1
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            shape.timers += 1
        elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            shape.children += 1
    shape.timers = min(shape.timers, len(shape.in_update))
    if child:
        shape.child_activities = child["activities"] + child["local activities"]
        shape.child_timers = min(child["timers"], 1)
    return shape


def child_ids(events: list[Any]) -> list[str]:
    from temporalio.api.enums.v1 import EventType as E

    return [e.start_child_workflow_execution_initiated_event_attributes.workflow_id
            for e in events if e.event_type == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED]


# ---- the two sides ------------------------------------------------------------------------------


class Project:
    """(b): the interdistrict lifecycle through the CLI's calls."""

    name = "project lifecycle"

    def __init__(self, stack: Any, run_tag: str) -> None:
        import common
        from cli_common import _actor, _district
        from models.documents import DocumentKind  # noqa: F401 - the kinds' type
        from models.requests import Direction, TransferReason
        from rules.documents import required_documents
        from store.documents import DocumentStore

        self.stack, self.common = stack, common
        self.engine = stack.engine()
        config = _district(common.DISTRICT)
        self.clerk = _actor(config, common.CLERK)
        self.director = _actor(config, common.DIRECTOR)
        self.kinds = required_documents(Direction.into, TransferReason.child_care, False, False)
        self.documents = DocumentStore(stack.settings().documents_dir)
        self.run_tag = run_tag

    async def one(self, client: Any, n: int) -> None:
        from models.actions import AddDocument, Decide, RecordRelease
        from models.decisions import Outcome
        from models.state import RequestState
        from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

        common = self.common
        request_id = await common.submit(client, common.request_form(n, "into", self.run_tag))
        handle = client.get_workflow_handle(request_id)
        await common.wait_for_stage(self.engine, request_id, {"awaiting_documents"})
        for kind in self.kinds:
            content = f"%PDF-1.4 {request_id} {kind.value}".encode()
            stored = await asyncio.to_thread(self.documents.put, f"{kind.value}.pdf", content)
            await handle.execute_update(
                W.add_document,
                AddDocument(actor=self.clerk, kind=kind, name=stored.name, sha256=stored.sha256,
                            size=stored.size),
                result_type=RequestState,
            )
        await handle.execute_update(W.record_release, RecordRelease(actor=self.clerk,
                                                                   granted=True),
                                    result_type=RequestState)
        await common.wait_for_stage(self.engine, request_id, {"under_review"})
        await handle.execute_update(W.decide, Decide(actor=self.director,
                                                     outcome=Outcome.approve),
                                    result_type=RequestState)
        final = await handle.result(result_type=RequestState)
        if final.stage.value != "approved":
            raise common.BenchError(f"{request_id} ended {final.stage.value}, not approved")
        self.last_id = request_id


class Bare:
    """(a): the bare workflow of the same shape."""

    name = "bare workflow"

    def __init__(self, shape: BareShape, run_tag: str) -> None:
        self.shape, self.run_tag = shape, run_tag

    async def one(self, client: Any, n: int) -> None:
        handle = await client.start_workflow(
            BareRequest.run, self.shape, id=f"bare-{self.run_tag}-{n}", task_queue=BARE_QUEUE
        )
        for k in range(len(self.shape.in_update)):
            await handle.execute_update(BareRequest.step, k)
        for _ in range(self.shape.signals):
            await handle.signal(BareRequest.poke)
        await handle.result()
        self.last_id = handle.id


async def drive(side: Any, client: Any, counter: Any, start: int, count: int,
                concurrency: int, per_request: int) -> dict[str, float]:
    """``count`` requests, ``concurrency`` at a time; the clock stops when every workflow
    has completed and every activity they caused has finished."""
    import common

    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failures: list[BaseException] = []
    target = counter.total() + count * per_request

    async def one(n: int) -> None:
        async with semaphore:
            began = time.monotonic()
            try:
                await side.one(client, n)
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)
                return
            latencies.append(time.monotonic() - began)

    t0 = time.monotonic()
    await asyncio.gather(*(one(n) for n in range(start, start + count)))
    if failures:
        raise common.BenchError(f"{len(failures)} of {count} {side.name} requests failed; "
                                f"the first: {failures[0]!r}")
    workflows_done = time.monotonic()
    all_done = await common.wait_until_count(counter, target, timeout=600)
    elapsed = max(workflows_done, all_done) - t0
    return {"elapsed": elapsed, "rate": count / elapsed,
            "p50": common.percentile(latencies, 50), "p99": common.percentile(latencies, 99)}


async def probe(side: Any, client: Any, counter: Any, n: int) -> tuple[int, list[Any], Any]:
    """One request, untimed: the activities it causes, its history and its child's."""
    import common

    before = counter.total()
    await side.one(client, n)
    after = await common.wait_until_quiet(counter)
    history = await client.get_workflow_handle(side.last_id).fetch_history()
    events = list(history.events)
    child = None
    for child_id in child_ids(events)[:1]:
        child = list((await client.get_workflow_handle(child_id).fetch_history()).events)
    return after - before, events, child


async def bench(args: argparse.Namespace) -> int:
    import common
    from temporalio.worker import Worker

    print(common.machine())
    counter = common.ActivityCounter()
    async with common.dev_stack(args.data_dir, args.keep) as stack:
        client = stack.client
        bare_worker = Worker(client, task_queue=BARE_QUEUE, workflows=[BareRequest, BareChild],
                             activities=[noop], interceptors=[counter])
        async with stack.project_worker([counter]), bare_worker:
            project = Project(stack, "P")
            per_project, events, child_events = await probe(project, client, counter, 0)
            p_counts = count_history(events)
            c_counts = count_history(child_events) if child_events else None
            shape = shape_of(events, c_counts)
            bare = Bare(shape, "r")
            per_bare, bare_events, bare_child = await probe(bare, client, counter, 0)
            b_counts = count_history(bare_events)
            bc_counts = count_history(bare_child) if bare_child else None

            print(f"dev server: {stack.address}, SQLite {stack.temporal_path} (as `transfers "
                  "dev`); both workers in this process; driven through the client API "
                  "(no CLI process per action)")
            print("\nshape of one request (counted from the histories of one untimed run each):")
            rows = []
            for key in p_counts:
                rows.append([key, b_counts[key], p_counts[key],
                             bc_counts[key] if bc_counts else "-",
                             c_counts[key] if c_counts else "-"])
            rows.append(["activities finished (all)", per_bare, per_project, "", ""])
            common.print_table(["per request", "bare", "project", "bare child",
                                "permit child"], rows)
            matched = (b_counts["activities"] == p_counts["activities"]
                       + p_counts["local activities"]
                       and b_counts["updates"] == p_counts["updates"]
                       and b_counts["signals"] == p_counts["signals"]
                       and b_counts["child workflows"] == p_counts["child workflows"]
                       and per_bare == per_project)
            print("bare activities placed: start %d, in updates %s, after updates %s"
                  % (shape.start, shape.in_update, shape.after_update))
            if not matched:
                raise common.BenchError("the bare workflow does not match the project's shape")

            results: dict[str, list[dict[str, float]]] = {"bare": [], "project": []}
            for r in range(args.rounds):
                base = 1 + r * args.requests
                for key, side, per in (("bare", bare, per_bare),
                                       ("project", project, per_project)):
                    result = await drive(side, client, counter, base, args.requests,
                                         args.concurrency, per)
                    results[key].append(result)
                    print(f"round {r + 1}: {side.name}: {args.requests} in "
                          f"{result['elapsed']:.1f} s, {result['rate']:.2f}/s")
            permits = _count_permits(stack.engine())
            expected = (1 + args.rounds * args.requests) * p_counts["child workflows"]
            if permits != expected:
                raise common.BenchError(f"{permits} permits recorded, expected {expected}")

    def total(key: str) -> dict[str, float]:
        runs = results[key]
        elapsed = sum(r["elapsed"] for r in runs)
        return {"rate": args.requests * len(runs) / elapsed, "elapsed": elapsed,
                "p50": common.percentile([r["p50"] for r in runs], 50),
                "p99": max(r["p99"] for r in runs)}

    a, b = total("bare"), total("project")
    print(f"\n{args.requests} requests x {args.rounds} round(s), {args.concurrency} in flight:")
    common.print_table(
        ["", "completed/s", "elapsed", "request p50", "request p99"],
        [["(a) bare workflow", f"{a['rate']:.2f}", f"{a['elapsed']:.1f} s",
          common.seconds(a["p50"]), common.seconds(a["p99"])],
         ["(b) project lifecycle", f"{b['rate']:.2f}", f"{b['elapsed']:.1f} s",
          common.seconds(b["p50"]), common.seconds(b["p99"])]],
    )
    ratio = b["rate"] / a["rate"]
    print(f"b/a = {ratio:.2f} (target >= 1.0: {'met' if ratio >= 1.0 else 'NOT met'})")
    return 0


def _count_permits(engine: Any) -> int:
    from sqlalchemy import func, select

    from store.schema import PermitRow

    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(PermitRow)).scalar_one()


def main(argv: list[str] | None = None) -> int:
    import common

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per side (default 200)")
    parser.add_argument("--concurrency", type=int, default=20,
                        help="requests in flight, both sides (default 20)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate a, b this many times (default 1)")
    parser.add_argument("--data-dir", help="a new folder for the stores (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.rounds) < 1:
        parser.error("--requests, --concurrency and --rounds must be at least 1")
    try:
        return asyncio.run(bench(args))
    except common.BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Run as the module `throughput` (not __main__): the workflow sandbox re-imports the
    # module that defines the bare workflows by its name.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import throughput

    sys.exit(throughput.main())
