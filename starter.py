"""The staff command line, ``transfers``: starts request workflows, sends staff actions as
Updates (an immediate yes or no), and reads the records store for listings.

This module is the command and the interdistrict permits (seed 000); the within-district
commands (seed 004: recommendations, the lottery, offers) are in ``within_cli.py``, and
``submit``, ``decide``, ``withdraw`` and ``show`` hand within-district requests to it. What
both share (refusals, consoles, the client, Updates) is in ``cli_common.py``.

Every command takes ``--json``. A refused action exits 1 with the reason on stderr and
changes nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table
from temporalio.client import Client
from temporalio.service import RPCError

import rules.calendar as calendar
import within_cli
from cli_common import (
    ActorOption,
    JsonFlag,
    Prepared,
    Refused,
    _actor,
    _any_request,
    _client,
    _district,
    _emit,
    _engine,
    _parse_date,
    _run,
    _settings,
    _update,
    err,
    out,
    print_rows,
    refusing,
)
from db_cli import db_app
from models.actions import (
    MAX_DOCUMENTS_AT_ONCE,
    AddDocument,
    AddDocuments,
    Decide,
    DocumentFile,
    ExtendAppeal,
    FileAppeal,
    RecordAppealOutcome,
    RecordRelease,
    Withdraw,
)
from models.decisions import AppealOutcome, DenialReason, Outcome
from models.documents import DocumentKind
from models.people import Actor
from models.requests import InterdistrictRequest
from models.state import RequestState
from models.within_district_config import WithinDistrictConfig
from models.within_request import WithinRequestState
from permit_cli import permit_app
from rules.documents import check_document_content, check_document_name
from rules.errors import PolicyError
from rules.roles import check_role
from search_attributes import dev_server_flags
from settings import Settings, connect, find_binary
from store import notices as notice_store
from store import records
from store.documents import DocumentStore
from submission import parse_request, prepare, read_form, start
from workflows.interdistrict_permit import InterdistrictPermitWorkflow

app = typer.Typer(help="School transfer requests as durable processes.", no_args_is_help=True)
documents_app = typer.Typer(help="Documents of a request.", no_args_is_help=True)
app.add_typer(documents_app, name="documents")


def _request(request_id: str) -> RequestState:
    """An interdistrict permit request from the records store."""
    state = _any_request(request_id)
    if not isinstance(state, RequestState):
        raise Refused(f"request {request_id} is a within-district request: this command is for "
                      "interdistrict permits")
    return state


def _state_json(state: RequestState) -> dict[str, Any]:
    data = state.model_dump(mode="json")
    data["is_open"] = state.is_open
    return data


def _act(request_id: str, update: Any, make: Callable[[Actor], BaseModel], actor: str,
         as_json: bool) -> None:
    _act_on(_request(request_id), update, make, actor, as_json)


def _act_on(state: RequestState, update: Any, make: Callable[[Actor], BaseModel], actor: str,
            as_json: bool) -> None:
    action = make(_actor(_district(state.request.district), actor))
    if not state.is_open:
        raise Refused(f"request {state.id} is closed ({state.stage.value})")
    result = _run(_update(state.id, update, action))
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

    settings = _settings()
    _run(run_worker(settings), loop_factory=_event_loop(settings))


@app.command()
@refusing
def dev(
    port: Annotated[int, typer.Option(help="Temporal frontend port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
) -> None:
    """The embedded default: the Temporal dev server (persisted in the data folder) and a
    worker, until Ctrl-C stops both."""
    settings = _settings()
    loop_factory = _event_loop(settings)  # a wrong setting stops here, before the server
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # WAL with synchronous=normal survives a crash of the process; a power cut can lose the
    # last transactions; about 22 workflows/s against 10 with the defaults
    # (docs/cross-cutting.md "The embedded dev server's durability").
    server = subprocess.Popen(
        [
            find_binary("temporal"), "server", "start-dev",
            "--db-filename", str(settings.data_dir / "temporal.sqlite"),
            "--port", str(port), "--ui-port", str(ui_port), "--ip", "127.0.0.1",
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            *dev_server_flags(), "--log-level", "warn",
        ],
        start_new_session=True,
    )
    os.environ.setdefault("TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    try:
        _run(_dev_worker(settings, server, ui_port), loop_factory)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        err.print("stopped the worker and the Temporal dev server")


def _event_loop(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    from worker import event_loop_factory

    try:
        return event_loop_factory(settings.event_loop)
    except ValueError as error:
        raise Refused(str(error)) from None


async def _dev_worker(settings: Settings, server: subprocess.Popen, ui_port: int) -> None:
    import observability
    from worker import run_worker

    client: Client | None = None
    runtime = observability.runtime(settings)  # once: it binds the metrics port
    for _ in range(300):
        if server.poll() is not None:
            raise Refused("the Temporal dev server exited; is the port already in use?")
        try:
            client = await connect(runtime)
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
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="request files (.json or .toml); several are submitted in order"),
    ] = None,
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
    """Submit requests on behalf of parents, from files or (interdistrict) from flags.

    A within-district form has no `direction`. Several files are a batch, submitted in order:
    a refused form is reported with its file name, the others go on, and the exit status is
    1; --json then prints a list with one entry per file."""
    if files:
        _submit_files(files, actor, as_json)
        return
    flags = {
        "district": district, "direction": direction, "reason": reason,
        "school_year": school_year, "other_district": other_district,
        "preferred_school": preferred_school,
        "student": {"id": student_id, "first_name": first_name, "last_name": last_name,
                    "grade": grade, "has_iep_or_504": has_iep_or_504},
        "parent": {"name": parent_name, "email": parent_email,
                   "relationship": relationship},
    }
    prepared = _prepare_interdistrict(parse_request(_drop_none(flags), "the flags"), actor)

    async def go() -> None:
        await prepared.start(await _client())

    _run(go())
    _emit(as_json, prepared.data, lambda: out.print(f"submitted [bold]{prepared.id}[/bold]"))


def _prepare_interdistrict(request: InterdistrictRequest, actor: str) -> Prepared:
    config = _district(request.district)
    staff = _actor(config, actor)
    check_role("submit", staff.name, staff.roles)
    task_queue = _settings().task_queue
    today = calendar.local_date(datetime.now(UTC), config.timezone)
    inp = prepare(request, config, today, _engine(), staff.name)

    async def go(client: Client) -> object:
        return await start(client, inp, task_queue)

    data = {"id": inp.id, "stage": "submitted", "first_day": inp.policy.first_day.isoformat()}
    student = (request.district, request.student.id, request.school_year)
    return Prepared(id=inp.id, data=data, start=go, student=student)


def _prepare_file(
    path: Path, actor: str, within: dict[str, WithinDistrictConfig | None]
) -> Prepared:
    form = read_form(path)
    config = within_cli.within_district_of(form, within)
    if config is not None:
        return within_cli.prepare_form(form, path.name, config, actor)
    return _prepare_interdistrict(parse_request(form, path.name), actor)


def _submit_files(files: list[Path], actor: str, as_json: bool) -> None:
    """In order, in one process (how a district loads a batch of paper forms). Every check
    of a form runs before its workflow starts, so a refused form starts nothing."""
    batch = len(files) > 1
    within: dict[str, WithinDistrictConfig | None] = {}
    taken: dict[tuple[str, str, str], str] = {}  # the students submitted in this batch
    results: list[dict[str, Any]] = []

    def refused(path: Path, error: Exception) -> None:
        if not batch:
            raise error
        where = "" if path.name in str(error) else f"{path.name}: "
        err.print(f"error: {where}{error}", markup=False, highlight=False)
        results.append({"file": str(path), "error": str(error)})

    async def go() -> None:
        client: Client | None = None
        for path in files:
            try:
                prepared = _prepare_file(path, actor, within)
                if prepared.student in taken:
                    district, student, year = prepared.student
                    raise Refused(
                        f"student {student} already has an open request for {year} in "
                        f"{district} ({taken[prepared.student]}, earlier in this batch); "
                        "only one may be open at a time"
                    )
            except (Refused, PolicyError, ValidationError) as error:
                refused(path, error)
                continue
            if client is None:
                client = await _client()  # Temporal unreachable: the whole batch stops
            try:
                await prepared.start(client)
            except (Refused, PolicyError) as error:
                refused(path, error)
                continue
            except RPCError as error:
                done = sum(1 for r in results if "id" in r)
                raise Refused(f"{path.name}: {error.message}; stopped after submitting "
                              f"{done} of {len(files)}") from None
            taken[prepared.student] = prepared.id
            results.append({"file": str(path), **prepared.data})
            if not as_json:
                out.print(f"submitted [bold]{prepared.id}[/bold]")

    _run(go())
    if as_json:
        _emit(True, results if batch else results[0], lambda: None)
    failed = sum(1 for r in results if "error" in r)
    if failed:
        others = "; the others were submitted" if failed < len(files) else ""
        err.print(f"error: {failed} of {len(files)} forms refused{others}", markup=False,
                  highlight=False)
        raise typer.Exit(1)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


# ---- staff actions ----------------------------------------------------------------------


@documents_app.command("add")
@refusing
def documents_add(
    request_id: str,
    kind: Annotated[list[DocumentKind], typer.Option(
        help="what the document is; one for each file, in the files' order")],
    file: Annotated[list[Path], typer.Argument(help="the document's file, or several")],
    actor: ActorOption,
    name: Annotated[list[str] | None, typer.Option(
        help="its name (default: the file's); one for each file when given")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a document, or a parent's packet of several in one action (an audit entry
    each); each is stored content-addressed by its sha256."""
    if len(kind) != len(file):
        raise Refused(f"{len(file)} file(s) but {len(kind)} --kind: give one --kind for each "
                      "file, in the same order")
    if name and len(name) != len(file):
        raise Refused(f"{len(file)} file(s) but {len(name)} --name: give one --name for each "
                      "file, or none")
    if len(file) > MAX_DOCUMENTS_AT_ONCE:
        raise Refused(f"{len(file)} files: at most {MAX_DOCUMENTS_AT_ONCE} in one action")
    state = _request(request_id)
    staff = _actor(_district(state.request.district), actor)
    check_role("add_document", staff.name, staff.roles)  # before anything is stored
    if not state.is_open:
        raise Refused(f"request {request_id} is closed ({state.stage.value})")
    names = name or [path.name for path in file]
    contents = []
    for path, stored_name in zip(file, names, strict=True):  # every file checked first
        try:
            content = path.read_bytes()
        except OSError as error:
            raise Refused(f"cannot read {path}: {error.strerror}") from None
        check_document_content(check_document_name(stored_name), content)
        contents.append(content)
    store = DocumentStore(_settings().documents_dir)
    stored = [store.put(n, content) for n, content in zip(names, contents, strict=True)]
    documents = [
        DocumentFile(kind=k, name=d.name, sha256=d.sha256, size=d.size)
        for k, d in zip(kind, stored, strict=True)
    ]
    if len(documents) == 1:  # one document: the Update every worker version knows
        action: AddDocument | AddDocuments = AddDocument(
            actor=staff, **documents[0].model_dump()
        )
        update: Any = InterdistrictPermitWorkflow.add_document
    else:
        action = AddDocuments(actor=staff, documents=documents)
        update = InterdistrictPermitWorkflow.add_documents
    result = _run(_update(request_id, update, action))
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
    weighed_reasons: Annotated[
        str | None, typer.Option(help="within-district: the reasons for the request (IX.B.1)")
    ] = None,
    weighed_time_of_year: Annotated[
        str | None, typer.Option(help="within-district: the time of year (IX.B.2)")
    ] = None,
    weighed_capacity: Annotated[
        str | None, typer.Option(help="within-district: capacity and staffing (IX.B.3)")
    ] = None,
    weighed_program: Annotated[
        str | None, typer.Option(help="within-district: the educational program (IX.B.4)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve, or deny citing at least one of the seed's reasons.

    A within-district current-year request (IX.B) is decided by the superintendent's designee
    writing down the four factors weighed: --weighed-reasons, --weighed-time-of-year,
    --weighed-capacity and --weighed-program."""
    state = _any_request(request_id)
    weighed = {
        "--weighed-reasons": weighed_reasons,
        "--weighed-time-of-year": weighed_time_of_year,
        "--weighed-capacity": weighed_capacity,
        "--weighed-program": weighed_program,
    }
    if isinstance(state, WithinRequestState):
        if reason or school or note:
            raise Refused("--reason, --school and --note are for interdistrict permits; a "
                          "within-district decision writes down the --weighed-* factors (IX.B)")
        within_cli.decide_within(state, actor, approve, weighed, as_json)
        return
    given = [option for option, value in weighed.items() if value is not None]
    if given:
        raise Refused(f"{', '.join(given)}: the IX.B factors are for within-district requests")
    outcome = Outcome.approve if approve else Outcome.deny
    _act_on(state, InterdistrictPermitWorkflow.decide,
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
    """Withdraw a request at any open stage (on the parent's behalf).

    A within-district placement may be given up too: the student stays at the home school
    and the seat goes to the next in line."""
    state = _any_request(request_id)
    if isinstance(state, WithinRequestState):
        within_cli.withdraw_within(state, actor, note, as_json)
        return
    _act_on(state, InterdistrictPermitWorkflow.withdraw,
            lambda a: Withdraw(actor=a, note=note), actor, as_json)


# Within-district (Rule 5110.1): recommendations, leaving a program, the lottery, offers.
app.command("recommend")(within_cli.recommend)
app.command("leave-program")(within_cli.leave_program)
app.add_typer(within_cli.lottery_app, name="lottery")
app.add_typer(within_cli.offers_app, name="offers")
app.add_typer(db_app, name="db")
app.add_typer(permit_app, name="permit")


# ---- reading ----------------------------------------------------------------------------


@app.command()
@refusing
def show(request_id: str, as_json: JsonFlag = False) -> None:
    """A request's state and its whole audit trail, from the records store.

    A waitlisted within-district request's position is asked of its lottery (the stored one
    when the lottery cannot be reached)."""
    state = _any_request(request_id)
    if isinstance(state, WithinRequestState):
        within_cli.show_within(state, as_json)
        return
    history = records.get_history(_engine(), request_id)
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
    from models.within_request import WithinStage

    stages = list(Stage.__members__) + [s for s in WithinStage.__members__
                                        if s not in Stage.__members__]
    if stage is not None and stage not in stages:
        raise Refused(f"unknown stage {stage!r} (one of: {', '.join(stages)})")
    before = _parse_date(due_before, "--due-before") if due_before else None
    rows = records.list_requests(
        _engine(), district=district, stage=stage, overdue=overdue,
        due_before=before, open_only=open_only,
    )
    data = [
        {"id": r.id, "district": r.district, "direction": r.direction,
         "school_year": r.school_year, "stage": r.stage, "overdue": r.overdue,
         "decision_due": r.decision_due, "appeal_deadline": r.appeal_deadline}
        for r in rows
    ]

    def human() -> None:
        print_rows(
            ("direction", "year", "stage", "decision due", "overdue", "id"),
            ((r.direction, r.school_year, r.stage, r.decision_due or "",
              "yes" if r.overdue else "", r.id) for r in rows),
        )

    _emit(as_json, data, human)


@app.command()
@refusing
def notices(request_id: Annotated[str | None, typer.Argument()] = None,
            as_json: JsonFlag = False) -> None:
    """Notices and their delivery records."""
    rows = notice_store.list_notices(_engine(), request_id)
    data = [
        {"key": n.key, "request_id": n.request_id, "kind": n.kind, "to": n.recipients,
         "subject": n.subject, "status": n.status, "error": n.error, "attempts": n.attempts,
         "sent_at": n.sent_at, "language": n.language, "note": n.note}
        for n in rows
    ]

    def human() -> None:
        table = Table("request", "kind", "to", "language", "status", "attempts", "error")
        for n in rows:
            table.add_row(n.request_id, n.kind, n.recipients, n.language, n.status,
                          str(n.attempts), n.error or n.note)
        out.print(table)

    _emit(as_json, data, human)


@app.command("codec-server")
@refusing
def codec_server(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8081,
    cors_origin: Annotated[str, typer.Option(help="the Web UI's origin")] = "http://localhost:8233",
) -> None:
    """Decrypt payloads for the Temporal Web UI (its codec endpoint) until Ctrl-C.

    Needs TRANSFERS_ENCRYPTION_KEYS. Beyond loopback, put it behind the district's sign-in."""
    import codec_server as server
    from codec import KEYS_VARIABLE, encryption_codec

    try:
        codec = encryption_codec()
    except ValueError as error:
        raise Refused(str(error)) from None
    if codec is None:
        raise Refused(f"no encryption key configured: set {KEYS_VARIABLE} (see codec.py)")
    err.print(f"codec server on http://{host}:{port} for {cors_origin} "
              f"(keys {', '.join(codec.key_ids)}; current {codec.current})",
              markup=False, highlight=False)
    try:
        server.serve(host, port, cors_origin)
    except OSError as error:  # the port is taken, the address is not ours
        raise Refused(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    except KeyboardInterrupt:
        pass


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
