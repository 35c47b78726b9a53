"""Faults, with real processes: the worker killed (SIGKILL) while 200 requests move through
their stages, the dev server stopped while requests wait on timers, and the records database
unreachable for a while. Every request must end where it should, the records store must match
the workflows, and every notice must arrive at the SMTP server (aiosmtpd on loopback) once.

What "once" can mean for a notice (activities/notices.py): a notice's delivery record is
claimed (``sending``) before the SMTP exchange and marked ``sent`` after it. A worker killed
between the two leaves the record ``sending`` and the next attempt sends the notice again;
no code on this side of SMTP can close that gap. The copy carries the same Message-ID (one
per notice key), so the receiver can drop it, and the record counts the attempts. So the tests
assert: every notice arrives; one whose record shows a single attempt arrives exactly once; a
second copy is allowed only where an attempt died (``attempts`` > 1) and is identical, same
Message-ID. A failed *record* after a successful send (the database gone) is not sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
import tomllib
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from districts import SHIPPED_DIR
from infra.codec import data_converter
from intake.interdistrict import request_id_base
from models.actions import AddDocument, Decide
from models.people import Actor
from models.state import RequestState
from store import lotteries, notices, records
from store.engine import make_engine
from store.schema import EventRow, NoticeRow
from tests.support.databases import throwaway_database
from tests.support.e2e import BIN, Running, district_toml, running, text_of, within_district_toml
from tests.support.factories import request_data
from tests.support.proofs import stack_signer
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually, until
from workflows.interdistrict_permit import InterdistrictPermitWorkflow

LA = ZoneInfo("America/Los_Angeles")
CLERK = Actor(name="clerk", roles=["pupil_services"])
DIRECTOR = Actor(name="director", roles=["director"])
DISTRICT = "faults"


# ---- the records database: a PostgreSQL database of the test's own, or SQLite ------------


@contextlib.contextmanager
def records_database(tmp: Path, postgres_only: bool = False) -> Iterator[str]:
    """The URL of a new, empty records database, migrated to head: a PostgreSQL database
    ``faults_<hex>`` when TRANSFERS_TEST_DATABASE_URL is set (dropped after), else SQLite in
    the stack's data folder (where the CLI and worker put it by default)."""
    with throwaway_database("faults", postgres_only) as postgres:
        url = postgres or f"sqlite:///{tmp / 'data' / 'records.sqlite3'}"
        make_engine(url).dispose()  # a new, empty database is brought to head
        yield url


def stack_url(url: str) -> str | None:
    """What `running` takes: None for the default SQLite file."""
    return None if url.startswith("sqlite") else url


# ---- the stack's CLI, its Temporal client, waiting ----------------------------------------


def cli(stack: Running, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(BIN / "transfers"), *args], env=stack.env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"transfers {' '.join(args[:3])} failed: {result.stderr}"
    return result


class Submission:
    """One `transfers submit --json` of many files, running in the background."""

    def __init__(self, stack: Running, files: list[Path]) -> None:
        name = stack.tmp / f"submit-{uuid.uuid4().hex[:6]}"
        self.out, self.err = Path(f"{name}.json"), Path(f"{name}.err")
        actor = "olsen" if "within" in files[0].name else "clerk"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [str(BIN / "transfers"), "submit", *map(str, files), "--actor", actor,
                 "--json"], env=stack.env, stdout=out, stderr=err,
            )

    def finished(self, seconds: float) -> list[dict[str, Any]]:
        """It ended well within ``seconds``: one entry per file."""
        try:
            status = self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"submitting took more than {seconds:.0f}s") from None
        assert status == 0, self.err.read_text()
        return json.loads(self.out.read_text())


async def client_for(stack: Running) -> Client:
    return await Client.connect(stack.env["TEMPORAL_ADDRESS"], data_converter=data_converter(),
                                interceptors=[stack_signer(stack.env)])


_T0 = time.monotonic()


def phase(what: str) -> None:
    """A line with the time since the module started (shown with ``pytest -s``)."""
    print(f"[{time.monotonic() - _T0:7.1f}s] {what}", flush=True)


def notice_summary(engine: Engine, ids: list[str]) -> Counter[tuple[str, str]]:
    return Counter((r.kind, r.status) for r in notice_rows(engine, ids))


async def workflow_state(client: Client, request_id: str) -> RequestState | None:
    """The request's state as its workflow holds it (a query); None while unanswered."""
    handle = client.get_workflow_handle_for(InterdistrictPermitWorkflow.run, request_id)
    try:
        return await asyncio.wait_for(handle.query(InterdistrictPermitWorkflow.status), 15)
    except (RPCError, TimeoutError):  # not started yet, or no worker to answer right now
        return None


async def workflow_states(stack: Running, ids: list[str]) -> dict[str, RequestState | None]:
    client = await client_for(stack)
    limit = asyncio.Semaphore(20)

    async def one(request_id: str) -> RequestState | None:
        async with limit:
            return await workflow_state(client, request_id)

    states = await asyncio.gather(*(one(i) for i in ids))
    return dict(zip(ids, states, strict=True))


# ---- what the store holds -----------------------------------------------------------------


def event_counts(engine: Engine, ids: list[str]) -> dict[tuple[str, str], int]:
    """How many rows each (request, event) has in the audit trail."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(EventRow.request_id, EventRow.event, func.count())
            .where(EventRow.request_id.in_(ids))
            .group_by(EventRow.request_id, EventRow.event)
        ).all()
    return {(r[0], r[1]): r[2] for r in rows}


def notice_rows(engine: Engine, ids: list[str]) -> list[NoticeRow]:
    with engine.connect() as connection:
        return list(connection.execute(
            select(NoticeRow.key, NoticeRow.request_id, NoticeRow.kind, NoticeRow.status,
                   NoticeRow.attempts, NoticeRow.body).where(NoticeRow.request_id.in_(ids))
        ).all())


def message_id(key: str) -> str:
    """activities/notices.py: one key, one Message-ID."""
    return f"<{sha256(key.encode()).hexdigest()[:32]}@transfers>"


def assert_store_matches_workflows(stack: Running, engine: Engine, ids: list[str]) -> int:
    """The store's state and audit trail of each request are the workflow's. Returns how
    many audit entries carry another time than the workflow's (see the report)."""
    states = asyncio.run(workflow_states(stack, ids))
    other_time = 0
    for request_id, live in states.items():
        assert live is not None, f"{request_id}: its workflow did not answer"
        stored = records.get_request(engine, request_id)
        assert stored is not None, request_id
        assert stored.stage == live.stage, (request_id, stored.stage, live.stage)
        history = [(h.seq, h.event, h.actor) for h in records.get_history(engine, request_id)]
        assert history == [(h.seq, h.event, h.actor) for h in live.history], request_id
        stored_at = [h.at for h in records.get_history(engine, request_id)]
        other_time += sum(a != h.at for a, h in zip(stored_at, live.history, strict=True))
    return other_time


def sent_count(engine: Engine, ids: list[str]) -> int:
    """How many notices of ``ids`` are recorded, when every one is sent; -1 else. One read:
    two (the statuses, then the count) let a notice claimed in between pass for sent."""
    rows = notice_rows(engine, ids)
    return len(rows) if {row.status for row in rows} <= {"sent"} else -1


def assert_notices_once(stack: Running, engine: Engine, ids: list[str],
                        per_request: Callable[[str], Counter[str]]) -> dict[str, int]:
    """Every notice of ``ids`` recorded sent, of the kinds ``per_request`` expects, and at the
    SMTP server once (see the module's docstring for the one allowed exception). Returns the
    extra copies found, by notice key."""
    rows = notice_rows(engine, ids)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        kinds[row.request_id][row.kind] += 1
    for request_id in ids:
        assert kinds[request_id] == per_request(request_id), (request_id, kinds[request_id])
    assert {row.status for row in rows} == {"sent"}, Counter(row.status for row in rows)
    by_id = {message_id(row.key): row for row in rows}
    arrived = Counter(m["Message-ID"] for m in list(stack.inbox.messages))
    extra: dict[str, int] = {}
    for mid, row in by_id.items():
        copies = arrived[mid]
        assert copies >= 1, f"notice {row.key} never arrived"
        if copies > 1:
            # Only an attempt that died after the SMTP server took the message sends it again.
            assert copies <= row.attempts, (row.key, copies, row.attempts)
            bodies = {text_of(m) for m in stack.inbox.messages if m["Message-ID"] == mid}
            assert len(bodies) == 1, row.key
            extra[row.key] = copies - 1
    return extra


# ---- an interdistrict district and its requests -------------------------------------------


def interdistrict_forms(
    tmp: Path, prefix: str, count: int
) -> tuple[list[Path], Callable[[Engine], list[str]]]:
    """``count`` requests out of the district (a move: one document, the lease), their files
    and how to know their ids in a records store (derived from the student under the store's
    key, as `transfers submit` derives them)."""
    today = datetime.now(LA).date()
    year = f"{today.year}-{today.year + 1}"
    (tmp / "districts").mkdir(exist_ok=True)
    (tmp / "districts" / f"{DISTRICT}.toml").write_text(district_toml(today, DISTRICT, "Fault"))
    forms = tmp / "forms"
    forms.mkdir(exist_ok=True)
    files, students = [], []
    for n in range(count):
        student = f"{prefix}{n:04d}"
        data = request_data(district=DISTRICT, school_year=year,
                            student={"id": student, "first_name": f"Student{n}"},
                            parent={"email": f"parent-{prefix.lower()}{n}@example.org"})
        path = forms / f"{student}.json"
        path.write_text(json.dumps(data))
        files.append(path)
        students.append(student)
    return files, lambda engine: [
        request_id_base(engine, DISTRICT, year, "out", student) for student in students]


def lease(request_id: str) -> AddDocument:
    return AddDocument(actor=CLERK, kind="escrow_or_lease", name=f"lease-{request_id}.pdf",
                       sha256=sha256(request_id.encode()).hexdigest(), size=1000)


def decision(n: int) -> Decide:
    """Even requests are approved, odd ones denied."""
    if n % 2 == 0:
        return Decide(actor=DIRECTOR, outcome="approve")
    return Decide(actor=DIRECTOR, outcome="deny", reasons=["no_space"])


def expected_stage(n: int) -> str:
    return "approved" if n % 2 == 0 else "denied"


async def act(client: Client, request_id: str, update: Any, action: Any, update_id: str) -> None:
    """Send a staff Update until it completes. The same Update id every time: the server
    runs an Update once per id, and answers a repeat with the first outcome."""
    handle = client.get_workflow_handle_for(InterdistrictPermitWorkflow.run, request_id)
    refusals = 0
    errors: list[BaseException] = []

    async def sent() -> bool:
        nonlocal refusals
        try:
            await handle.execute_update(update, action, id=f"{update_id}-{refusals}")
            return True
        except WorkflowUpdateFailedError as error:
            # The records are written by local activities: a worker killed after a write but
            # before its workflow task completed leaves the store a stage ahead until the
            # task runs again elsewhere. Until then an action the store allows is refused.
            cause = str(error.cause)
            if "cannot decide" not in cause or "awaiting_documents" not in cause:
                raise
            refusals += 1
            errors.append(error)
        except RPCError as error:  # the worker gone (its task times out), the server busy
            if error.status == RPCStatusCode.INVALID_ARGUMENT:
                raise
            errors.append(error)
        except Exception as error:  # noqa: BLE001 - the SDK's timeout for a slow Update
            if "Timeout" not in type(error).__name__:
                raise
            errors.append(error)
        return False

    await eventually(sent, seconds=240, every=0.5,
                     what=lambda _: f"{update_id} not done: {errors[-1]!r:.300}")


async def settled(read: Callable[[], Any], ceiling: float = 60) -> Any:
    """What ``read`` gives once two reads a second apart agree (within ``ceiling`` seconds)."""
    last = await asyncio.to_thread(read)
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        now = await asyncio.to_thread(read)
        if now == last:
            return now
        last = now
    raise AssertionError(f"still changing after {ceiling:.0f} s")


async def move_through(client: Client, engine: Engine, ids: list[str], progress: list[str],
                       start_at: int = 0) -> None:
    """Each request, as the store shows it ready: its document added (review starts), then
    decided; at most 20 Updates at a time."""
    limit = asyncio.Semaphore(20)
    number = {request_id: start_at + n for n, request_id in enumerate(ids)}
    started: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def send(request_id: str, what: str) -> None:
        async with limit:
            if what == "lease":
                await act(client, request_id, InterdistrictPermitWorkflow.add_document,
                          lease(request_id), f"lease-{request_id}")
            else:
                await act(client, request_id, InterdistrictPermitWorkflow.decide,
                          decision(number[request_id]), f"decide-{request_id}")
                progress.append(request_id)

    async def all_decided() -> bool:
        if len(progress) >= len(ids):
            return True
        stages = await asyncio.to_thread(records.stages_of, engine, ids)
        for request_id, stage in stages.items():
            what = {"awaiting_documents": "lease", "under_review": "decide"}.get(stage)
            if what and (request_id, what) not in started:
                started[request_id, what] = asyncio.create_task(send(request_id, what))
        for task in started.values():
            if task.done() and task.exception():
                raise task.exception()  # type: ignore[misc]
        return False

    # A notice lost with a killed worker: 2 min to retry.
    await eventually(all_decided, seconds=420, every=0.3,
                     what=lambda _: f"only {len(progress)} of {len(ids)} decided")
    await asyncio.gather(*started.values())


# ---- the tests ----------------------------------------------------------------------------


def test_a_delivery_whose_record_fails_is_recorded_not_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records database fails right after the SMTP server took a notice: the next
    attempt (same worker) marks it sent and does not send it again."""
    from activities.notices import NoticeActivities
    from models.notices import Notice, NoticeKind
    from tests.support.servers import Inbox, smtp_server

    engine = make_engine(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        try:
            sending = NoticeActivities(engine, tmp_path / "outbox", "127.0.0.1", port)
            notice = Notice(
                key="R1:receipt:0", request_id="R1", kind=NoticeKind.receipt,
                sender="district@example.org", to=["parent@example.org"],
                facts={"request_id": "R1", "district_name": "D", "contact": "C",
                       "student_name": "S", "parent_name": "P", "school_year": "2026-2027",
                       "direction": "out", "direction_text": "out of D", "other_district": "O",
                       "received_on": "today", "stage": "submitted", "missing": []},
            )
            real = notices.mark_sent
            calls = []

            def failing_once(engine_: Engine, key: str) -> None:
                calls.append(key)
                if len(calls) == 1:
                    raise OperationalError("UPDATE notices", {}, Exception("connection lost"))
                real(engine_, key)

            monkeypatch.setattr(notices, "mark_sent", failing_once)
            with pytest.raises(OperationalError):
                sending.send_notice(notice)
            [row] = notices.list_notices(engine, "R1")
            assert row.status == "sending" and len(inbox.messages) == 1
            assert sending.send_notice(notice) == "sent"
            monkeypatch.undo()
            [row] = notices.list_notices(engine, "R1")
            assert row.status == "sent" and row.attempts == 1
            assert len(inbox.messages) == 1
            assert sending.send_notice(notice) == "already sent" and len(inbox.messages) == 1
        finally:
            engine.dispose()


@pytest.mark.e2e
def test_worker_killed_mid_flight_a_new_one_finishes_everything(tmp_path: Path) -> None:
    count = 200
    files, ids_in = interdistrict_forms(tmp_path, "KILL", count)
    with records_database(tmp_path) as url, running(tmp_path, stack_url(url)) as stack:
        engine = make_engine(url)
        ids = ids_in(engine)
        phase("stack up")
        submitting = Submission(stack, files)
        progress: list[str] = []

        async def drive() -> float:
            client = await client_for(stack)
            moving = asyncio.create_task(move_through(client, engine, ids, progress))
            await eventually(lambda: len(progress) >= count // 8 or moving.done(),
                             seconds=420, what="an eighth of the requests decided")
            assert not moving.done(), "everything finished before the kill"
            killed_at = time.monotonic()
            phase(f"kill: {len(progress)} decided")
            stack.kill_worker(stack.workers[0])  # SIGKILL, tasks in flight and all
            stack.start_worker()
            await moving
            phase("every request decided")
            return killed_at

        killed_at = asyncio.run(drive())
        submitting.finished(60)
        phase("submitted")
        assert stack.workers[0].returncode == -9 and stack.workers[1].poll() is None

        expected = {request_id: expected_stage(n) for n, request_id in enumerate(ids)}
        until("every request's stage in the store",
              lambda: records.stages_of(engine, ids) == expected, 240)
        phase("every stage stored")
        # A request asks for its documents unless the document came first: after the kill,
        # the store can show "awaiting documents" from a workflow task that was lost, the
        # document is added, and the task run again finds nothing missing (and sends no
        # missing-documents notice). The workflow's own history says which.
        states = asyncio.run(workflow_states(stack, ids))
        asked = {i: any(h.event == "documents_requested" for h in s.history)
                 for i, s in states.items() if s is not None}
        until("every notice sent",
              lambda: sent_count(engine, ids) == 3 * count + sum(asked.values()), 240,
              detail=lambda: notice_summary(engine, ids))
        phase(f"every notice sent; {count - sum(asked.values())} documents came first")
        other_time = assert_store_matches_workflows(stack, engine, ids)
        phase(f"the store matches the workflows; {other_time} audit entries at other times")
        events = event_counts(engine, ids)
        for n, request_id in enumerate(ids):
            final = "approved" if n % 2 == 0 else "denied"
            expected_events = ("submitted", *(["documents_requested"] if asked[request_id]
                                              else []),
                               "document_added", "review_started", final)
            for event in expected_events:
                assert events.get((request_id, event)) == 1, (request_id, event)
            total = sum(c for (r, _), c in events.items() if r == request_id)
            assert total == len(expected_events), request_id
        decided = {"approved": "approved", "denied": "denied"}
        extra = assert_notices_once(stack, engine, ids, lambda i: Counter(
            {"receipt": 1, "missing_documents": int(asked[i]), "file_complete": 1,
             decided[expected[i]]: 1}))
        # The approvals' permits, each in the store as its own workflow left it.
        from store.permits import get_permit
        for n, request_id in enumerate(ids):
            permit = get_permit(engine, f"PERMIT-{request_id}")
            assert (permit is not None) == (n % 2 == 0), request_id
        print(f"\nkilled at {killed_at:.0f}; copies beyond the first: {extra or 'none'}")
        engine.dispose()


# ---- timers across a restart of the dev server --------------------------------------------


WITHIN_TZ = ZoneInfo("America/Chicago")
SEATS = [("norris-elementary", "montessori", 0, 4), ("north-middle", "ib", 6, 4),
         ("south-high", "regular", 9, 3), ("cody-elementary", "core", 3, 3)]
ELEMENTARY = ["abbott-elementary", "bell-elementary", "cather-elementary", "morton-elementary"]
MIDDLE = ["andersen-middle", "beadle-middle", "kiewit-middle", "russell-middle"]
HIGH = ["north-high", "west-high"]


def within_toml(district: str, closes: datetime) -> tuple[str, str]:
    """Millard's schools and staff; the next-year window open now and closing at ``closes``
    (its lottery's durable timer), online too (one close, not VIII.A.2's end of the day: the
    test waits for it on the real clock). The file and the school year."""
    millard = tomllib.loads((SHIPPED_DIR / "millard.toml").read_text())
    year = f"{closes.year}-{closes.year + 1}"
    notify = closes.date() + timedelta(days=5)
    first_day = closes.date() + timedelta(days=60)
    head = {"id": district, "name": f"{district} Public Schools", "state": "NE",
            "timezone": str(WITHIN_TZ), "contact": millard["contact"],
            "notices_from": f"students@{district}.example.org",
            "staff_notices_to": [f"students@{district}.example.org"]}
    settings = {
        "next_year_opens_month": 1, "next_year_opens_day": 1,
        "next_year_closes_month": closes.month, "next_year_closes_day": closes.day,
        "next_year_closes_time": closes.time().replace(microsecond=0),
        "notify_by_month": notify.month, "notify_by_day": notify.day,
        "online_until_end_of_day": False,
    }
    return within_district_toml(head, settings, year, first_day, SEATS), year


def within_form(district: str, year: str, n: int) -> dict[str, Any]:
    """A form from another attendance area, for one of SEATS."""
    school, program, grade, _ = SEATS[n % len(SEATS)]
    level = ELEMENTARY if grade <= 6 else HIGH if grade >= 9 else MIDDLE
    others = [s for s in level if s != school]
    home = others[n % len(others)]
    return {
        "district": district, "school_year": year,
        "student": {"id": f"T{district[-1]}{n:04d}", "first_name": f"Student{n}",
                    "last_name": "Timer", "grade": grade, "residency": "other_resident",
                    "home_school": home, "current_school": home},
        "parent": {"name": f"Parent {n}", "email": f"parent{n}@{district}.example.org",
                   "relationship": "natural_parent"},
        "school": school, "program": program, "resident_sibling": False,
        "reasons": "closer to a parent's work",
    }


@pytest.mark.e2e
def test_timers_fire_after_the_dev_server_is_stopped_and_started(tmp_path: Path) -> None:
    """Four lotteries (one per district) wait on their close; three closes pass while the
    dev server is down, one comes after it is back. Every draw happens, at or after its close;
    certified, every request gets its result and one result notice."""
    per_lottery = 10
    submit_within = 45  # seconds by which the forms are in and the server stopped (loaded CI)
    with records_database(tmp_path) as url, running(tmp_path, stack_url(url)) as stack:
        engine = make_engine(url)
        (tmp_path / "districts").mkdir()
        (tmp_path / "forms").mkdir()
        start = datetime.now(WITHIN_TZ).replace(microsecond=0)
        closes = {f"timer{i}": start + timedelta(seconds=submit_within + 3 * i)
                  for i in range(3)}
        # After the restart (~10 s after the last of those): set before the stop, fired after.
        closes["timer3"] = start + timedelta(seconds=submit_within + 30)
        files, years = [], {}
        for district, close in closes.items():
            text, years[district] = within_toml(district, close)
            (tmp_path / "districts" / f"{district}.toml").write_text(text)
            for n in range(per_lottery):
                path = tmp_path / "forms" / f"within-{district}-{n:03d}.json"
                path.write_text(json.dumps(within_form(district, years[district], n)))
                files.append(path)
        listed = Submission(stack, files).finished(submit_within)
        ids = [e["id"] for e in listed]
        assert len(set(ids)) == len(files)
        phase(f"{len(ids)} submitted")
        until("every request in its lottery", lambda: set(
            records.stages_of(engine, ids).values()) == {"in_lottery"}
            and len(records.stages_of(engine, ids)) == len(ids), 30)
        assert datetime.now(WITHIN_TZ) < min(closes.values()), "raise submit_within"

        stack.stop_server()
        phase("server stopped")
        down_until = max(closes[f"timer{i}"] for i in range(3)) + timedelta(seconds=3)
        time.sleep(max(0.0, (down_until - datetime.now(WITHIN_TZ)).total_seconds()))
        assert all(lotteries.get_lottery(engine, f"lottery-{d}-{years[d]}") is None
                   or lotteries.get_lottery(engine, f"lottery-{d}-{years[d]}").result is None
                   for d in closes), "a draw happened while the server was down"
        stack.start_server()
        phase("server started")
        assert datetime.now(WITHIN_TZ) < closes["timer3"], "the restart took too long"

        def drawn() -> dict[str, Any] | None:
            found = {d: lotteries.get_lottery(engine, f"lottery-{d}-{years[d]}") for d in closes}
            return found if all(r is not None and r.result for r in found.values()) else None

        wait = (closes["timer3"] - datetime.now(WITHIN_TZ)).total_seconds() + 60
        records_ = until("every lottery's draw", drawn, wait)
        phase("every lottery drawn")
        for district, record in records_.items():
            assert record.drawn_at >= closes[district], district
            assert len(record.result.entries) == per_lottery, district
        assert stack.workers[0].poll() is None, "the worker did not outlive the restart"

        for district in closes:  # the seat setter (olsen) may not certify; tran does
            cli(stack, "lottery", "certify", district, years[district], "--actor", "tran",
                "--all-paper-entered")  # every paper form is in (lottery.md)
        outcome = {e.application_id: e.outcome.value
                   for r in records_.values() for e in r.result.entries}
        assert set(outcome) == set(ids)
        until("every request's result in the store",
              lambda: records.stages_of(engine, ids) == outcome, 90)
        until("every notice sent", lambda: sent_count(engine, ids) >= 2 * len(ids), 60)
        phase("every result and notice")
        results = {"placed": "within_placed", "waitlisted": "within_waitlisted"}
        extra = assert_notices_once(stack, engine, ids, lambda i: Counter(
            {"within_receipt": 1, results[outcome[i]]: 1}))
        assert not extra  # no worker died: nothing may arrive twice
        events = event_counts(engine, ids)
        assert all(count == 1 for count in events.values())
        engine.dispose()


# ---- the records database unreachable -----------------------------------------------------


@pytest.mark.e2e
def test_records_database_unreachable_for_a_while(tmp_path: Path) -> None:
    """The worker reaches PostgreSQL through a proxy, which is cut while requests are being
    submitted and moved: activities retry, the workflows wait, and once it is back every
    write lands once."""
    first, second = 40, 40
    files, ids_in = interdistrict_forms(tmp_path, "DBA", first + second)
    with records_database(tmp_path, postgres_only=True) as url:
        from sqlalchemy.engine import make_url

        target = make_url(url)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
        through = target.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
        try:
            # The CLI (the staff's side) reaches the database directly; the worker through
            # the proxy.
            with running(tmp_path, url, workers=0, persisted=False) as stack:
                stack.start_worker(TRANSFERS_DATABASE_URL=through)
                engine = make_engine(url)
                ids = ids_in(engine)
                Submission(stack, files[:first]).finished(120)
                until("the first batch awaiting documents", lambda: set(
                    records.stages_of(engine, ids[:first]).values()) == {"awaiting_documents"}
                    and len(records.stages_of(engine, ids[:first])) == first, 60)
                assert proxy.connections > 0

                async def drive() -> None:
                    client = await client_for(stack)
                    submitting = Submission(stack, files[first:])
                    await eventually(
                        lambda: asyncio.to_thread(records.stages_of, engine, ids[first:]),
                        lambda stages: len(stages) >= 3, seconds=120, every=0.1,
                        what="three of the second batch in the store")
                    progress: list[str] = []
                    moving = asyncio.create_task(
                        move_through(client, engine, ids[:first], progress))
                    await eventually(lambda: len(progress) >= 5, seconds=420,
                                     what="five requests decided")
                    proxy.cut()  # requests being submitted, documents added, decisions made
                    phase("database cut")
                    try:
                        # A commit that reached the database before the cut still lands: on
                        # a busy machine its backend may finish it a moment later. Frozen is
                        # the store once two reads a second apart agree.
                        frozen = await settled(lambda: records.stages_of(engine, ids))
                        await asyncio.sleep(8)
                        assert await asyncio.to_thread(records.stages_of, engine, ids) == frozen
                    finally:
                        # Even after a failed check: the Updates in flight then end, and the
                        # test reports its failure instead of waiting on them for ever.
                        proxy.restore()
                    phase("database restored")
                    await moving
                    await asyncio.to_thread(submitting.finished, 120)

                phase("first batch in")
                asyncio.run(drive())
                phase("every Update done")

                expected = {i: expected_stage(n) for n, i in enumerate(ids[:first])}
                expected |= {i: "awaiting_documents" for i in ids[first:]}
                until("every request's stage in the store",
                      lambda: records.stages_of(engine, ids) == expected, 120)
                until("every notice sent",
                      lambda: sent_count(engine, ids) >= 3 * first + 2 * second, 120)
                phase("every stage and notice")
                assert_store_matches_workflows(stack, engine, ids)
                events = event_counts(engine, ids)
                for n, request_id in enumerate(ids):
                    trail = ["submitted", "documents_requested"]
                    if n < first:
                        trail += ["document_added", "review_started", expected[request_id]]
                    for event in trail:
                        assert events.get((request_id, event)) == 1, (request_id, event)
                    assert sum(c for (r, _), c in events.items() if r == request_id) == len(
                        trail), request_id
                decided = {"approved": "approved", "denied": "denied"}
                extra = assert_notices_once(stack, engine, ids, lambda i: Counter(
                    {"receipt": 1, "missing_documents": 1}
                    | ({decided[expected[i]]: 1, "file_complete": 1} if expected[i] in decided
                       else {})))
                # No worker died: a notice whose record failed must not have been re-sent.
                assert not extra, extra
                # The writes were retried: attempts after the first, failed on the database.
                retried = asyncio.run(retried_activities(stack, ids))
                phase(f"activities that needed more than one attempt: {dict(retried)}")
                assert retried["record_event"] >= 5, retried
                engine.dispose()
        finally:
            proxy.close()


async def retried_activities(stack: Running, ids: list[str]) -> Counter[str]:
    """The activities of ``ids`` that completed on a later attempt, by type, from the
    workflows' histories: the records' local activities (their markers carry the attempt)
    and the notices' activities (whose earlier attempts must have failed on the database)."""
    client = await client_for(stack)
    retried: Counter[str] = Counter()
    for request_id in ids:
        scheduled: dict[int, str] = {}
        async for event in client.get_workflow_handle(request_id).fetch_history_events():
            if event.HasField("marker_recorded_event_attributes"):
                marker = event.marker_recorded_event_attributes
                if marker.marker_name == "core_local_activity":
                    data = json.loads(marker.details["data"].payloads[0].data)
                    if data["attempt"] > 1:
                        retried[data["activity_type"]] += 1
            elif event.HasField("activity_task_scheduled_event_attributes"):
                attributes = event.activity_task_scheduled_event_attributes
                scheduled[event.event_id] = attributes.activity_type.name
            elif event.HasField("activity_task_started_event_attributes"):
                started = event.activity_task_started_event_attributes
                if started.attempt > 1:
                    retried[scheduled[started.scheduled_event_id]] += 1
                    failure = started.last_failure  # too large: the server drops it
                    kind = failure.application_failure_info.type
                    assert kind == "OperationalError" or failure.message == (
                        "Failure exceeds size limit."), (kind, failure.message)
    return retried
