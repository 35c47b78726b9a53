"""Idle capacity: many open requests waiting on their timers, and what they cost at rest.

A district's requests spend nearly all their lives waiting: for documents (the 10-day
deadline), for the decision (EC 46600.2), for an appeal. This fills the embedded default (the
dev server persisted to SQLite, one worker process `transfers worker` with worker.py's
``max_cached_workflows``, as `transfers dev` runs them) with N open interdistrict requests:
most submitted and waiting on their documents deadline, a share (``--reviewed``, out of the
district for a move) given their one document and waiting on their decision deadline. They
are created concurrently (``--concurrency`` in flight) through the CLI's own calls (the
submission checks and `Client.start_workflow`, `execute_update` for the document), with
progress printed. Once every request is waiting (the records store shows all of them in
their waiting stage) and the worker has been idle for a few seconds, it prints:

- the worker process's RSS (VmRSS, and its peak VmHWM, from /proc/<pid>/status): with the
  workflow cache bounded it must not grow with the number of open requests (target < 400 MB);
- the records database's size (and the dev server's, for scale);
- the time of `transfers list --overdue` and of filtered lists (`--stage under_review`,
  `--district bench --open`), both as the query itself (`store.records.list_requests`, the
  median of several runs in this process) and as the CLI command (a process each time: its
  start-up, `python -c "import starter"`, is shown apart). Target: each list < 100 ms,
  which is about the query; the CLI adds its start-up.

    .venv/bin/python bench/idle.py [--requests 20000] [--reviewed 0.25] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from typing import Any

import common

TARGET_RSS_MB = 400
TARGET_LIST = 0.1
SETTLE_SECONDS = 5


def stage_counts(engine: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from store.schema import RequestRow

    with engine.connect() as connection:
        rows = connection.execute(
            select(RequestRow.stage, func.count()).group_by(RequestRow.stage)
        ).all()
    return {stage: count for stage, count in rows}


async def create(stack: Any, n: int, reviewed: float, concurrency: int) -> dict[str, int]:
    """``n`` requests, ``concurrency`` at a time; the stage counts they must reach."""
    from app.context import district, staff
    from app.principal import Principal
    from models.actions import AddDocument
    from models.requests import Direction, TransferReason
    from models.state import RequestState
    from rules.documents import required_documents
    from store.documents import DocumentStore
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

    client, engine = stack.client, stack.engine()
    clerk = staff(district(common.DISTRICT), Principal(common.CLERK))
    kinds = required_documents(Direction.out, TransferReason.moving, False, False)
    documents = DocumentStore(stack.settings().documents_dir)
    every = round(1 / reviewed) if reviewed > 0 else 0
    semaphore = asyncio.Semaphore(concurrency)
    failures: list[BaseException] = []
    done = 0

    async def one(i: int) -> None:
        nonlocal done
        review = bool(every) and i % every == 0
        async with semaphore:
            try:
                request_id = await common.submit(
                    client, common.request_form(i, "out" if review or i % 2 else "into"))
                if review:
                    await common.wait_for_stage(engine, request_id, {"awaiting_documents"},
                                                timeout=600, every=0.25)
                    handle = client.get_workflow_handle(request_id)
                    for kind in kinds:
                        stored = await asyncio.to_thread(
                            documents.put, f"{kind.value}.pdf",
                            f"%PDF-1.4 {request_id} {kind.value}".encode())
                        await common.execute_update(
                            handle, W.add_document,
                            AddDocument(actor=clerk, kind=kind, name=stored.name,
                                        sha256=stored.sha256, size=stored.size),
                            result_type=RequestState,
                        )
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)
            done += 1

    async def progress(t0: float) -> None:
        while True:
            await asyncio.sleep(15)
            elapsed = time.monotonic() - t0
            print(f"  {done} of {n} created in {elapsed:.0f} s ({done / elapsed:.1f}/s)",
                  flush=True)
            stack.check_workers()

    t0 = time.monotonic()
    reporter = asyncio.create_task(progress(t0))
    try:
        await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        reporter.cancel()
    if failures:
        raise common.BenchError(f"{len(failures)} of {n} requests failed; the first: "
                                f"{failures[0]!r}")
    under_review = sum(1 for i in range(n) if every and i % every == 0)
    print(f"created {n} in {time.monotonic() - t0:.0f} s", flush=True)
    return {"awaiting_documents": n - under_review, "under_review": under_review}


async def wait_until_waiting(stack: Any, expected: dict[str, int], timeout: float) -> None:
    engine = stack.engine()
    deadline = time.monotonic() + timeout
    while True:
        counts = await asyncio.to_thread(stage_counts, engine)
        if all(counts.get(stage, 0) == count for stage, count in expected.items()):
            return
        stack.check_workers()
        if time.monotonic() > deadline:
            raise common.BenchError(f"not all waiting after {timeout:.0f} s: {counts}")
        await asyncio.sleep(1)


def time_query(engine: Any, repeat: int, **filters: Any) -> tuple[float, float, int]:
    """(first, median of the others) seconds and the rows of list_requests(**filters)."""
    from store.records import list_requests

    times = []
    rows = 0
    for _ in range(repeat + 1):
        began = time.perf_counter()
        rows = len(list_requests(engine, **filters))
        times.append(time.perf_counter() - began)
    return times[0], statistics.median(times[1:]), rows


def time_command(args: list[str], env: dict[str, str], repeat: int) -> float:
    """Median wall time of a command (output discarded); it must succeed."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = subprocess.run(args, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, timeout=120)
        times.append(time.perf_counter() - began)
        if result.returncode != 0:
            raise common.BenchError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return statistics.median(times)


async def bench(args: argparse.Namespace) -> int:
    import os

    print(common.machine())
    async with common.dev_stack(args.data_dir, args.keep) as stack:
        worker = stack.start_worker_process()
        print(f"dev server {stack.address} (SQLite, as `transfers dev`), worker process "
              f"{worker.pid} (`transfers worker`, max_cached_workflows "
              f"{common.worker_cache_setting()} from worker.py)")
        print(f"creating {args.requests} open requests, {args.concurrency} at a time, "
              f"{args.reviewed:.0%} of them under review", flush=True)
        expected = await create(stack, args.requests, args.reviewed, args.concurrency)
        await wait_until_waiting(stack, expected, args.timeout)
        await asyncio.sleep(SETTLE_SECONDS)
        stack.check_workers()
        rss, peak = common.rss_mib(worker.pid)
        server_rss, _ = common.rss_mib(stack.server.pid)
        records = stack.records_path
        records_mib = common.file_mib(records)
        wal_mib = common.file_mib(records.with_name(records.name + "-wal"))
        temporal_mib = common.file_mib(stack.temporal_path,
                                       stack.temporal_path.with_name("temporal.sqlite-wal"))

        engine = stack.engine()
        lists = [
            ("list --overdue", {"overdue": True}, ["--overdue"]),
            ("list --stage under_review", {"stage": "under_review"},
             ["--stage", "under_review"]),
            (f"list --district {common.DISTRICT} --open",
             {"district": common.DISTRICT, "open_only": True},
             ["--district", common.DISTRICT, "--open"]),
        ]
        env = {**os.environ, **stack.env}
        transfers = str(common.BIN / "transfers")
        startup = time_command([sys.executable, "-c", "import starter"],
                               {**env, "PYTHONPATH": str(common.ROOT)}, args.cli_repeat)
        timings = []
        for label, filters, flags in lists:
            first, median, rows = await asyncio.to_thread(time_query, engine, args.repeat,
                                                          **filters)
            cli = time_command([transfers, "list", *flags], env, args.cli_repeat)
            timings.append((label, rows, first, median, cli))
        counts = stage_counts(engine)

    print(f"\n{args.requests} open requests waiting on their timers: "
          + ", ".join(f"{stage} {count}" for stage, count in sorted(counts.items())))
    common.print_table(["", "value", "target"], [
        ["worker RSS (VmRSS)", f"{rss:.0f} MiB", f"< {TARGET_RSS_MB} MiB"],
        ["worker peak RSS (VmHWM)", f"{peak:.0f} MiB", ""],
        ["dev server RSS", f"{server_rss:.0f} MiB", ""],
        ["records database", f"{records_mib:.1f} MiB (+ WAL {wal_mib:.1f} MiB)", ""],
        ["dev server database", f"{temporal_mib:.1f} MiB", ""],
    ])
    print(f"\nlists over them (query: first run, then the median of {args.repeat}; CLI: the "
          f"median of {args.cli_repeat} processes, its start-up alone {common.seconds(startup)})")
    common.print_table(
        ["", "rows", "query first", "query", "CLI", "query < 100 ms"],
        [[label, rows, common.seconds(first), common.seconds(median), common.seconds(cli),
          "met" if median < TARGET_LIST else "NOT met"]
         for label, rows, first, median, cli in timings],
    )
    if common.retried_updates:
        print(f"({common.retried_updates} Update calls timed out and were asked again)")
    print(f"worker RSS < {TARGET_RSS_MB} MiB: {'met' if rss < TARGET_RSS_MB else 'NOT met'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="default 20000")
    parser.add_argument("--reviewed", type=float, default=0.25,
                        help="share given their documents, waiting for the decision (0.25)")
    parser.add_argument("--concurrency", type=int, default=50, help="in flight (50)")
    parser.add_argument("--repeat", type=int, default=5, help="query runs to take the median of")
    parser.add_argument("--cli-repeat", type=int, default=3, help="CLI runs (3)")
    common.add_stack_options(
        parser, "seconds for the last requests to reach their wait after creation")
    args = parser.parse_args(argv)
    if args.requests < 1 or not 0 <= args.reviewed <= 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1, --reviewed in 0..1")
    return common.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
