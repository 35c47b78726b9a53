"""The staff command line, ``transfers``: starts request workflows, sends staff actions as
Updates (an immediate yes or no), and reads the records store for listings.

Every command takes ``--json``. A refused action exits 1 with the reason on stderr and
changes nothing."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

import rules.calendar as calendar
from districts import UnknownDistrictError, load_district
from models.actions import (
    AddDocument,
    Decide,
    ExtendAppeal,
    FileAppeal,
    RecordAppealOutcome,
    RecordRelease,
    Withdraw,
)
from models.decisions import AppealOutcome, DenialReason, Outcome
from models.district import DistrictConfig
from models.documents import DocumentKind
from models.people import Actor
from models.state import RequestState
from rules.errors import PolicyError
from settings import Settings, connect, find_binary, load_settings
from store import notices as notice_store
from store import records
from store.documents import DocumentStore
from store.engine import engine_for
from submission import parse_request, parse_request_file, prepare, start
from workflows.interdistrict_permit import InterdistrictPermitWorkflow

app = typer.Typer(help="School transfer requests as durable processes.", no_args_is_help=True)
documents_app = typer.Typer(help="Documents of a request.", no_args_is_help=True)
app.add_typer(documents_app, name="documents")
out = Console()
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
ActorOption = Annotated[str, typer.Option("--actor", help="staff member, as the district names")]


class Refused(Exception):
    """An action refused before or by the workflow; the message says why."""


def refusing(command: Callable[..., None]) -> Callable[..., None]:
    """Turn a refusal into its reason on stderr and exit status 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except (Refused, PolicyError, ValidationError) as error:
            err.print(f"error: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def _settings() -> Settings:
    return load_settings()


def _district(district_id: str) -> DistrictConfig:
    try:
        return load_district(district_id, _settings().districts_dir)
    except UnknownDistrictError as error:
        raise Refused(str(error).strip('"')) from None


def _actor(config: DistrictConfig, name: str) -> Actor:
    member = config.staff_member(name)
    if member is None:
        raise Refused(f"{name!r} is not a staff member of {config.id}")
    return Actor(name=member.name, roles=list(member.roles))


def _request(request_id: str) -> RequestState:
    state = records.get_request(engine_for(_settings().database_url), request_id)
    if state is None:
        raise Refused(f"no request {request_id!r}")
    return state


def _run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def _emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        out.print_json(json.dumps(data, default=str))
    else:
        human()


def _state_json(state: RequestState) -> dict[str, Any]:
    data = state.model_dump(mode="json")
    data["is_open"] = state.is_open
    return data


async def _client() -> Client:
    try:
        return await connect()
    except RuntimeError as error:
        address = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
        raise Refused(f"cannot reach Temporal at {address}: {error}") from None


async def _update(request_id: str, update: Any, action: BaseModel) -> RequestState:
    client = await _client()
    handle = client.get_workflow_handle(request_id)
    try:
        return await handle.execute_update(update, action, result_type=RequestState)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        raise Refused(getattr(cause, "message", None) or str(cause)) from None
    except RPCError as error:
        raise Refused(f"request {request_id}: {error.message}") from None


def _act(request_id: str, update: Any, make: Callable[[Actor], BaseModel], actor: str,
         as_json: bool) -> None:
    state = _request(request_id)
    action = make(_actor(_district(state.request.district), actor))
    if not state.is_open:
        raise Refused(f"request {request_id} is closed ({state.stage.value})")
    result = _run(_update(request_id, update, action))
    _emit(as_json, _state_json(result), lambda: _print_summary(result))


def _print_summary(state: RequestState) -> None:
    out.print(f"[bold]{state.id}[/bold]: {state.stage.value}")
    if state.missing_documents:
        out.print("missing: " + ", ".join(k.value for k in state.missing_documents))
    if state.decision_due:
        out.print(f"decision due: {state.decision_due}")
    if state.appeal_deadline and state.stage.value in {"denied", "deemed_denied"}:
        out.print(f"appeal deadline: {state.appeal_deadline}")
    if state.permit_id:
        out.print(f"permit: {state.permit_id}")


# ---- services ---------------------------------------------------------------------------


@app.command()
@refusing
def worker() -> None:
    """Run a worker until Ctrl-C (connects with TEMPORAL_ADDRESS etc.)."""
    from worker import run_worker

    _run(run_worker())


@app.command()
@refusing
def dev(
    port: Annotated[int, typer.Option(help="Temporal frontend port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
) -> None:
    """The embedded default: the Temporal dev server (persisted in the data folder) and a
    worker, until Ctrl-C stops both."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # WAL with synchronous=normal survives a crash of the process; a power cut can lose the
    # last transactions (DESIGN.md: about 22 workflows/s against 10 with the defaults).
    server = subprocess.Popen(
        [
            find_binary("temporal"), "server", "start-dev",
            "--db-filename", str(settings.data_dir / "temporal.sqlite"),
            "--port", str(port), "--ui-port", str(ui_port), "--ip", "127.0.0.1",
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            "--log-level", "warn",
        ],
        start_new_session=True,
    )
    os.environ.setdefault("TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    try:
        _run(_dev_worker(settings, server, ui_port))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        err.print("stopped the worker and the Temporal dev server")


async def _dev_worker(settings: Settings, server: subprocess.Popen, ui_port: int) -> None:
    from worker import run_worker

    client: Client | None = None
    for _ in range(300):
        if server.poll() is not None:
            raise Refused("the Temporal dev server exited; is the port already in use?")
        try:
            client = await connect()
            break
        except RuntimeError:
            await asyncio.sleep(0.1)
    if client is None:
        raise Refused("the Temporal dev server did not start")
    err.print(
        f"Temporal dev server on {os.environ['TEMPORAL_ADDRESS']}, Web UI on "
        f"http://127.0.0.1:{ui_port}; "
        "worker running. Ctrl-C stops both."
    )
    await run_worker(settings, client)


# ---- submitting -------------------------------------------------------------------------


@app.command()
@refusing
def submit(
    file: Annotated[Path | None, typer.Argument(help="request file (.json or .toml)")] = None,
    actor: ActorOption = ...,  # type: ignore[assignment]
    district: Annotated[str | None, typer.Option()] = None,
    student_id: Annotated[str | None, typer.Option()] = None,
    first_name: Annotated[str | None, typer.Option()] = None,
    last_name: Annotated[str | None, typer.Option()] = None,
    grade: Annotated[int | None, typer.Option()] = None,
    has_iep_or_504: Annotated[bool, typer.Option()] = False,
    parent_name: Annotated[str | None, typer.Option()] = None,
    parent_email: Annotated[str | None, typer.Option()] = None,
    relationship: Annotated[str | None, typer.Option()] = None,
    direction: Annotated[str | None, typer.Option(help="into | out")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    school_year: Annotated[str | None, typer.Option(help="e.g. 2027-2028")] = None,
    other_district: Annotated[str | None, typer.Option()] = None,
    preferred_school: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """Submit a request on behalf of a parent, from a file or from flags."""
    if file is not None:
        request = parse_request_file(file)
    else:
        flags = {
            "district": district, "direction": direction, "reason": reason,
            "school_year": school_year, "other_district": other_district,
            "preferred_school": preferred_school,
            "student": {"id": student_id, "first_name": first_name, "last_name": last_name,
                        "grade": grade, "has_iep_or_504": has_iep_or_504},
            "parent": {"name": parent_name, "email": parent_email,
                       "relationship": relationship},
        }
        request = parse_request(_drop_none(flags), "the flags")
    config = _district(request.district)
    staff = _actor(config, actor)
    from rules.roles import check_role

    check_role("submit", staff.name, staff.roles)
    settings = _settings()
    today = calendar.local_date(datetime.now(UTC), config.timezone)
    inp = prepare(request, config, today, engine_for(settings.database_url), staff.name)

    async def go() -> None:
        await start(await _client(), inp, settings.task_queue)

    _run(go())
    data = {"id": inp.id, "stage": "submitted", "first_day": inp.policy.first_day.isoformat()}
    _emit(as_json, data, lambda: out.print(f"submitted [bold]{inp.id}[/bold]"))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


# ---- staff actions ----------------------------------------------------------------------


@documents_app.command("add")
@refusing
def documents_add(
    request_id: str,
    kind: Annotated[DocumentKind, typer.Option(help="what the document is")],
    file: Annotated[Path, typer.Argument(help="the document's file")],
    actor: ActorOption,
    name: Annotated[str | None, typer.Option(help="its name (default: the file's)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a document; it is stored content-addressed by its sha256."""
    state = _request(request_id)
    staff = _actor(_district(state.request.district), actor)
    if not state.is_open:
        raise Refused(f"request {request_id} is closed ({state.stage.value})")
    try:
        content = file.read_bytes()
    except OSError as error:
        raise Refused(f"cannot read {file}: {error.strerror}") from None
    stored = DocumentStore(_settings().documents_dir).put(name or file.name, content)
    action = AddDocument(
        actor=staff, kind=kind, name=stored.name, sha256=stored.sha256, size=stored.size
    )
    result = _run(_update(request_id, InterdistrictPermitWorkflow.add_document, action))
    _emit(as_json, _state_json(result), lambda: _print_summary(result))


@app.command()
@refusing
def release(
    request_id: str,
    actor: ActorOption,
    granted: Annotated[bool, typer.Option("--granted/--refused")] = True,
    note: str = "",
    as_json: JsonFlag = False,
) -> None:
    """Record the district of residence's release (into the district)."""
    _act(request_id, InterdistrictPermitWorkflow.record_release,
         lambda a: RecordRelease(actor=a, granted=granted, note=note), actor, as_json)


@app.command()
@refusing
def decide(
    request_id: str,
    actor: ActorOption,
    approve: Annotated[bool, typer.Option("--approve/--deny")] = ...,  # type: ignore[assignment]
    reason: Annotated[list[DenialReason] | None, typer.Option(help="denial reason")] = None,
    school: Annotated[str | None, typer.Option(help="school assignment")] = None,
    note: str = "",
    as_json: JsonFlag = False,
) -> None:
    """Approve, or deny citing at least one of the seed's reasons."""
    outcome = Outcome.approve if approve else Outcome.deny
    _act(request_id, InterdistrictPermitWorkflow.decide,
         lambda a: Decide(actor=a, outcome=outcome, reasons=reason or [], school=school,
                          note=note), actor, as_json)


@app.command()
@refusing
def appeal(
    request_id: str,
    actor: ActorOption,
    outcome: Annotated[AppealOutcome | None, typer.Option(help="the county's outcome")] = None,
    extend: Annotated[str | None, typer.Option(help="extend to 60 days, with the reason")] = None,
    filed_on: Annotated[str | None, typer.Option(help="filing date (default today)")] = None,
    note: str = "",
    as_json: JsonFlag = False,
) -> None:
    """Record an appeal filed with the county, its extension, or its outcome."""
    if outcome is not None:
        _act(request_id, InterdistrictPermitWorkflow.record_appeal_outcome,
             lambda a: RecordAppealOutcome(actor=a, outcome=outcome, note=note), actor, as_json)
    elif extend is not None:
        _act(request_id, InterdistrictPermitWorkflow.extend_appeal,
             lambda a: ExtendAppeal(actor=a, reason=extend, note=note), actor, as_json)
    else:
        filed = _parse_date(filed_on, "--filed-on") if filed_on else None
        _act(request_id, InterdistrictPermitWorkflow.file_appeal,
             lambda a: FileAppeal(actor=a, filed_on=filed, note=note), actor, as_json)


@app.command()
@refusing
def withdraw(request_id: str, actor: ActorOption, note: str = "", as_json: JsonFlag = False
             ) -> None:
    """Withdraw a request at any open stage (on the parent's behalf)."""
    _act(request_id, InterdistrictPermitWorkflow.withdraw,
         lambda a: Withdraw(actor=a, note=note), actor, as_json)


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


# ---- reading ----------------------------------------------------------------------------


@app.command()
@refusing
def show(request_id: str, as_json: JsonFlag = False) -> None:
    """A request's state and its whole audit trail, from the records store."""
    state = _request(request_id)
    history = records.get_history(engine_for(_settings().database_url), request_id)
    state = state.model_copy(update={"history": history})
    data = _state_json(state)

    def human() -> None:
        _print_summary(state)
        table = Table("#", "at", "stage", "event", "actor", "reason")
        for h in history:
            table.add_row(str(h.seq), h.at.isoformat(timespec="seconds"), h.stage.value,
                          h.event, h.actor, h.reason)
        out.print(table)

    _emit(as_json, data, human)


@app.command("list")
@refusing
def list_(
    stage: Annotated[str | None, typer.Option(help="only this stage")] = None,
    overdue: Annotated[bool, typer.Option(help="only overdue decisions")] = False,
    due_before: Annotated[str | None, typer.Option(help="decision due before YYYY-MM-DD")] = None,
    district: Annotated[str | None, typer.Option()] = None,
    open_only: Annotated[bool, typer.Option("--open", help="only open requests")] = False,
    as_json: JsonFlag = False,
) -> None:
    """What is due: requests from the records store, soonest decision first."""
    from models.stages import Stage

    if stage is not None and stage not in Stage.__members__:
        raise Refused(f"unknown stage {stage!r} (one of: {', '.join(Stage.__members__)})")
    before = _parse_date(due_before, "--due-before") if due_before else None
    rows = records.list_requests(
        engine_for(_settings().database_url), district=district, stage=stage, overdue=overdue,
        due_before=before, open_only=open_only,
    )
    data = [
        {"id": r.id, "district": r.district, "direction": r.direction,
         "school_year": r.school_year, "stage": r.stage, "overdue": r.overdue,
         "decision_due": r.decision_due, "appeal_deadline": r.appeal_deadline}
        for r in rows
    ]

    def human() -> None:
        table = Table("direction", "year", "stage", "decision due", "overdue")
        table.add_column("id", no_wrap=True)
        for r in rows:
            table.add_row(r.direction, r.school_year, r.stage, str(r.decision_due or ""),
                          "yes" if r.overdue else "", r.id)
        out.print(table)

    _emit(as_json, data, human)


@app.command()
@refusing
def notices(request_id: Annotated[str | None, typer.Argument()] = None,
            as_json: JsonFlag = False) -> None:
    """Notices and their delivery records."""
    rows = notice_store.list_notices(engine_for(_settings().database_url), request_id)
    data = [
        {"key": n.key, "request_id": n.request_id, "kind": n.kind, "to": n.recipients,
         "subject": n.subject, "status": n.status, "error": n.error, "attempts": n.attempts,
         "sent_at": n.sent_at}
        for n in rows
    ]

    def human() -> None:
        table = Table("request", "kind", "to", "status", "subject")
        for n in rows:
            table.add_row(n.request_id, n.kind, n.recipients, n.status, n.subject)
        out.print(table)

    _emit(as_json, data, human)


def main() -> None:
    """Entry point. Leaves with ``os._exit`` after flushing: the SDK's native bridge can
    crash an exiting interpreter after the work is done (temporalio/sdk-python#300)."""
    code = 0
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
