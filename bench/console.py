"""The staff console's reads over a district's open requests (issue 17): the worklist and a
name search through the application layer (`app.worklist.worklist`, `app.search.find`), and
`transfers show ID` and `transfers list` as the command a person types.

It fills a records store with N open requests of the benchmark district (`common`'s
``bench``, the idle benchmark's district and forms), in the stages a district's requests
wait in: documents, the release, the decision, deemed denied, the appeal window, the
county. They are written through the store's own functions (`store.records.record_states`,
the rows the record activities write, read model included); no Temporal is needed: these
reads never ask a workflow. Every hundredth student is a "José García" (a common name).

Then, on SQLite (and on PostgreSQL when ``--database-url`` is given, in a schema of its own,
dropped after), it times ``--calls`` calls of each read (p50 and p95), the same pages through
the web (the console as `python -m web` on a free port, a director signed in with the code
the outbox got, one keep-alive HTTP connection), and the median of ``--cli-repeat``
processes of each command, and prints them beside the issue's targets: worklist and search
p95 < 100 ms, show and list < 0.6 s.

``--before DIR``: a copy of the code as it was (``git archive REV | tar -x -C DIR``) answers
too, against the same store: a second console from it, the pages asked of the two in turn
(so both see the same load on a shared machine), and its commands run beside these.

    .venv/bin/python bench/console.py [--requests 20000] [--calls 200] [--cli-repeat 5]
        [--database-url postgresql+psycopg://...] [--data-dir DIR] [--before DIR]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import common

TARGET_READ = 0.100
TARGET_CLI = 0.6
BATCH = 1000

# (stage, share of the requests): how a district's open requests wait.
MIX = [("awaiting_documents", 0.40), ("under_review", 0.30), ("awaiting_release", 0.10),
       ("denied", 0.10), ("appeal_pending", 0.05), ("deemed_denied", 0.05)]


def stage_of(n: int) -> str:
    point, total = (n % 100) / 100, 0.0
    for stage, share in MIX:
        total += share
        if point < total:
            return stage
    return MIX[-1][0]


def state(n: int, today: date, received: datetime) -> Any:
    """Open request ``n`` in its stage, with the dates its workflow would have set."""
    from models.requests import InterdistrictRequest
    from models.stages import Stage
    from models.state import HistoryEntry, RequestState

    stage = Stage(stage_of(n))
    form = common.request_form(n, "into" if stage is Stage.awaiting_release or n % 2 else "out")
    if n % 100 == 7:  # a common name, accents and all
        form["student"].update(first_name="José", last_name="García")
        form["parent"]["name"] = f"María García {n}"
    request = InterdistrictRequest.model_validate(form)
    spread = n % 45 - 10  # some passed, most ahead
    fields: dict[str, Any] = {}
    if stage is Stage.awaiting_documents:
        fields["documents_due"] = today + timedelta(days=spread % 14)
    elif stage is Stage.awaiting_release:
        fields["release_due"] = today + timedelta(days=spread)
    elif stage is Stage.under_review:
        fields |= {"decision_due": today + timedelta(days=spread),
                   "statutory_due": today + timedelta(days=spread + 10),
                   "overdue": spread < 0}
    elif stage is Stage.deemed_denied:
        fields |= {"decision_due": today - timedelta(days=20),
                   "statutory_due": today - timedelta(days=1 + n % 5),
                   "appeal_deadline": today + timedelta(days=29 - n % 5), "overdue": True}
    elif stage is Stage.denied:
        fields["appeal_deadline"] = today + timedelta(days=abs(spread) % 30)
    else:
        fields |= {"appeal_deadline": today - timedelta(days=5),
                   "appeal_filed_on": today - timedelta(days=10),
                   "appeal_decision_due": today + timedelta(days=spread % 30)}
    at = received + timedelta(seconds=n)
    history = [
        HistoryEntry(seq=1, at=at, stage=Stage.submitted, event="received", actor="clerk"),
        HistoryEntry(seq=2, at=at + timedelta(seconds=1), stage=stage, event="entered",
                     actor="system", reason=f"{stage.value}"),
    ]
    return RequestState(
        id=f"{common.DISTRICT}-{request.school_year}-{request.direction.value}-{n:012x}",
        request=request, timezone=common.TIMEZONE, stage=stage, received_at=at,
        history=history, **fields,
    )


def load(engine: Any, n: int) -> list[str]:
    """``n`` open requests written in batches; their ids."""
    from store.records import record_states

    today = common.local_today()
    received = datetime.now(UTC) - timedelta(days=20)
    ids = []
    for first in range(0, n, BATCH):
        batch = [state(i, today, received) for i in range(first, min(n, first + BATCH))]
        record_states(engine, batch)
        ids += [s.id for s in batch]
        print(f"\r  {len(ids)} of {n} written", end="", flush=True)
    print()
    return ids


def timed(call: Callable[[], Any], calls: int) -> tuple[float, float, Any]:
    """(p50, p95) seconds of ``calls`` calls (after one to warm up), and the last answer."""
    answer = call()
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - began)
    return common.percentile(times, 50), common.percentile(times, 95), answer


def timed_in_turn(calls_of: dict[str, Callable[[], Any]], calls: int
                  ) -> dict[str, tuple[float, float, Any]]:
    """`timed` for several callers at once, asked in turn (the first one first, then the
    last one first), so each sees the machine as the others do."""
    answers = {name: call() for name, call in calls_of.items()}
    times: dict[str, list[float]] = {name: [] for name in calls_of}
    order = list(calls_of)
    for round_ in range(calls):
        for name in order if round_ % 2 else reversed(order):
            began = time.perf_counter()
            answers[name] = calls_of[name]()
            times[name].append(time.perf_counter() - began)
    return {name: (common.percentile(times[name], 50), common.percentile(times[name], 95),
                   answers[name]) for name in calls_of}


def command(args: list[str], env: dict[str, str], repeat: int,
            before: Path | None = None) -> float:
    """Median wall time of a `transfers` process (output discarded); it must succeed.
    ``before``: the code of that folder (its `cli.main`, as its entry point was)."""
    entry = [str(common.BIN / "transfers")]
    if before is not None:
        entry = [sys.executable, "-c", "from cli.main import main; main()"]
        env = {**env, "PYTHONPATH": str(before)}
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = subprocess.run([*entry, *args], env=env, cwd=before or common.ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                timeout=120)
        times.append(time.perf_counter() - began)
        if result.returncode != 0:
            raise common.BenchError(f"transfers {' '.join(args)} failed: "
                                    f"{result.stderr.strip()}")
    return statistics.median(times)


def in_process(label: str, request_id: str, repeat: int) -> list[list[str]]:
    """`show` and `list` run in this process (Typer's runner), imports done: the commands'
    own work, without the start-up of a process."""
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    rows = []
    for name, cli_args in [("show ID, in-process", ["show", request_id]),
                           ("list, in-process", ["list"])]:
        def call(cli_args: list[str] = cli_args) -> None:
            result = runner.invoke(app, cli_args)
            if result.exit_code != 0:
                raise common.BenchError(f"transfers {' '.join(cli_args)}: {result.stderr}")

        p50, p95, _ = timed(call, repeat)
        rows.append([f"{label}: {name}", "", common.seconds(p50), common.seconds(p95), "", ""])
        print(f"  {name}: p50 {common.seconds(p50)}", flush=True)
    return rows


def _newest_code(outbox: Path) -> str:
    from email import message_from_bytes

    newest = max(outbox.glob("sign-in-*.eml"), key=lambda p: p.stat().st_mtime_ns)
    body = message_from_bytes(newest.read_bytes()).get_payload(decode=True).decode()
    return next(word.strip(".") for word in body.split() if word.strip(".").isdigit()
                and len(word.strip(".")) == 8)


def _console(env: dict[str, str], before: Path | None = None
             ) -> tuple[subprocess.Popen[bytes], str]:
    """The console as `python -m web` on a free port (of ``before``'s code when given); the
    process and its address."""
    port = common.free_port()
    extra = {"PYTHONPATH": str(before)} if before is not None else {}
    process = subprocess.Popen([sys.executable, "-m", "web", "--port", str(port)],
                               env={**os.environ, **env, **extra}, cwd=before or common.ROOT)
    return process, f"http://127.0.0.1:{port}"


def through_the_web(label: str, env: dict[str, str], address: str, outbox: Path,
                    one: str, calls: int, before: Path | None = None) -> list[list[str]]:
    """The worklist and the searches as a browser gets them: HTTP to the console's process,
    signed in through its forms. Cookies are carried by hand: they are Secure, and an HTTP
    client keeps those for HTTPS only (a browser also sends them to http://127.0.0.1).
    ``before``: the same pages of a console of that code too, asked in turn with these (the
    session is the store's, so one sign-in serves both)."""
    import re

    import httpx

    consoles = {"": _console(env)}
    if before is not None:
        consoles["before: "] = _console(env, before)
    csrf = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
    rows = []
    clients = {which: httpx.Client(base_url=base, timeout=30)
               for which, (_, base) in consoles.items()}
    try:
        for http in clients.values():
            for _ in range(600):
                try:
                    page = http.get("/signin")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                raise common.BenchError("the console did not answer")
        http = clients[""]
        jar = {"transfers_presession": page.cookies["transfers_presession"]}
        sent = http.post("/signin/code", cookies=jar, data={
            "csrf": csrf.search(page.text).group(1), "email": address, "next": "/"})
        done = http.post("/signin/verify", cookies=jar, data={
            "csrf": csrf.search(sent.text).group(1), "email": address,
            "code": _newest_code(outbox), "next": "/"})
        if done.status_code != 303:
            raise common.BenchError(f"sign-in through the web: {done.status_code}")
        jar = {"transfers_session": done.cookies["transfers_session"]}
        pages = [("web: GET / (the worklist)", "/"),
                 (f"web: GET /search?q={one}", f"/search?q={one}"),
                 ("web: GET /search?q=jose garcia", "/search?q=jose+garcia")]
        for name, path in pages:
            def call(http: httpx.Client, path: str = path) -> int:
                answer = http.get(path, cookies=jar)
                if answer.status_code != 200:
                    raise common.BenchError(f"GET {path}: {answer.status_code}")
                return len(answer.content)

            timings = timed_in_turn({which: functools.partial(call, client)
                                     for which, client in clients.items()}, calls)
            for which, (p50, p95, size) in sorted(timings.items(), reverse=True):
                rows.append([f"{label}: {which}{name}", f"{size // 1024} KB",
                             common.seconds(p50), common.seconds(p95),
                             f"p95 < {TARGET_READ * 1000:.0f} ms",
                             "met" if p95 < TARGET_READ else "NOT met"])
                print(f"  {which}{name}: p50 {common.seconds(p50)}, p95 "
                      f"{common.seconds(p95)}", flush=True)
    finally:
        for client in clients.values():
            client.close()
        for process, _ in consoles.values():
            process.terminate()
            process.wait(timeout=30)
    return rows


def sign_in(address: str, outbox: Path) -> None:
    """Sign ``address`` in for the `transfers` processes, with the code the outbox got."""
    from app import signin

    signin.send_code(address)
    signin.redeem(address, _newest_code(outbox))


def run_on(label: str, env: dict[str, str], args: argparse.Namespace) -> list[list[str]]:
    """Load the store of ``env``, time the reads and the commands; the table's rows."""
    from app import context
    from app.principal import Principal
    from app.search import find
    from app.worklist import Filters, worklist
    from store.engine import engine_for

    os.environ.update(env)
    engine = engine_for(context.settings().database_url)  # made as the worker makes it
    print(f"{label}: writing {args.requests} open requests", flush=True)
    began = time.perf_counter()
    ids = load(engine, args.requests)
    print(f"  written in {time.perf_counter() - began:.1f} s")
    if engine.dialect.name == "postgresql":  # as autovacuum would after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE requests")
    address = f"{common.DIRECTOR}@{common.DISTRICT}.example.org"
    director = Principal(common.DIRECTOR, f"code:{address}", address)
    rows = []
    one = f"bench{args.requests // 2 + 45}"
    reads: list[tuple[str, Callable[[], Any]]] = [
        ("worklist (200 soonest, counts)", lambda: worklist(director)),
        ("worklist --mine", lambda: worklist(director, Filters(mine=True))),
        ("worklist --stage under_review", lambda: worklist(director,
                                                           Filters(stage="under_review"))),
        (f"find '{one}' (one student)", lambda: find(director, one)),
        ("find 'jose garcia' (common)", lambda: find(director, "jose garcia")),
    ]
    for name, call in reads:
        p50, p95, answer = timed(call, args.calls)
        found = answer.total if hasattr(answer, "total") else len(answer)
        rows.append([f"{label}: {name}", str(found), common.seconds(p50), common.seconds(p95),
                     f"p95 < {TARGET_READ * 1000:.0f} ms",
                     "met" if p95 < TARGET_READ else "NOT met"])
        print(f"  {name}: p50 {common.seconds(p50)}, p95 {common.seconds(p95)}", flush=True)
    rows += through_the_web(label, env, address, context.settings().outbox_dir, one,
                            args.calls, args.before)
    sign_in(address, context.settings().outbox_dir)
    rows += in_process(label, ids[len(ids) // 3], args.cli_repeat)
    process_env = {**os.environ, **env}
    for name, cli_args in [("transfers show ID", ["show", ids[len(ids) // 3]]),
                           ("transfers list", ["list"]),
                           ("transfers list --open --stage under_review",
                            ["list", "--open", "--stage", "under_review"]),
                           ("transfers find garcia", ["find", "garcia"])]:
        # With --before, the two codes' processes in turn, as the pages are.
        runs: dict[str, list[float]] = {"": []}
        if args.before is not None:
            runs["before: "] = []
        for _ in range(args.cli_repeat):
            for which, times in runs.items():
                times.append(command(cli_args, process_env, 1, args.before if which else None))
        for which, times in sorted(runs.items(), reverse=True):
            median = statistics.median(times)
            rows.append([f"{label}: {which}{name}", "", common.seconds(median), "",
                         f"< {TARGET_CLI} s", "met" if median < TARGET_CLI else "NOT met"])
            print(f"  {which}{name}: {common.seconds(median)}", flush=True)
    return rows


def _postgres(url: str, data_dir: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """A schema of its own on ``url`` (dropped by the returned function)."""
    from sqlalchemy import create_engine, text

    schema = f"bench_console_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    joined = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    return _env(data_dir, joined), drop


def _env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    districts = data_dir / "districts"
    districts.mkdir(parents=True, exist_ok=True)
    (districts / f"{common.DISTRICT}.toml").write_text(common.district_toml(common.local_today()))
    env = {"TRANSFERS_DATA_DIR": str(data_dir), "TRANSFERS_DISTRICTS_DIR": str(districts)}
    if database_url:
        env["TRANSFERS_DATABASE_URL"] = database_url
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="default 20000")
    parser.add_argument("--calls", type=int, default=200, help="calls of each read (200)")
    parser.add_argument("--cli-repeat", type=int, default=5, help="processes per command (5)")
    parser.add_argument("--database-url", help="PostgreSQL too (a schema of its own)")
    parser.add_argument("--data-dir", help="default: a temporary folder, removed after")
    parser.add_argument("--before", type=lambda text: Path(text).resolve(),
                        help="a copy of the code before: its pages and commands too, in turn")
    args = parser.parse_args(argv)
    print(common.machine())
    for name in ("TRANSFERS_DATABASE_URL", "TRANSFERS_SMTP_HOST"):
        os.environ.pop(name, None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-console-") as scratch:
        base = Path(args.data_dir) if args.data_dir else Path(scratch)
        try:
            rows += run_on("sqlite", _env(base / "sqlite"), args)
            if args.database_url:
                env, drop = _postgres(args.database_url, base / "postgresql")
                try:
                    rows += run_on("postgresql", env, args)
                finally:
                    drop()
        except common.BenchError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(f"\n{args.requests} open requests; reads: p50 and p95 of {args.calls} calls in "
          f"this process, and through the web (HTTP to the console's process); "
          f"commands: the median of {args.cli_repeat} processes")
    common.print_table(["", "found", "p50 / median", "p95", "target", ""], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
