"""The end-to-end stack both e2e modules run: an SMTP server on loopback (aiosmtpd), the
Temporal dev server and the project's worker as real processes, and the environment the
`transfers` CLI runs with."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from districts import SHIPPED_DIR
from infra.search_attributes import dev_server_flags
from tests.support.databases import postgres_url, reset_postgres
from tests.support.factories import request_data
from tests.support.ports import free_port, wait_for_port
from tests.support.servers import Inbox, dev_server_command, smtp_server, start_process
from tests.support.signin import sign_in_roster
from tests.support.waiting import CEILING, until

BIN = Path(sys.executable).parent


@dataclass
class Running:
    """The running stack; the fault tests kill and restart its processes."""

    env: dict[str, str]
    inbox: Inbox
    tmp: Path
    server_command: list[str]
    server: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self, **extra_env: str) -> subprocess.Popen:
        """Another worker process on the same task queue; its log in ``worker-<n>.log``."""
        log = (self.tmp / f"worker-{len(self.workers)}.log").open("w")
        worker = subprocess.Popen(
            [str(BIN / "transfers"), "worker"], env={**self.env, **extra_env},
            start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
        )
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL: no clean shutdown, tasks in flight are lost to the server's timeouts."""
        worker.kill()
        worker.wait(timeout=30)

    def stop_server(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)

    def start_server(self) -> None:
        """Start the dev server again on the same port and SQLite file."""
        self.server = start_process(self.server_command)
        wait_for_port(int(self.env["TEMPORAL_ADDRESS"].rsplit(":", 1)[1]),
                      what="the dev server to open its port")


@contextlib.contextmanager
def running(
    tmp: Path, database_url: str | None, persisted: bool = True, workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """SMTP, the dev server (its SQLite file in ``tmp``, or in memory) and ``workers`` worker
    processes, with the records in ``database_url`` (None: SQLite in the data folder) and
    ``extra_env`` for the CLI and the workers; torn down on exit."""
    inbox = Inbox()
    with smtp_server(inbox) as smtp_port:
        port = free_port()
        database = tmp / "temporal.sqlite" if persisted else None
        command = dev_server_command(port, database, dev_server_flags())
        server = start_process(command)
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
            "TRANSFERS_DATA_DIR": str(tmp / "data"),
            "TRANSFERS_DISTRICTS_DIR": str(tmp / "districts"),
            "TRANSFERS_SMTP_HOST": "127.0.0.1",
            "TRANSFERS_SMTP_PORT": str(smtp_port),
            **(extra_env or {}),
        }
        env.pop("TRANSFERS_DATABASE_URL", None)
        if database_url is not None:
            env["TRANSFERS_DATABASE_URL"] = database_url
        stack = Running(env, inbox, tmp, command, server)
        try:
            wait_for_port(port, what="the dev server to open its port")
            # The staff of the districts written before the stack; first, so the records
            # store is made (and migrated) once, not while the workers make it too.
            sign_in_roster(env, inbox)
            for _ in range(workers):
                stack.start_worker()
            yield stack
        finally:
            for worker in stack.workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=30)
            if stack.server.poll() is None:
                stack.stop_server()


# ---- driving the CLI -----------------------------------------------------------------


def local_today() -> date:
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()


def toml_value(value: Any) -> str:
    """``value`` written as TOML, for the district files the e2e tests make."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }"
    if hasattr(value, "isoformat"):  # date, datetime, time
        return value.isoformat()
    raise TypeError(value)


def within_district_toml(
    head: dict[str, Any], settings: dict[str, Any], year: str, first_day: date,
    seats: Iterable[tuple[str, str, int, int]], overcrowded: Sequence[str] = (),
) -> str:
    """A within-district file on Millard's schools and staff: ``head`` (id, name, zone,
    ...), ``[within_district]`` ``settings``, ``year`` from ``first_day`` for 280 days, the
    ``seats`` (school, program, grade, seats) open in it, and the ``overcrowded`` schools."""
    millard = tomllib.loads((SHIPPED_DIR / "millard.toml").read_text())
    lines = [f"{k} = {toml_value(v)}" for k, v in head.items()]
    lines += ["", "[within_district]"] + [f"{k} = {toml_value(v)}" for k, v in settings.items()]
    if overcrowded:
        lines += ["", "[within_district.overcrowding]", "enabled = true",
                  f"schools = {toml_value(list(overcrowded))}"]
    lines += ["", "[calendar]", f'"{year}" = {{ first_day = {first_day}, '
              f"last_day = {first_day + timedelta(days=280)} }}"]
    for table, rows in (("staff", millard["staff"]), ("schools", millard["schools"])):
        for row in rows:
            lines += ["", f"[[{table}]]"] + [f"{k} = {toml_value(v)}" for k, v in row.items()]
    for school, program, grade, count in seats:
        lines += ["", "[[open_seats]]", f'school_year = "{year}"', f'school = "{school}"',
                  f'program = "{program}"', f"grade = {grade}", f"seats = {count}"]
    return "\n".join(lines) + "\n"


def text_of(message: Any) -> str:
    """The decoded text of a received message (its first text part: an approval also carries
    the permit's PDF)."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def attachments_of(message: Any) -> dict[str, tuple[str, bytes]]:
    """A received message's attached files: file name -> (media type, bytes)."""
    return {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
            for part in message.walk() if part.get_content_disposition() == "attachment"}


def district_toml(today: date, district: str = "testdistrict", name: str = "Test") -> str:
    """A district whose current school year started 30 days ago, whatever today is, so a
    request submitted now is accepted and its decision is due 30 days after it is complete
    (EC 46600.2); staff ``clerk`` (pupil services) and ``director``."""
    domain = f"{district}.example.org"
    return f"""
id = "{district}"
name = "{name} Unified School District"
state = "CA"
timezone = "America/Los_Angeles"
contact = "Pupil Services"
notices_from = "pupil-services@{domain}"
staff_notices_to = ["pupil-services@{domain}"]

[interdistrict]
appeal_body = "the County Office of Education"

[calendar.{today.year}-{today.year + 1}]
first_day = {today - timedelta(days=30)}
last_day = {today + timedelta(days=200)}

[[staff]]
name = "clerk"
email = "clerk@{domain}"
roles = ["pupil_services"]

[[staff]]
name = "director"
email = "director@{domain}"
roles = ["director"]

[[schools]]
id = "central-high"
name = "Central High School"
level = "high"
lowest_grade = 9
highest_grade = 12
"""


class Stack:
    def __init__(self, env: dict[str, str], inbox: Inbox, tmp: Path, year: str,
                 processes: Running | None = None) -> None:
        self.env, self.inbox, self.tmp, self.year = env, inbox, tmp, year
        self.processes = processes  # the server and workers, when this stack started them

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "transfers"), *args], env=self.env, capture_output=True, text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"transfers {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    @classmethod
    @contextlib.contextmanager
    def of_test_district(
        cls, tmp: Path, workers: int = 1, extra_env: dict[str, str] | None = None
    ) -> Iterator[Stack]:
        """A running stack (`running`) for the test district, in this school year, its file
        in ``tmp``; the records on the suite's PostgreSQL (emptied first) when it has one."""
        today = local_today()
        (tmp / "districts").mkdir()
        (tmp / "districts" / "testdistrict.toml").write_text(district_toml(today))
        url = postgres_url()
        if url:
            reset_postgres(url)
        with running(tmp, url, workers=workers, extra_env=extra_env) as stack:
            yield cls(stack.env, stack.inbox, tmp, f"{today.year}-{today.year + 1}", stack)

    def wait_for(self, request_id: str, predicate: Any, seconds: float = CEILING) -> dict:
        shown: list[subprocess.CompletedProcess[str]] = []

        def there() -> dict | None:
            shown[:] = [self.run("show", request_id, "--json", check=False)]
            if shown[0].returncode == 0:
                state = json.loads(shown[0].stdout)
                if predicate(state):
                    return state
            return None

        return until(f"{request_id} to get there", there, seconds, every=0.2,
                     detail=lambda: shown[0].stdout if shown else "")

    def submit(self, student_id: str, **overrides: Any) -> str:
        student = {"id": student_id, **overrides.pop("student", {})}
        data = request_data(
            district="testdistrict", school_year=self.year, student=student, **overrides
        )
        path = self.tmp / f"{student_id}.json"
        path.write_text(json.dumps(data))
        request_id = self.json("submit", str(path), "--actor", "clerk")["id"]
        self.wait_for(request_id, lambda s: s["stage"] == "awaiting_documents")
        return request_id


    def add_lease(self, request_id: str, content: bytes) -> dict:
        """The one document a move out of the district needs; then review begins."""
        lease = self.tmp / f"lease-{request_id}.pdf"
        lease.write_bytes(content)
        self.run("documents", "add", request_id, "--kind", "escrow_or_lease", str(lease),
                 "--actor", "clerk")
        return self.wait_for(request_id, lambda s: s["stage"] == "under_review")
