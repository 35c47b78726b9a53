"""How long `transfers show ID` and `transfers list` take from the shell, against a small
store this script fills itself (issue 17: under 0.6 s; docs/cross-cutting.md "Settings").

Each command runs as its own process (the real entry point, ``.venv/bin/transfers``), ten
times after one warm-up; the median wall time is printed beside the target. For scale, the
import of ``cli.main`` alone, and of what it imported before its imports were made lazy
(Temporal's client, the workflows, Alembic, the OpenID Connect client), are timed the same
way: the difference is what every read command paid before.

    .venv/bin/python bench/cli_startup.py [--requests 200] [--repeat 10] [--before DIR]

``--before DIR``: a copy of the code as it was (``git archive f0d24dd | tar -x -C DIR``), whose
`show` and `list` are timed too, through ``PYTHONPATH``, against the same store.

No Temporal server is needed: these commands read the records store only."""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
TARGET = 0.6  # seconds, issue 17
STAFF = "avalos@paramount.example.org"
BEFORE = ("import cli.main, temporalio.client, temporalio.worker, app.oidc, alembic.command, "
          "workflows.interdistrict_permit, workflows.within_request")


def fill(count: int) -> str:
    """``count`` interdistrict requests with a short trail each, in the store the
    environment names (made as the worker makes it); the id of the first."""
    from app import context
    from models.audit import NumberedEntry
    from models.requests import InterdistrictRequest
    from models.stages import Stage
    from models.state import RequestState
    from store.engine import engine_for
    from store.records import record_events

    engine = engine_for(context.settings().database_url)
    now = datetime.now(UTC)
    first = ""
    for number in range(count):
        request = InterdistrictRequest.model_validate({
            "district": "paramount", "direction": "out", "reason": "moving",
            "school_year": "2027-2028", "other_district": "Downey Unified School District",
            "student": {"id": f"B{number:05d}", "first_name": "Ana", "last_name": f"Bench{number}",
                        "grade": 4},
            "parent": {"name": "Maria Lopez", "email": "maria@example.com",
                       "relationship": "natural_parent"},
        })
        request_id = f"paramount-2027-2028-out-bench{number:07d}"
        first = first or request_id
        received = now - timedelta(days=number % 40)
        entries = [NumberedEntry[Stage](seq=seq, at=received + timedelta(hours=seq),
                                        stage=Stage.under_review, event=f"step {seq}",
                                        actor="avalos") for seq in range(1, 6)]
        state = RequestState(id=request_id, request=request, timezone="America/Los_Angeles",
                             stage=Stage.under_review, received_at=received,
                             decision_due=(received + timedelta(days=30)).date(),
                             history=entries)
        record_events(engine, state, entries)
    return first


def sign_in(outbox: Path) -> None:
    """A staff session, as `transfers login` opens one: a code to the outbox, redeemed."""
    from app import signin

    signin.send_code(STAFF)
    newest = max(outbox.glob("sign-in-*.eml"), key=lambda p: p.stat().st_mtime_ns)
    code = re.search(rb"sign-in code is (\d{8})", newest.read_bytes())
    assert code is not None, "no code in the sign-in message"
    signin.redeem(STAFF, code.group(1).decode())


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The wall time of ``command`` as a process, and the CPU time (user + system) it took:
    on a machine others share, the CPU time says what the command costs when the wall time
    also says how long it waited."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # In the temporary folder: `python -c` looks for modules in its current folder first.
    done = subprocess.run(command, env=env, capture_output=True, text=True,
                          cwd=env["TRANSFERS_DATA_DIR"])
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def medians(cases: list[tuple[list[str], dict[str, str]]], repeat: int
            ) -> list[tuple[float, float]]:
    """Each case's median wall and CPU time over ``repeat`` rounds after one warm-up, the
    cases taking turns in every round: this machine's speed drifts within a minute, and in
    turns the drift falls on every case alike."""
    times: list[list[tuple[float, float]]] = [[] for _ in cases]
    for attempt in range(repeat + 1):
        for index, (command, env) in enumerate(cases):
            measured = run_once(command, env)
            if attempt:
                times[index].append(measured)
    return [(statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
            for t in times]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--before", type=Path, help="a copy of the code before, to compare")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("TRANSFERS_", "TEMPORAL_"))}
        # Its own data folder and settings file: never the user's.
        env |= {"TRANSFERS_DATA_DIR": str(Path(tmp) / "data"),
                "XDG_CONFIG_HOME": str(Path(tmp) / "config")}
        os.environ.clear()
        os.environ.update(env)
        os.umask(0o077)
        first = fill(args.requests)
        sign_in(Path(tmp) / "data" / "outbox")
        python = [sys.executable, "-c"]
        entry = [*python, "from starter import main; main()"]  # as the installed command
        cases: list[tuple[str, list[str], dict[str, str], float | None]] = []
        if args.before:
            then = env | {"PYTHONPATH": str(args.before.resolve())}
            cases += [
                (f"before: transfers show ID ({args.requests} requests)",
                 [*entry, "show", first], then, TARGET),
                (f"before: transfers list ({args.requests} requests)",
                 [*entry, "list"], then, TARGET),
            ]
        cases += [
            (f"transfers show ID ({args.requests} requests)",
             [str(BIN / "transfers"), "show", first], env, TARGET),
            (f"transfers list ({args.requests} requests)",
             [str(BIN / "transfers"), "list"], env, TARGET),
            ("python -c 'import cli.main' (now)", [*python, "import cli.main"], env, None),
            ("python -c 'import cli.main + what it imported before'",
             [*python, BEFORE], env, None),
            ("python -c 'import temporalio.client' (reference)",
             [*python, "import temporalio.client"], env, None),
            ("python -c 'pass' (the interpreter alone)", [*python, "pass"], env, None),
        ]
        timed = medians([(command, environ) for _, command, environ, _ in cases], args.repeat)
        rows = [(name, measured, target)
                for (name, _, _, target), measured in zip(cases, timed, strict=True)]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"median of {args.repeat} runs each, in turns ({os.cpu_count()} CPUs, "
          f"load average {load})")
    width = max(len(name) for name, _, _ in rows)
    print(f"{'':{width}}  {'wall':>8}  {'CPU':>8}")
    for name, (wall, cpu), target in rows:
        verdict = "" if target is None else (
            f"  target < {target:.1f} s: {'met' if wall < target else 'NOT met'}")
        print(f"{name.ljust(width)}  {wall:6.3f} s  {cpu:6.3f} s{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
