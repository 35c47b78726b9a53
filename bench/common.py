"""What the Temporal benchmarks share (`throughput.py`, `burst.py`, `idle.py`).

- `DevStack`: the embedded default as `transfers dev` starts it: the Temporal dev server
  persisted to SQLite in a (fresh) data folder with the same flags (WAL, synchronous=normal,
  the search attributes), and the project's worker, either in this process
  (`DevStack.project_worker`, built by `worker.build_worker` exactly as `transfers dev` builds
  it) or as its own process (`DevStack.start_worker_process`: `transfers worker`).
- A benchmark district (`bench`) whose current school year takes submissions today, written
  to the data folder and found through ``TRANSFERS_DISTRICTS_DIR`` like any district file.
- `submit`: a request through the CLI's own path (`app.submissions.prepare_interdistrict`:
  the role check, the intake checks against the records store, then `Client.start_workflow`).
- Percentiles, a plain table printer, the machine's description, RSS of a process.

The benchmarks add the repository root to ``sys.path`` and import this module as ``common``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
DISTRICT = "bench"
TIMEZONE = "America/Los_Angeles"
CLERK = "clerk"  # pupil services: submits, adds documents, records releases
DIRECTOR = "director"  # decides


class BenchError(RuntimeError):
    """Something went wrong (not: a target missed): the benchmark exits non-zero."""


# ---- the district ------------------------------------------------------------------------


def local_today() -> date:
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def school_year(today: date | None = None) -> str:
    today = today or local_today()
    return f"{today.year}-{today.year + 1}"


def district_toml(today: date) -> str:
    """The end-to-end tests' district (``tests/support/e2e.py``) as ``bench``: its school
    year began 30 days ago, whatever today is, so a request submitted now is accepted and its
    decision is due 30 days after it is complete (EC 46600.2); staff ``clerk`` and
    ``director``, with the default interdistrict settings."""
    from tests.support.e2e import district_toml as e2e_district

    return e2e_district(today, DISTRICT, "Benchmark")


def request_form(n: int, direction: str = "into", tag: str = "B") -> dict[str, Any]:
    """Request number ``n`` as a parent's form (what `transfers submit file.json` reads):
    into the district for child care (four documents and the release needed), or out of
    it for a move (one document)."""
    form: dict[str, Any] = {
        "district": DISTRICT,
        "student": {"id": f"{tag}{n:07d}", "first_name": "Ana", "last_name": f"Bench{n}",
                    "grade": 9 + n % 4},
        "parent": {"name": f"Maria Bench{n}", "email": f"parent{n}@example.com",
                   "relationship": "natural_parent"},
        "direction": direction,
        "school_year": school_year(),
    }
    if direction == "into":
        form.update(reason="child_care", other_district="Compton Unified School District",
                    preferred_school="central-high")
    else:
        form.update(reason="moving", other_district="Downey Unified School District")
    return form


# ---- processes and ports -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(data_dir: Path, port: int, ui_port: int) -> list[str]:
    """`transfers dev`'s dev server command (starter.dev), ports aside: keep the two alike."""
    from infra.search_attributes import dev_server_flags
    from infra.settings import find_binary

    return [
        find_binary("temporal"), "server", "start-dev",
        "--db-filename", str(data_dir / "temporal.sqlite"),
        "--port", str(port), "--ui-port", str(ui_port), "--ip", "127.0.0.1",
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        *dev_server_flags(), "--log-level", "warn",
    ]


def rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB, from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", math.nan), values.get("VmHWM", math.nan)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def file_mib(*paths: Path) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / (1024 * 1024)


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class DevStack:
    """A fresh data folder, the persisted dev server on free ports, the environment the
    CLI and the worker read (``TRANSFERS_DATA_DIR``, ``TRANSFERS_DISTRICTS_DIR``,
    ``TEMPORAL_ADDRESS``: also set in this process's ``os.environ``), and a client."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.ui_port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.client: Any = None
        districts = data_dir / "districts"
        self.env = {
            "TEMPORAL_ADDRESS": self.address,
            "TRANSFERS_DATA_DIR": str(data_dir),
            "TRANSFERS_DISTRICTS_DIR": str(districts),
        }

    @property
    def records_path(self) -> Path:
        return self.data_dir / "records.sqlite3"

    @property
    def temporal_path(self) -> Path:
        return self.data_dir / "temporal.sqlite"

    def settings(self) -> Any:
        from infra.settings import load_settings

        return load_settings()

    def engine(self) -> Any:
        from store.engine import engine_for

        return engine_for(self.settings().database_url)

    async def start(self) -> None:
        from app.context import signing_key
        from infra.settings import connect
        from infra.signing import ProofSigner

        self.data_dir.mkdir(parents=True, exist_ok=True)
        districts = self.data_dir / "districts"
        districts.mkdir(exist_ok=True)
        (districts / f"{DISTRICT}.toml").write_text(district_toml(local_today()))
        for name in ("TRANSFERS_DATABASE_URL", "TRANSFERS_SMTP_HOST", "TRANSFERS_TASK_QUEUE",
                     "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY"):
            os.environ.pop(name, None)  # the embedded default: SQLite records, the outbox
        os.environ.update(self.env)
        log = (self.data_dir / "temporal-server.log").open("w")
        self.server = subprocess.Popen(
            server_command(self.data_dir, self.port, self.ui_port),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.engine()  # creates and migrates the records store, as the worker would
        for _ in range(600):
            if self.server.poll() is not None:
                raise BenchError(f"the dev server exited; see {log.name}")
            try:
                # As the fronts connect (app.context.client): each start and Update is
                # signed for whom it acts (infra.proofs.ACTING); the workflows refuse any
                # without its proof.
                self.client = await connect(interceptors=[ProofSigner(signing_key)])
                return
            except RuntimeError:
                await asyncio.sleep(0.1)
        raise BenchError("the dev server did not start in 60 s")

    def start_worker_process(self) -> subprocess.Popen:
        """`transfers worker` on its own (its RSS is its own), log in the data folder."""
        log = (self.data_dir / f"worker-{len(self.workers)}.log").open("w")
        worker = subprocess.Popen(
            [str(BIN / "transfers"), "worker"], env={**os.environ, **self.env},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def check_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is not None:
                raise BenchError(f"the worker exited with {worker.returncode}; see "
                                 f"{self.data_dir}/worker-*.log")

    @contextlib.asynccontextmanager
    async def project_worker(self, interceptors: Sequence[Any] = ()) -> AsyncIterator[Any]:
        """The project's worker in this process, as `transfers dev` runs it
        (worker.build_worker with run_worker's 16-thread activity executor)."""
        from concurrent.futures import ThreadPoolExecutor

        from store.migrate import check_current
        from worker import build_worker

        settings = self.settings()
        check_current(self.engine())
        with ThreadPoolExecutor(max_workers=16) as executor:
            worker = build_worker(self.client, settings, executor,
                                  interceptors=list(interceptors))
            async with worker:
                yield worker

    def stop(self) -> None:
        for worker in self.workers:
            _stop(worker)
        if self.server is not None:
            _stop(self.server)


def add_stack_options(parser: argparse.ArgumentParser, timeout_help: str | None = None) -> None:
    """The options of a benchmark that runs a `dev_stack`: its data folder, kept or not, and
    (given its help) how long to wait for the last requests."""
    if timeout_help is not None:
        parser.add_argument("--timeout", type=float, default=1800, help=timeout_help)
    parser.add_argument("--data-dir", help="a new folder for the stores (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")


@contextlib.asynccontextmanager
async def dev_stack(data_dir: str | None, keep: bool) -> AsyncIterator[DevStack]:
    """A `DevStack` in ``data_dir`` (must be new or empty) or a temporary folder, removed
    afterwards unless ``keep``."""
    if data_dir:
        path = Path(data_dir).resolve()
        if path.exists() and any(path.iterdir()):
            raise BenchError(f"{path} is not empty: the benchmarks start from a fresh store")
    else:
        path = Path(tempfile.mkdtemp(prefix="transfers-bench-"))
    stack = DevStack(path)
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()
        if keep:
            print(f"kept the data folder {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# ---- the CLI's paths, without its process start-up ----------------------------------------


def prepare(form: dict[str, Any], actor: str = CLERK) -> Any:
    """`transfers submit`'s checks for one interdistrict form (synchronous: it reads the
    records store): a `app.submissions.Prepared` whose ``start(client)`` starts the workflow."""
    from app.principal import Principal
    from app.submissions import prepare_interdistrict
    from intake.interdistrict import parse_request

    return prepare_interdistrict(parse_request(form, "the form"), Principal(actor))


async def submit(client: Any, form: dict[str, Any], actor: str = CLERK) -> str:
    """Submit as `transfers submit` does (its checks in a thread: they read SQLite). The
    checks set whom the start is signed for (``proofs.ACTING``) in the thread's copy of the
    context: it is carried back to this task's, where the start is sent."""
    from infra.proofs import ACTING

    def checked() -> tuple[Any, Any]:
        return prepare(form, actor), ACTING.get()

    prepared, acting = await asyncio.to_thread(checked)
    ACTING.set(acting)
    await prepared.start(client)
    return prepared.id


class StageWatcher:
    """Waits on many requests' stages with one query per tick for all of them, as one clerk
    refreshing a list would, rather than a query per request every few milliseconds (the
    driver's polling would otherwise take a third of a core from the worker it measures)."""

    def __init__(self, engine: Any, every: float) -> None:
        self.engine = engine
        self.every = every
        self.waiting: dict[str, list[tuple[set[str], asyncio.Future[str]]]] = {}
        self.last_seen: dict[str, str | None] = {}
        self.task: asyncio.Task[None] | None = None

    async def wait(self, request_id: str, stages: set[str], timeout: float) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(request_id, []).append((stages, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._poll())
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            stage = self.last_seen.get(request_id)
            raise BenchError(f"{request_id} stayed {stage}, not {' or '.join(sorted(stages))}, "
                             f"for {timeout:.0f} s") from None
        finally:
            waiters = self.waiting.get(request_id, [])
            if (stages, future) in waiters:
                waiters.remove((stages, future))
            if not waiters:
                self.waiting.pop(request_id, None)

    async def _poll(self) -> None:
        from store import records

        while self.waiting:
            ids = list(self.waiting)
            self.last_seen.update(await asyncio.to_thread(records.stages_of, self.engine, ids))
            for request_id in ids:
                stage = self.last_seen.get(request_id)
                for stages, future in self.waiting.get(request_id, []):
                    if stage in stages and not future.done():
                        future.set_result(stage)
            await asyncio.sleep(self.every)


_watchers: dict[tuple[int, float], StageWatcher] = {}


async def wait_for_stage(engine: Any, request_id: str, stages: set[str],
                         timeout: float = 120.0, every: float = 0.1) -> str:
    """Until the records store shows ``request_id`` in one of ``stages`` (checked every
    ``every`` seconds, together with every other request waited on)."""
    watcher = _watchers.setdefault((id(engine), every), StageWatcher(engine, every))
    return await watcher.wait(request_id, stages, timeout)


UPDATE_RETRIES = 5
retried_updates = 0  # how many Updates had to be asked again (reported by the scripts)


async def execute_update(handle: Any, update: Any, arg: Any, **kwargs: Any) -> Any:
    """``handle.execute_update`` with an id of its own, asked again (the same id: Temporal
    runs it once) when the call times out on a loaded machine before the Update finished."""
    import uuid

    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

    global retried_updates
    update_id = str(uuid.uuid4())
    for attempt in range(UPDATE_RETRIES):
        try:
            return await handle.execute_update(update, arg, id=update_id, **kwargs)
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            if attempt == UPDATE_RETRIES - 1:
                raise
            retried_updates += 1


# ---- figures and printing ------------------------------------------------------------------


async def open_loop(
    n: int, rate: float, arrive: Callable[[int, float], Awaitable[None]],
    progress: Callable[[int, list[asyncio.Task]], None],
) -> tuple[list[asyncio.Task], float]:
    """Start ``arrive(i, scheduled)`` for ``n`` arrivals at ``rate`` a second by the clock, not
    when earlier ones finish (open loop: a slow system is not given fewer arrivals), and call
    ``progress(i, tasks)`` every 30 s of arrivals. The tasks, and when the first was due."""
    tasks: list[asyncio.Task] = []
    t0 = time.monotonic() + 0.2
    for i in range(n):
        scheduled = t0 + i / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(arrive(i, scheduled)))
        if i and i % max(1, int(rate * 30)) == 0:
            progress(i, tasks)
    return tasks, t0


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), linear between the closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> str:
    """One paragraph: CPU, cores, load, Python, temporalio, the temporal CLI."""
    import temporalio

    from infra.settings import find_binary

    try:
        cli = subprocess.run([find_binary("temporal"), "--version"], capture_output=True,
                             text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        cli = "temporal CLI: unknown"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {_cpu_model()}, {os.cpu_count()} CPUs, load average {load}\n"
        f"{platform.system()} {platform.release()}; python {platform.python_version()}; "
        f"temporalio {temporalio.__version__}; {cli}"
    )


def worker_cache_setting() -> str:
    """max_cached_workflows as worker.py sets it (read from its source: the worker process
    is started with no override)."""
    text = (ROOT / "worker.py").read_text()
    found = re.search(r'max_cached_workflows["\']?,\s*(\d[\d_]*)', text)
    return found.group(1) if found else "the SDK default"


def seconds(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def run(benchmark: Coroutine[Any, Any, int]) -> int:
    """Run a benchmark's coroutine: its exit code, or 1 with the error when it went wrong."""
    try:
        return asyncio.run(benchmark)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
