"""Opening day: a burst of submissions at a steady rate, and how long each parent waits for
the receipt.

On the embedded default (the dev server persisted to SQLite, one worker process
`transfers worker`, as `transfers dev` runs them) requests arrive on a fixed schedule, 20 a
second by default, half into the district and half out of it. Each arrival is `transfers
submit`'s path (its role and intake checks against the records store, then
`Client.start_workflow`), called through the client API so the CLI's process start-up is
not what is measured.

"The receipt recorded" is the receipt notice's delivery record marked ``sent`` in the
records store: the workflow first records the submission (its first audit event), then the
send_notice activity (a local one, in the same workflow task: workflows/common/notify.py) writes
the receipt to the outbox and marks its record sent with the time (``notices.sent_at``).
That is the moment the parent has the receipt and the store can show it, and it comes
after the submission's own record, so it bounds both. The time is
written by the worker with the machine's clock, so the latency (sent_at minus the instant the
submit call began, same clock) has no polling error; the store is polled only to know when
all are in. Printed: the submit call's own time, p50/p99/max from submit to receipt, how late
the driver was on its schedule (if it fell behind, arrivals were slower than asked), and
whether p99 < 1 s.

    .venv/bin/python bench/burst.py [--requests 5000] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import Any

import common

TARGET_P99 = 1.0


def receipts(engine: Any) -> dict[str, datetime]:
    """request id -> when its receipt was marked sent."""
    from sqlalchemy import select

    from store.schema import NoticeRow

    with engine.connect() as connection:
        rows = connection.execute(
            select(NoticeRow.request_id, NoticeRow.sent_at)
            .where(NoticeRow.kind == "receipt", NoticeRow.status == "sent")
        ).all()
    return {r.request_id: (r.sent_at.replace(tzinfo=UTC) if r.sent_at.tzinfo is None
                           else r.sent_at) for r in rows}


async def wait_for_receipts(stack: Any, ids: list[str], timeout: float, label: str) -> dict:
    engine = stack.engine()
    deadline = time.monotonic() + timeout
    last_print = time.monotonic()
    wanted = set(ids)
    while True:
        got = await asyncio.to_thread(receipts, engine)
        have = wanted.intersection(got)
        if len(have) == len(wanted):
            return {i: got[i] for i in ids}
        stack.check_workers()
        if time.monotonic() > deadline:
            raise common.BenchError(f"{label}: {len(have)} of {len(wanted)} receipts after "
                                    f"{timeout:.0f} s")
        if time.monotonic() - last_print > 10:
            print(f"  {label}: {len(have)} of {len(wanted)} receipts", flush=True)
            last_print = time.monotonic()
        await asyncio.sleep(0.25)


async def bench(args: argparse.Namespace) -> int:
    print(common.machine())
    async with common.dev_stack(args.data_dir, args.keep) as stack:
        worker = stack.start_worker_process()
        client = stack.client
        # Warm-up, untimed: the worker is polling and has imported what it runs.
        warm = [await common.submit(client, common.request_form(n, "out", "W"))
                for n in range(3)]
        await wait_for_receipts(stack, warm, 120, "warm-up")
        print(f"dev server {stack.address} (SQLite, as `transfers dev`), worker process "
              f"{worker.pid} (`transfers worker`); submitting through the client API")

        n, rate = args.requests, args.rate
        starts: list[float] = [0.0] * n  # wall clock, when the submit call began
        submit_times: list[float] = [0.0] * n
        lateness: list[float] = [0.0] * n
        ids: list[str] = [""] * n
        failures: list[BaseException] = []

        async def arrive(i: int, scheduled: float) -> None:
            lateness[i] = time.monotonic() - scheduled
            starts[i] = time.time()
            began = time.monotonic()
            direction = "into" if i % 2 == 0 else "out"
            try:
                ids[i] = await common.submit(client, common.request_form(i, direction))
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)
                return
            submit_times[i] = time.monotonic() - began

        print(f"{n} submissions at {rate:g}/s ({n / rate:.0f} s of arrivals)", flush=True)
        def progress(i: int, tasks: list[asyncio.Task]) -> None:
            print(f"  {i} submitted", flush=True)
            stack.check_workers()

        tasks, t0 = await common.open_loop(n, rate, arrive, progress)
        await asyncio.gather(*tasks)
        arrivals = time.monotonic() - t0
        if failures:
            raise common.BenchError(f"{len(failures)} of {n} submissions failed; the first: "
                                    f"{failures[0]!r}")
        sent = await wait_for_receipts(stack, ids, args.timeout, "burst")
        drained = time.monotonic() - t0

    latencies = [sent[ids[i]].timestamp() - starts[i] for i in range(n)]
    p = common.percentile
    print(f"\narrivals took {arrivals:.1f} s ({n / arrivals:.1f}/s); every receipt recorded "
          f"{drained:.1f} s after the first arrival")
    common.print_table(
        ["", "p50", "p90", "p99", "max"],
        [["submit -> receipt recorded", *(common.seconds(p(latencies, q)) for q in (50, 90, 99)),
          common.seconds(max(latencies))],
         ["the submit call itself", *(common.seconds(p(submit_times, q)) for q in (50, 90, 99)),
          common.seconds(max(submit_times))],
         ["driver behind its schedule", *(common.seconds(p(lateness, q)) for q in (50, 90, 99)),
          common.seconds(max(lateness))]],
    )
    p99 = p(latencies, 99)
    print(f"p99 submit -> receipt: {common.seconds(p99)} (target < {TARGET_P99:g} s: "
          f"{'met' if p99 < TARGET_P99 else 'NOT met'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="default 5000")
    parser.add_argument("--rate", type=float, default=20.0, help="arrivals per second (20)")
    common.add_stack_options(parser, "seconds to wait for the last receipts after the last arrival")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rate <= 0:
        parser.error("--requests must be at least 1 and --rate positive")
    return common.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
