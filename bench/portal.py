"""The parent portal on opening day (issue 18): applications with their uploads arriving at a
steady rate, and the status page with many parents reading it at once.

On the embedded default (the dev server persisted to SQLite and one worker process
`transfers worker`, as `transfers dev` runs them: `common.DevStack`), the portal runs as its
own process (`python -m web --portal`, uvicorn serving `web.app.create_portal`, as `transfers
portal` does) and this script is the parents' browsers: HTTP to it, one keep-alive connection
per parent in flight, the session cookie carried by hand (it is Secure; an HTTP client keeps
those for HTTPS only, a browser sends them to http://127.0.0.1 too).

1. **Opening day.** ``--applications`` parents (default 5,000), each a guardian in the
   benchmark district's roster of one enrolled student, apply out of the district for child
   care, arriving open-loop at ``--rate`` a second (20): each arrival is started at its
   scheduled time whether or not the earlier ones are done. An arrival opens the form
   (``GET /apply/bench``, for its CSRF token: timed apart, not in the target), posts it
   (``POST /apply/bench``: the portal runs the CLI's intake, starts the workflow with a proof
   signed for the parent, waits until the worker has recorded the request) and follows the
   redirect to the request's status page, the receipt page. **Submit → receipt page** is from
   sending the POST to having that page (target: p99 < 1 s). Then the parent hands in the
   three documents the checklist asks for (the child care provider's letter, the proof of the
   provider's address, the parent's letter), each through the status page's upload form
   (multipart, with its CSRF token; ``--upload-kb`` a file, 100 KB by default, a PDF) one
   after the other, each followed to the page it redirects to: **an upload** is from sending
   its POST to having that page (no target of its own; ``--together`` sends the three in one
   form instead). The third completes the packet: every request must reach under_review,
   which is checked from the records store at the end.
2. **The status page.** ``--open`` open requests (20,000) are written to the same records
   store with the staff console benchmark's seeding (`console.load`: the record activities'
   rows, read model included, in the stages a district's requests wait in; no workflows:
   the page reads only the store), beside the opening day's. ``--parents`` parents (50),
   each the parent of one of them, fetch their own request's page (``GET /requests/{id}``)
   all at once, each again as soon as the last answer came (closed loop, no think time),
   ``--fetches`` times each (100), after one untimed fetch each. Target: p99 < 150 ms. One
   parent alone fetching the same way is measured first: the page's own time, without the
   others' queue.

What is not measured: signing in. The parents' sessions are opened before the clock starts
through the application layer without the mail: `store.sessions.issue_code` makes the
parent's code (the store's, as the sign-in form does) and `app.parent_signin.redeem` checks
it and opens the session, as the verify form does; nobody reads 5,000 mails from the outbox.
Nor is the seeding of the open requests, nor the roster's rows (written as a roster import
writes them). The driver, the portal, the worker and the dev server share the machine's
cores: every figure is the whole stack's on one box.

    .venv/bin/python bench/portal.py [--applications 5000] [--rate 20] [--open 20000]
        [--parents 50] [--fetches 100] [--portal-workers 2] [--upload-kb 100] [--together]
        [--data-dir DIR --keep]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common

TARGET_RECEIPT = 1.0
TARGET_STATUS = 0.150
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
COOKIE = "transfers_parent_session"  # web/security.py's PORTAL_SESSION_COOKIE
# Out of the district for child care: the three documents of seed 000's checklist.
KINDS = ("child_care_provider_letter", "child_care_boundary_proof", "child_care_parent_letter")
RECEIPT_WORDS = "We received your interdistrict permit request"  # the receipt's subject
TAG = "P"  # the opening day's student ids (console's seeding uses "B")
BATCH = 1000
WARM = 3  # applications before the timed ones
TIMEOUT = 1800.0  # seconds a page may take (--timeout)


class Figures:
    """Latencies in seconds, by what was timed."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        self.times.setdefault(name, []).append(seconds)

    def row(self, name: str, target: float | None = None) -> list[str]:
        values = self.times.get(name, [])
        p = common.percentile
        cells = [name, str(len(values)),
                 *(common.seconds(p(values, q)) for q in (50, 95, 99)),
                 common.seconds(max(values)) if values else "-"]
        if target is None:
            return [*cells, "", ""]
        p99 = p(values, 99)
        return [*cells, f"p99 < {common.seconds(target)}",
                "met" if values and p99 < target else "NOT met"]


# ---- the parents ------------------------------------------------------------------------


def parent_address(n: int) -> str:
    return f"portal{n}@example.com"


def write_roster(engine: Any, n: int, year: str) -> None:
    """``n`` guardians, each of one enrolled student of the benchmark district (grade 9-12 at
    its high school), as a roster import writes them (`store.roster`'s rows)."""
    from sqlalchemy.orm import Session

    from store.schema import RosterLinkRow, RosterPersonRow

    now = datetime.now(UTC)
    common_fields = {"district": common.DISTRICT, "school_year": year,
                     "attendance_area": None, "active": True, "updated_at": now}
    for first in range(0, n, BATCH):
        with Session(engine) as session, session.begin():
            for i in range(first, min(n, first + BATCH)):
                address = parent_address(i)
                session.add(RosterPersonRow(
                    sourced_id=f"g-{i}", kind="guardian", role="parent", identifier="",
                    given_name="Maria", family_name=f"Portal{i}", email=address,
                    email_key=address, grade=None, school_id=None, home_school_id=None,
                    **common_fields))
                session.add(RosterPersonRow(
                    sourced_id=f"s-{i}", kind="student", role="student",
                    identifier=f"{TAG}{i:07d}", given_name="Ana", family_name=f"Portal{i}",
                    email=None, email_key=None, grade=9 + i % 4, school_id="central-high",
                    home_school_id="central-high", **common_fields))
                session.add(RosterLinkRow(district=common.DISTRICT, student=f"s-{i}",
                                          guardian=f"g-{i}"))


def open_session(address: str) -> str:
    """A parent's portal session, as the sign-in forms open it, without the mail: the
    store's code for the address, redeemed through the application layer."""
    from app import context, parent_signin
    from store import sessions

    code = sessions.issue_code(context.engine(), address, datetime.now(UTC), sessions.PARENT)
    return parent_signin.redeem(address, code)


async def open_sessions(addresses: Sequence[str], label: str) -> list[str]:
    def all_of() -> list[str]:
        tokens = []
        for i, address in enumerate(addresses):
            tokens.append(open_session(address))
            if (i + 1) % 1000 == 0:
                print(f"\r  {label}: {i + 1} of {len(addresses)} signed in", end="", flush=True)
        if len(addresses) >= 1000:
            print()
        return tokens

    return await asyncio.to_thread(all_of)


def cpu_of(stack: common.DevStack, portal: subprocess.Popen) -> dict[str, float]:
    """CPU seconds (user + system) each process of the stack has used so far."""
    found = {"portal": sum(common.cpu_seconds(pid) for pid in [portal.pid, *children(portal.pid)]),
             "worker": sum(common.cpu_seconds(w.pid) for w in stack.workers),
             "dev server": common.cpu_seconds(stack.server.pid)}
    times = os.times()
    found["driver (this)"] = times.user + times.system
    return found


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (uvicorn's workers under its supervisor)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


# ---- the portal's process ---------------------------------------------------------------


@contextlib.asynccontextmanager
async def portal_process(stack: common.DevStack, workers: int = 1
                         ) -> AsyncIterator[tuple[str, subprocess.Popen]]:
    """`python -m web --portal --workers N` on a free port with the stack's environment,
    until it answers; its log in the data folder."""
    import httpx

    port = common.free_port()
    log = (stack.data_dir / "portal.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "web", "--portal", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, **stack.env}, cwd=common.ROOT, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            for _ in range(600):
                if process.poll() is not None:
                    raise common.BenchError(f"the portal exited; see {log.name}")
                try:
                    await http.get("/policy")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise common.BenchError("the portal did not answer in 60 s")
        yield base, process
    finally:
        common._stop(process)


_TLS: Any = None


def client(base: str) -> Any:
    """A parent's browser: a client of its own (one keep-alive connection at a time). One
    client for thousands of requests in flight would measure httpcore's pool, whose every
    step walks every queued request (the driver then took more CPU than the portal)."""
    import ssl

    import httpx

    global _TLS
    if _TLS is None:  # made once: loading the CA bundle for each parent costs milliseconds
        _TLS = ssl.create_default_context()
    return httpx.AsyncClient(base_url=base, timeout=TIMEOUT, follow_redirects=False, verify=_TLS,
                             limits=httpx.Limits(max_connections=1))


def reader(base: str) -> Any:
    """A parent reading their status page: aiohttp's client, one keep-alive connection."""
    import aiohttp

    return aiohttp.ClientSession(
        base_url=base, connector=aiohttp.TCPConnector(limit=1),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT), cookie_jar=aiohttp.DummyCookieJar())


def cookie(token: str) -> dict[str, str]:
    return {"cookie": f"{COOKIE}={token}"}


def token_in(page: Any, what: str) -> str:
    found = CSRF.search(page.text)
    if page.status_code != 200 or found is None:
        raise common.BenchError(f"{what}: {page.status_code}, no form: {page.text[:300]!r}")
    return found.group(1)


# ---- 1. opening day ---------------------------------------------------------------------


def pdf(kb: int, label: str) -> bytes:
    """A file the content check takes for a PDF, ``kb`` KB long."""
    head = f"%PDF-1.4\n% {label}\n".encode()
    body = b"0 0 obj << >> endobj\n" * (max(0, kb * 1024 - len(head) - 6) // 21 + 1)
    return (head + body)[: max(len(head), kb * 1024 - 6)] + b"%%EOF\n"


async def opening_day(stack: common.DevStack, base: str, portal: subprocess.Popen,
                      args: argparse.Namespace, figures: Figures) -> dict[str, Any]:
    n, rate = args.applications, args.rate
    year = common.school_year()
    engine = stack.engine()
    total = n + WARM  # the last few apply first, untimed
    print(f"writing the roster: {total} guardians, each of one student", flush=True)
    await asyncio.to_thread(write_roster, engine, total, year)
    tokens = await open_sessions([parent_address(i) for i in range(total)], "opening day")
    files = {kind: pdf(args.upload_kb, kind) for kind in KINDS}
    ids: list[str] = [""] * total
    failures: list[str] = []
    listed = 0  # receipt pages that already showed the receipt notice

    def fields(i: int) -> dict[str, str]:
        return {"direction": "out", "reason": "child_care", "student": f"{TAG}{i:07d}",
                "parent.relationship": "natural_parent", "parent.name": f"Maria Portal{i}",
                "school_year": year, "other_district": "Downey Unified School District"}

    async def arrive(i: int, scheduled: float, figures: Figures = figures) -> None:
        figures.add("driver behind its schedule", time.monotonic() - scheduled)
        async with client(base) as http:
            await steps(http, i, figures)

    async def steps(http: Any, i: int, figures: Figures) -> None:
        nonlocal listed
        jar = cookie(tokens[i])
        try:
            began = time.perf_counter()
            form = await http.get(f"/apply/{common.DISTRICT}", headers=jar)
            figures.add("the apply form (GET)", time.perf_counter() - began)
            csrf = token_in(form, "the apply form")
            began = time.perf_counter()
            sent = await http.post(f"/apply/{common.DISTRICT}", headers=jar,
                                   data={"csrf": csrf, **fields(i)})
            if sent.status_code != 303:
                raise common.BenchError(f"apply: {sent.status_code} {sent.text[:300]!r}")
            where = sent.headers["location"]
            page = await http.get(where, headers=jar)
            figures.add("submit -> receipt page", time.perf_counter() - began)
            csrf = token_in(page, "the receipt page")
            ids[i] = where.removeprefix("/requests/")
            listed += i < n and RECEIPT_WORDS in page.text
            batches = [list(KINDS)] if args.together else [[kind] for kind in KINDS]
            for batch in batches:
                began = time.perf_counter()
                sent = await http.post(
                    f"{where}/documents", headers=jar, data={"csrf": csrf},
                    files=[(f"document-{kind}", (f"{kind}.pdf", files[kind], "application/pdf"))
                           for kind in batch])
                if sent.status_code != 303:
                    raise common.BenchError(f"upload: {sent.status_code} {sent.text[:300]!r}")
                page = await http.get(sent.headers["location"], headers=jar)
                if page.status_code != 200:
                    raise common.BenchError(f"the page after an upload: {page.status_code}")
                figures.add("upload -> its page" if not args.together
                            else "3 uploads in one form -> its page",
                            time.perf_counter() - began)
        except Exception as error:  # noqa: BLE001 - counted and reported
            failures.append(f"arrival {i}: {error!r}"[:400])

    # Warm-up, untimed: the portal, the worker and the server have done each step once.
    for i in range(n, total):
        await arrive(i, time.monotonic(), Figures())
    if failures:
        raise common.BenchError(f"the warm-up failed: {failures[0]}")
    print(f"{n} applications at {rate:g}/s ({n / rate:.0f} s of arrivals), "
          f"each with {len(KINDS)} uploads of {args.upload_kb} KB"
          f"{' in one form' if args.together else ''}", flush=True)
    cpu_before = cpu_of(stack, portal)
    load_during: list[float] = []

    def progress(i: int, tasks: list[asyncio.Task]) -> None:
        load_during.append(os.getloadavg()[0])
        in_flight = sum(not t.done() for t in tasks)
        print(f"  {i} arrived, {in_flight} in flight, {len(failures)} failed, load "
              f"{load_during[-1]:.2f}", flush=True)
        stack.check_workers()
        if portal.poll() is not None:
            raise common.BenchError("the portal exited; see portal.log")

    tasks, t0 = await common.open_loop(n, rate, arrive, progress)
    arrivals = time.monotonic() - t0
    await asyncio.gather(*tasks)
    finished = time.monotonic() - t0
    cpu = cpu_used(cpu_before, cpu_of(stack, portal))
    done = [request_id for request_id in ids[:n] if request_id]
    counts = await asyncio.to_thread(stages_of, engine, done)
    return {"arrivals": arrivals, "finished": finished, "failures": failures,
            "listed": listed, "stages": counts, "load": load_during, "cpu": cpu}


def stages_of(engine: Any, ids: list[str], wait: float = 60) -> dict[str, int]:
    """The stages of ``ids`` in the records store, once all are under review (or after
    ``wait`` seconds: the last Updates' records may still be on their way)."""
    from store import records

    deadline = time.monotonic() + wait
    while True:
        found = records.stages_of(engine, ids) if ids else {}
        counts: dict[str, int] = {}
        for stage in found.values():
            counts[str(stage)] = counts.get(str(stage), 0) + 1
        if counts.get("under_review", 0) == len(ids) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


# ---- 2. the status page -----------------------------------------------------------------


async def status_pages(stack: common.DevStack, base: str, portal: subprocess.Popen,
                       args: argparse.Namespace, figures: Figures) -> dict[str, Any]:
    import console  # the staff console benchmark's seeding

    engine = stack.engine()
    print(f"writing {args.open} open requests (bench/console.py's seeding)", flush=True)
    began = time.perf_counter()
    ids = await asyncio.to_thread(console.load, engine, args.open)
    print(f"  written in {time.perf_counter() - began:.1f} s", flush=True)
    # Spread over the store, and over its stages (console.stage_of: by n % 100).
    step = len(ids) // args.parents
    chosen = [k * step + (k * 37) % step for k in range(args.parents)]
    # console.state's request n is common.request_form(n)'s: parent{n}@example.com
    tokens = await open_sessions([f"parent{n}@example.com" for n in chosen], "status")
    pages = [f"/requests/{ids[n]}" for n in chosen]

    async def fetch(http: Any, k: int, name: str | None) -> None:
        began = time.perf_counter()
        async with http.get(pages[k], headers=cookie(tokens[k])) as page:
            text = await page.text()
        if page.status != 200 or ids[chosen[k]] not in text:
            raise common.BenchError(f"GET {pages[k]}: {page.status} {text[:300]!r}")
        if name is not None:
            figures.add(name, time.perf_counter() - began)

    # Each parent's own connection, through aiohttp: the parents' browsers are on their own
    # machines, and httpx took 2 ms of these two cores a page, a third of the portal's.
    browsers = [reader(base) for _ in range(args.parents)]
    try:
        # Warm-up, untimed: each parent's page once.
        await asyncio.gather(*(fetch(browsers[k], k, None) for k in range(args.parents)))
        for _ in range(args.fetches):
            await fetch(browsers[0], 0, "status page, one parent alone")

        together = f"status page, {args.parents} parents at once"

        async def parent(k: int) -> None:
            for _ in range(args.fetches):
                await fetch(browsers[k], k, together)

        load_before = os.getloadavg()[0]
        cpu_before = cpu_of(stack, portal)
        began = time.perf_counter()
        await asyncio.gather(*(parent(k) for k in range(args.parents)))
        took = time.perf_counter() - began
        cpu = cpu_used(cpu_before, cpu_of(stack, portal))
    finally:
        for browser in browsers:
            await browser.close()
    return {"took": took, "pages": args.parents * args.fetches, "load": load_before, "cpu": cpu,
            "open": await asyncio.to_thread(open_count, engine)}


def open_count(engine: Any) -> int:
    from sqlalchemy import func, select

    from models.stages import OPEN_STAGES
    from store.schema import RequestRow

    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(RequestRow)
            .where(RequestRow.stage.in_([s.value for s in OPEN_STAGES]))).scalar_one()


# ---- the run ----------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> int:
    print(common.machine())
    figures = Figures()
    async with common.dev_stack(args.data_dir, args.keep) as stack:
        worker = stack.start_worker_process()
        # The worker polling, imported, and the portal's first pages drawn (untimed).
        warm = [await common.submit(stack.client, common.request_form(n, "out", "W"))
                for n in range(3)]
        for request_id in warm:
            await common.wait_for_stage(stack.engine(), request_id, {"awaiting_documents"})
        async with portal_process(stack, args.portal_workers) as (base, portal):
            print(f"dev server {stack.address} (SQLite, as `transfers dev`), worker process "
                  f"{worker.pid} (`transfers worker`), portal process {portal.pid} "
                  f"(`python -m web --portal --workers {args.portal_workers}`, {base})",
                  flush=True)
            day = None
            if args.applications:
                day = await opening_day(stack, base, portal, args, figures)
                stack.check_workers()
            status = None
            if args.open and args.parents:
                status = await status_pages(stack, base, portal, args, figures)
            load_after = os.getloadavg()

    failed = bool(day and day["failures"])
    if day is not None:
        n = args.applications
        print(f"\nopening day: {n} arrivals in {day['arrivals']:.1f} s "
              f"({n / day['arrivals']:.1f}/s), the last answered {day['finished']:.1f} s after "
              f"the first arrived; load average during: "
              f"{', '.join(f'{x:.1f}' for x in day['load']) or '-'}")
        print(f"  receipt notice already on the receipt page: {day['listed']} of "
              f"{len(figures.times.get('submit -> receipt page', []))} receipt pages; stages "
              f"at the end: "
              + ", ".join(f"{s} {c}" for s, c in sorted(day["stages"].items())))
        print("  CPU used while they ran: " + cpu_line(day["cpu"], n, "application"))
        if day["failures"]:
            print(f"  {len(day['failures'])} arrivals FAILED; the first: {day['failures'][0]}")
    if status is not None:
        print(f"status pages: {status['pages']} by {args.parents} parents in "
              f"{status['took']:.1f} s ({status['pages'] / status['took']:.1f} pages/s), "
              f"{status['open']} open requests in the store (the opening day's too); load "
              f"average before {status['load']:.2f}")
        print("  CPU used while they ran: " + cpu_line(status["cpu"], status["pages"], "page"))
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in load_after)}\n")
    upload = "3 uploads in one form -> its page" if args.together else "upload -> its page"
    rows = [figures.row("submit -> receipt page", TARGET_RECEIPT),
            figures.row(upload), figures.row("the apply form (GET)"),
            figures.row("driver behind its schedule"),
            figures.row(f"status page, {args.parents} parents at once", TARGET_STATUS),
            figures.row("status page, one parent alone")]
    common.print_table(["", "n", "p50", "p95", "p99", "max", "target", ""],
                       [row for row in rows if row[1] != "0"])
    return 1 if failed else 0


def cpu_line(cpu: dict[str, float], count: int, what: str) -> str:
    return ", ".join(f"{name} {seconds:.1f} s ({seconds / count * 1000:.2f} ms a {what})"
                     for name, seconds in cpu.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=5000, help="default 5000 (0: none)")
    parser.add_argument("--rate", type=float, default=20.0, help="arrivals per second (20)")
    parser.add_argument("--upload-kb", type=int, default=100, help="each file's size (100 KB)")
    parser.add_argument("--together", action="store_true",
                        help="the three files in one form, not one after the other")
    parser.add_argument("--open", type=int, default=20_000,
                        help="open requests written for the status page (20000; 0: none)")
    parser.add_argument("--parents", type=int, default=50, help="parents at once (50)")
    parser.add_argument("--fetches", type=int, default=100,
                        help="pages each parent gets (100)")
    parser.add_argument("--portal-workers", type=int, default=2,
                        help="the portal's processes (`transfers portal --workers`; 2, as "
                             "the compose file's portal)")
    common.add_stack_options(parser, "seconds a page may take before its parent gives up")
    args = parser.parse_args(argv)
    if (args.applications < 0 or args.rate <= 0 or args.open < 0 or args.parents < 0
            or args.fetches < 1 or args.upload_kb < 1 or args.portal_workers < 1
            or args.parents > max(args.open, 1)):
        parser.error("sizes must be positive (and --parents at most --open)")
    global TIMEOUT
    TIMEOUT = args.timeout
    return common.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
