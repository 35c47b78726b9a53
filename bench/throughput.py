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
      does its no-op activities and then waits on a timer, as the permit does); its worker
      has the SDK's defaults (the sandbox too) on the project's worker's event loop
      (``TRANSFERS_EVENT_LOOP``, uvloop by default), so the loop is not what is compared;
  (b) the project's interdistrict lifecycle: `submit` into the district (child care), the
      four documents (`documents add`), the release, the approval; with the receipt, the
      missing-documents and approval notices, a record of every event, and the permit's own
      workflow.

Both go through the client API as the CLI's commands do (`app.submissions.prepare_interdistrict` and
`Client.start_workflow`; `execute_update` with the project's models), not one CLI process per
action, whose start-up would dominate. Like a clerk, the driver of (b) waits for the records
store to show the request awaiting documents before adding them, and under review before
deciding. Each side has one worker process (the project's: `transfers worker`; the bare one:
this script with the SDK's defaults), both polling throughout; the sides take turns, a round
each (three rounds by default, ``--rounds``), with the same number of requests in flight.
The clock runs from the first start to the server's time of the last event of the last
workflow to settle: every request closed, every child waiting on its timer with nothing
pending (so work a request leaves behind is counted). Printed: the shape counted, completed
requests per second for (a) and (b) over all rounds, b/a (target >= 1.0), and each round's
b/a with their median: on a 2-vCPU VM one round's b/a moves by a tenth from run to run.

    .venv/bin/python bench/throughput.py [--requests 200] [--concurrency 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, timedelta
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
    timers: int = 0  # timers started (and cancelled by the Updates)
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
        # The project's waits for staff are on timers that the staff's Updates cancel:
        # as many timers here, started at once and cancelled when the Updates are in.
        timers = [asyncio.ensure_future(workflow.sleep(LONG_WAIT)) for _ in range(shape.timers)]
        await _noops(shape.start)
        for k in range(len(shape.in_update)):
            await workflow.wait_condition(lambda k=k: self.updates_done > k)
            await _noops(shape.after_update[k])
        await workflow.wait_condition(lambda: self.signals >= shape.signals)
        for timer in timers:
            timer.cancel()
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

    counted = {
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "updates",
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
        E.EVENT_TYPE_TIMER_STARTED: "timers",
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "child workflows",
        E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attribute upserts",
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow tasks",
    }
    names = list(counted.values())
    counts = dict.fromkeys([names[0], "local activities", *names[1:]], 0)  # the table's order
    counts |= {"history events": len(events), "history bytes": sum(e.ByteSize() for e in events)}
    for e in events:
        if e.event_type in counted:
            counts[counted[e.event_type]] += 1
        elif e.event_type == E.EVENT_TYPE_MARKER_RECORDED and \
                e.marker_recorded_event_attributes.marker_name == "core_local_activity":
            counts["local activities"] += 1
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
    if child:
        shape.child_activities = child["activities"] + child["local activities"]
        shape.child_timers = min(child["timers"], 1)
    return shape


def child_ids(events: list[Any]) -> list[str]:
    from temporalio.api.enums.v1 import EventType as E

    started = E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    return [e.start_child_workflow_execution_initiated_event_attributes.workflow_id
            for e in events if e.event_type == started]


# ---- the two sides ------------------------------------------------------------------------------


class Project:
    """(b): the interdistrict lifecycle through the CLI's calls."""

    name = "project lifecycle"

    def __init__(self, stack: Any, run_tag: str) -> None:
        import common

        from app.context import district, staff
        from app.principal import Principal
        from models.requests import Direction, TransferReason
        from rules.documents import required_documents
        from store.documents import DocumentStore

        self.stack, self.common = stack, common
        self.engine = stack.engine()
        config = district(common.DISTRICT)
        self.clerk = staff(config, Principal(common.CLERK))
        self.director = staff(config, Principal(common.DIRECTOR))
        self.kinds = required_documents(Direction.into, TransferReason.child_care, False, False)
        self.documents = DocumentStore(stack.settings().documents_dir)
        self.run_tag = run_tag

    async def one(self, client: Any, n: int) -> str:
        from models.actions import AddDocument, Decide, RecordRelease
        from models.decisions import Outcome
        from models.state import RequestState
        from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

        common = self.common
        request_id = await common.submit(client, common.request_form(n, "into", self.run_tag))
        handle = client.get_workflow_handle_for(W.run, request_id)
        await common.wait_for_stage(self.engine, request_id, {"awaiting_documents"})
        for kind in self.kinds:
            content = f"%PDF-1.4 {request_id} {kind.value}".encode()
            stored = await asyncio.to_thread(self.documents.put, f"{kind.value}.pdf", content)
            await common.execute_update(
                handle, W.add_document,
                AddDocument(actor=self.clerk, kind=kind, name=stored.name, sha256=stored.sha256,
                            size=stored.size),
                result_type=RequestState,
            )
        await common.execute_update(handle, W.record_release, RecordRelease(actor=self.clerk,
                                                                   granted=True),
                                    result_type=RequestState)
        await common.wait_for_stage(self.engine, request_id, {"under_review"})
        await common.execute_update(handle, W.decide, Decide(actor=self.director,
                                                     outcome=Outcome.approve),
                                    result_type=RequestState)
        final = await handle.result()
        if final.stage.value != "approved":
            raise common.BenchError(f"{request_id} ended {final.stage.value}, not approved")
        return request_id


class Bare:
    """(a): the bare workflow of the same shape."""

    name = "bare workflow"

    def __init__(self, shape: BareShape, run_tag: str) -> None:
        self.shape, self.run_tag = shape, run_tag

    async def one(self, client: Any, n: int) -> str:
        import common

        handle = await client.start_workflow(
            BareRequest.run, self.shape, id=f"bare-{self.run_tag}-{n}", task_queue=BARE_QUEUE
        )
        for k in range(len(self.shape.in_update)):
            await common.execute_update(handle, BareRequest.step, k)
        for _ in range(self.shape.signals):
            await handle.signal(BareRequest.poke)
        await handle.result()
        return handle.id


async def settled_at(client: Any, workflow_id: str, timeout: float = 300) -> list[Any]:
    """The history of a workflow once it has nothing under way: closed, or waiting with no
    activity, workflow task or child pending (the permit waiting on its timers)."""
    import common

    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        closed = raw.workflow_execution_info.HasField("close_time")
        if closed or not (raw.pending_activities or raw.pending_children
                          or raw.HasField("pending_workflow_task")):
            return list((await handle.fetch_history()).events)
        if time.monotonic() > deadline:
            raise common.BenchError(f"{workflow_id} still busy after {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def finished(client: Any, workflow_id: str) -> tuple[float, list[Any], list[Any] | None]:
    """When a request and everything it started last did something (server event times,
    epoch seconds), its history and its first child's."""
    events = await settled_at(client, workflow_id)
    last = events[-1].event_time.ToDatetime(tzinfo=UTC).timestamp()
    child = None
    for n, child_id in enumerate(child_ids(events)):
        child_events = await settled_at(client, child_id)
        last = max(last, child_events[-1].event_time.ToDatetime(tzinfo=UTC).timestamp())
        if n == 0:
            child = child_events
    return last, events, child


async def drive(side: Any, client: Any, start: int, count: int,
                concurrency: int) -> dict[str, float]:
    """``count`` requests, ``concurrency`` at a time, each driven to its end; the clock
    stops at the last event of the last workflow (the permits' included) to settle."""
    import common

    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failures: list[BaseException] = []
    ids: list[str] = []

    async def one(n: int) -> None:
        async with semaphore:
            began = time.monotonic()
            try:
                ids.append(await side.one(client, n))
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)
                return
            latencies.append(time.monotonic() - began)

    t0 = time.time()
    await asyncio.gather(*(one(n) for n in range(start, start + count)))
    if failures:
        raise common.BenchError(f"{len(failures)} of {count} {side.name} requests failed; "
                                f"the first: {failures[0]!r}")
    semaphore = asyncio.Semaphore(20)

    async def last_event(workflow_id: str) -> float:
        async with semaphore:
            return (await finished(client, workflow_id))[0]

    ends = await asyncio.gather(*(last_event(i) for i in ids))
    elapsed = max(ends) - t0
    return {"elapsed": elapsed, "rate": count / elapsed,
            "p50": common.percentile(latencies, 50), "p99": common.percentile(latencies, 99)}


def shape_rows(p: dict, pc: dict | None, b: dict, bc: dict | None) -> list[list[Any]]:
    rows = [[key, b[key], p[key], bc[key] if bc else "-", pc[key] if pc else "-"] for key in p]
    return rows


def matches(p: dict, pc: dict | None, b: dict, bc: dict | None) -> bool:
    def acts(c: dict | None) -> int:
        return (c["activities"] + c["local activities"]) if c else 0

    return (acts(p) == acts(b) and acts(pc) == acts(bc)
            and all(p[k] == b[k] for k in ("updates", "signals", "child workflows")))


async def bench(args: argparse.Namespace) -> int:
    import common

    print(common.machine())
    async with common.dev_stack(args.data_dir, args.keep) as stack:
        client = stack.client
        project_worker = stack.start_worker_process()
        log = (stack.data_dir / "bare-worker.log").open("w")
        bare_worker = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--bare-worker"],
            env={**os.environ, **stack.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack.workers.append(bare_worker)  # stopped with the stack
        project = Project(stack, "P")
        _, events, child_events = await finished(client, await project.one(client, 0))
        p_counts = count_history(events)
        c_counts = count_history(child_events) if child_events else None
        shape = shape_of(events, c_counts)
        bare = Bare(shape, "r")
        _, bare_events, bare_child = await finished(client, await bare.one(client, 0))
        b_counts = count_history(bare_events)
        bc_counts = count_history(bare_child) if bare_child else None

        print(f"dev server {stack.address}, SQLite {stack.temporal_path.name} with `transfers "
              f"dev`'s flags; project worker `transfers worker` (pid {project_worker.pid}), "
              f"bare worker its own process (pid {bare_worker.pid}), both on the "
              f"{stack.settings().event_loop} event loop; driven through the client API, no "
              "CLI process per action")
        print("\nshape of one request (counted from one untimed run of each):")
        common.print_table(["per request", "bare", "project", "bare child", "permit child"],
                           shape_rows(p_counts, c_counts, b_counts, bc_counts))
        print(f"bare activities: {shape.start} at the start, {shape.in_update} in the Updates, "
              f"{shape.after_update} after them; the project's local activities run as "
              "regular ones")
        if not matches(p_counts, c_counts, b_counts, bc_counts):
            raise common.BenchError("the bare workflow does not match the project's shape")

        results: dict[str, list[dict[str, float]]] = {"bare": [], "project": []}
        workers = {"bare": bare_worker.pid, "project": project_worker.pid}
        cpu: dict[str, dict[str, float]] = {key: {"server": 0.0, "worker": 0.0, "driver": 0.0}
                                            for key in results}
        for r in range(args.rounds):
            base = 1 + r * args.requests
            for key, side in (("bare", bare), ("project", project)):
                stack.check_workers()
                before = _cpu(stack.server.pid, workers[key])
                result = await drive(side, client, base, args.requests, args.concurrency)
                after = _cpu(stack.server.pid, workers[key])
                for part, began, ended in zip(cpu[key], before, after, strict=True):
                    cpu[key][part] += ended - began
                results[key].append(result)
                print(f"round {r + 1}: {side.name}: {args.requests} in "
                      f"{result['elapsed']:.1f} s, {result['rate']:.2f}/s", flush=True)
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
    print(f"\n{args.requests} requests a side x {args.rounds} round(s), {args.concurrency} "
          "in flight; a request is complete when it and its child have settled:")
    common.print_table(
        ["", "completed/s", "elapsed", "request p50", "request p99"],
        [["(a) bare workflow", f"{a['rate']:.2f}", f"{a['elapsed']:.1f} s",
          common.seconds(a["p50"]), common.seconds(a["p99"])],
         ["(b) project lifecycle", f"{b['rate']:.2f}", f"{b['elapsed']:.1f} s",
          common.seconds(b["p50"]), common.seconds(b["p99"])]],
    )
    done = args.requests * args.rounds
    print("CPU per request, ms (each side's own worker; the server and the driver are shared):")
    common.print_table(
        ["", "dev server", "worker", "driver"],
        [[name, *(f"{1000 * cpu[key][part] / done:.1f}" for part in cpu[key])]
         for name, key in (("(a) bare workflow", "bare"), ("(b) project lifecycle", "project"))],
    )
    if common.retried_updates:
        print(f"({common.retried_updates} Update calls timed out and were asked again)")
    if args.rounds > 1:  # the spread says how much of a difference is the machine's noise
        pairs = [p["rate"] / q["rate"] for p, q in zip(results["project"], results["bare"],
                                                        strict=True)]
        print(f"b/a per round: {', '.join(f'{x:.2f}' for x in pairs)}; median "
              f"{common.percentile(pairs, 50):.2f}")
    ratio = b["rate"] / a["rate"]
    print(f"b/a = {ratio:.3f} (target >= 1.0: {'met' if ratio >= 1.0 else 'NOT met'})")
    return 0


async def serve_bare() -> None:
    """The bare worker process: its own task queue, the SDK's defaults (the sandbox
    included), on the project's worker's event loop."""
    import common  # noqa: F401 - puts the repository on sys.path
    from temporalio.worker import Worker

    from infra.settings import connect

    client = await connect()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=BARE_QUEUE, workflows=[BareRequest, BareChild],
                      activities=[noop]):
        await stop.wait()


def _cpu(server: int, worker: int) -> tuple[float, float, float]:
    """CPU seconds so far of the dev server, a worker and this process (the driver)."""
    import common

    return common.cpu_seconds(server), common.cpu_seconds(worker), time.process_time()


def _count_permits(engine: Any) -> int:
    from sqlalchemy import func, select

    from store.schema import PermitRow

    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(PermitRow)).scalar_one()


def main(argv: list[str] | None = None) -> int:
    import common

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per side (default 200)")
    parser.add_argument("--concurrency", type=int, default=50,
                        help="requests in flight, both sides (default 50: enough to keep the "
                        "server saturated)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate a, b this many times (default 3: one round's b/a "
                        "moves by a tenth on a small VM)")
    common.add_stack_options(parser)
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_worker:
        # The project's worker's event loop (TRANSFERS_EVENT_LOOP), so b/a compares the work
        # and not the loops.
        from infra.settings import load_settings
        from worker import event_loop_factory

        with asyncio.Runner(loop_factory=event_loop_factory(load_settings().event_loop)) as run:
            run.run(serve_bare())
        return 0
    if min(args.requests, args.concurrency, args.rounds) < 1:
        parser.error("--requests, --concurrency and --rounds must be at least 1")
    return common.run(bench(args))


if __name__ == "__main__":
    # Run as the module `throughput` (not __main__): the workflow sandbox re-imports the
    # module that defines the bare workflows by its name.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import throughput

    sys.exit(throughput.main())
