"""The staff command line, ``transfers``: every command calls the application layer
(`app/`), which starts request workflows, sends staff actions as Updates (an immediate yes or
no), and reads the records store for listings.

This module is the command and the interdistrict permits (seed 000); the within-district
commands (seed 004: recommendations, the lottery, offers) are in `cli/within.py`, permits in
`cli/permits.py`, the records database in `cli/db.py`; ``submit``, ``decide``, ``withdraw``
and ``show`` hand within-district requests to `cli/within.py`.

Every command takes ``--json``. A refused action exits 1 with the reason on stderr and
changes nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.main import get_command_name

from app import audit, requests, services, signin, submissions
from app.errors import Refused
from app.requests import DocumentUpload
from app.submissions import Rejected
from cli import within as within_cli
from cli.common import (
    ActorOption,
    JsonFlag,
    emit,
    err,
    out,
    parse_date,
    principal,
    refusing,
    run,
)
from cli.db import db_app
from cli.exports import export_app
from cli.permits import permit_app
from cli.roster import roster_app, roster_lines
from models.decisions import AppealOutcome, DenialReason, ExtensionCircumstance, Outcome
from models.documents import DocumentKind
from models.state import RequestState
from models.within_request import WithinRequestState
from rules.eligibility import check_may_appeal
from rules.errors import PolicyError

app = typer.Typer(help="School transfer requests as durable processes.", no_args_is_help=True)
# What runs without a signed-in person: signing in and out, and the services themselves.
OPEN_COMMANDS = {"login", "logout", "worker", "dev", "db", "codec-server", "web", "portal"}


@app.callback()
def door(ctx: typer.Context) -> None:
    """Every other command acts for a signed-in staff member (`transfers login`), reads
    included: refused before anything is read or sent."""
    # A subcommand's --help is not yet parsed here: read from the command line.
    if ctx.invoked_subcommand in OPEN_COMMANDS or "--help" in sys.argv[1:]:
        return
    try:
        signin.signed_in()
    except Refused as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(1) from None
documents_app = typer.Typer(help="Documents of a request.", no_args_is_help=True)
app.add_typer(documents_app, name="documents")


def _state_json(state: RequestState) -> dict[str, Any]:
    data = state.model_dump(mode="json")
    data["is_open"] = state.is_open
    return data


def _done(result: RequestState, as_json: bool) -> None:
    emit(as_json, _state_json(result), lambda: _print_summary(result))


def _print_summary(state: RequestState) -> None:
    out.print(f"[bold]{state.id}[/bold]: {state.stage.value}")
    if state.missing_documents:
        out.print("missing: " + ", ".join(k.value for k in state.missing_documents))
    if state.decision_due:
        out.print(f"decision due: {state.decision_due}")
    if state.appeal_deadline and state.stage.value in {"denied", "deemed_denied"}:
        student = state.request.student
        try:  # agrees with the letter: no deadline shown to a student who may not appeal
            check_may_appeal(student.expelled, student.pending_expulsion)
            out.print(f"appeal deadline: {state.appeal_deadline}")
        except PolicyError as error:
            out.print(f"no appeal: {error}", markup=False, highlight=False)
    if state.permit_id:
        out.print(f"permit: {state.permit_id}")
    for line in roster_lines(state.request.roster):
        out.print(line, markup=False, highlight=False)


# ---- services ---------------------------------------------------------------------------


@app.command()
@refusing
def worker() -> None:
    """Run a worker until Ctrl-C (connects with TEMPORAL_ADDRESS etc.)."""
    services.worker()


@app.command()
@refusing
def dev(
    port: Annotated[int, typer.Option(help="Temporal frontend port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
    web_port: Annotated[int, typer.Option(help="the staff console's port (0: no console)")]
    = 8000,
    portal_port: Annotated[int, typer.Option(help="the parent portal's port (0: no portal)")]
    = 8001,
) -> None:
    """The embedded default: the Temporal dev server (persisted in the data folder), a
    worker and the staff console, until Ctrl-C stops them."""
    services.dev(port, ui_port, lambda text: err.print(text, markup=False, highlight=False),
                 web_port, portal_port)


# ---- submitting -------------------------------------------------------------------------


@app.command()
@refusing
def submit(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="request files (.json or .toml); several are submitted in order"),
    ] = None,
    actor: ActorOption = "",
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
    received_at: Annotated[str | None, typer.Option(
        help="a paper form: when it was received, e.g. '2027-02-15 16:50' (the district's "
             "zone)")] = None,
    received_by: Annotated[str | None, typer.Option(
        help="a paper form: who received it (a staff name of the district's roster)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Submit requests on behalf of parents, from files or (interdistrict) from flags.

    A within-district form has no `direction`. Several files are a batch, submitted in order:
    a refused form is reported with its file name, the others go on, and the exit status is
    1; --json then prints a list with one entry per file. A paper form is entered with when
    and by whom it was received (--received-at, --received-by): its windows and deadlines
    count from then (docs/cross-cutting.md "Paper forms")."""
    paper = submissions.paper_receipt(received_at, received_by)
    if files:
        _submit_files(files, actor, as_json, paper)
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
    prepared = run(submissions.submit_form(_drop_none(flags), principal(actor), paper=paper))
    emit(as_json, prepared.data, lambda: out.print(f"submitted [bold]{prepared.id}[/bold]"))


def _submit_files(files: list[Path], actor: str, as_json: bool,
                  paper: submissions.PaperReceipt | None = None) -> None:
    """In order, in one process; each form is reported as it is done."""
    batch = len(files) > 1
    results: list[dict[str, Any]] = []

    async def go() -> None:
        async for outcome in submissions.submit_files(files, principal(actor), paper):
            path = outcome.file
            if isinstance(outcome, Rejected):
                where = "" if path.name in str(outcome.error) else f"{path.name}: "
                err.print(f"error: {where}{outcome.error}", markup=False, highlight=False)
                results.append({"file": str(path), "error": str(outcome.error)})
                continue
            results.append({"file": str(path), **outcome.data})
            if not as_json:
                out.print(f"submitted [bold]{outcome.data['id']}[/bold]")

    run(go())
    if as_json:
        emit(True, results if batch else results[0], lambda: None)
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
    actor: ActorOption = "",
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
    names = name or [path.name for path in file]
    uploads = [DocumentUpload(path, k, n) for path, k, n in zip(file, kind, names, strict=True)]
    _done(run(requests.add_documents(request_id, uploads, principal(actor))), as_json)


@app.command()
@refusing
def release(
    request_id: str,
    actor: ActorOption = "",
    granted: Annotated[bool, typer.Option("--granted/--refused")] = True,
    note: str = "",
    as_json: JsonFlag = False,
) -> None:
    """Record the district of residence's release (into the district)."""
    _done(run(requests.record_release(request_id, principal(actor), granted, note)), as_json)


@app.command()
@refusing
def provisional(
    request_id: str,
    first_day: Annotated[str, typer.Option(help="the first day attended (YYYY-MM-DD)")],
    actor: ActorOption = "",
    note: str = "",
    as_json: JsonFlag = False,
) -> None:
    """Record that the student attends provisionally while the request is pending (into the
    district; EC 46603: at most two school months, 40 school days)."""
    first = parse_date(first_day, "--first-day")
    _done(run(requests.start_provisional(request_id, principal(actor), first, note)), as_json)


@app.command()
@refusing
def decide(
    request_id: str,
    actor: ActorOption = "",
    approve: Annotated[bool, typer.Option("--approve", help="approve the request")] = False,
    deny: Annotated[bool, typer.Option("--deny", help="deny it, citing --reason")] = False,
    reason: Annotated[list[str] | None, typer.Option(
        help=f"denial reason: {', '.join(DenialReason)}")] = None,
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
    if approve == deny:  # a refusal like every other, exit 1 (issue "Policy fidelity")
        raise Refused("give one of --approve or --deny" if not approve else
                      "--approve and --deny together: give one")
    reasons = _denial_reasons(reason or [])
    state = requests.get(request_id)
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
    _done(run(requests.decide(request_id, principal(actor), outcome, reasons, school, note)),
          as_json)


def _denial_reasons(given: list[str]) -> list[DenialReason]:
    unknown = [r for r in given if r not in DenialReason.__members__]
    if unknown:
        raise Refused(f"unknown denial reason {unknown[0]!r} (one of: "
                      f"{', '.join(DenialReason)})")
    return [DenialReason(r) for r in given]


@app.command()
@refusing
def appeal(
    request_id: str,
    actor: ActorOption = "",
    outcome: Annotated[AppealOutcome | None, typer.Option(help="the county's outcome")] = None,
    extend: Annotated[str | None, typer.Option(help="extend to 60 days, with the reason")] = None,
    circumstance: Annotated[ExtensionCircumstance | None, typer.Option(
        help="with --extend: the statute's circumstance (EC 46601)")] = None,
    filed_on: Annotated[str | None, typer.Option(help="filing date (default today)")] = None,
    note: str = "",
    as_json: JsonFlag = False,
) -> None:
    """Record an appeal filed with the county, its extension, or its outcome."""
    who = principal(actor)
    if outcome is not None:
        result = run(requests.record_appeal_outcome(request_id, who, outcome, note))
    elif extend is not None:
        result = run(requests.extend_appeal(request_id, who, extend, note, circumstance))
    else:
        filed = parse_date(filed_on, "--filed-on") if filed_on else None
        result = run(requests.file_appeal(request_id, who, filed, note))
    _done(result, as_json)


@app.command()
@refusing
def withdraw(request_id: str, actor: ActorOption = "", note: str = "", as_json: JsonFlag = False
             ) -> None:
    """Withdraw a request at any open stage (on the parent's behalf).

    A within-district placement may be given up too: the student stays at the home school
    and the seat goes to the next in line."""
    state = requests.get(request_id)
    if isinstance(state, WithinRequestState):
        within_cli.withdraw_within(state, actor, note, as_json)
        return
    _done(run(requests.withdraw(request_id, principal(actor), note)), as_json)


# Within-district (Rule 5110.1): recommendations, leaving a program, the lottery, offers.
app.command("recommend")(within_cli.recommend)
app.command("leave-program")(within_cli.leave_program)
app.add_typer(within_cli.lottery_app, name="lottery")
app.add_typer(within_cli.offers_app, name="offers")
app.add_typer(db_app, name="db")
app.add_typer(permit_app, name="permit")
app.add_typer(export_app, name="export")
app.add_typer(roster_app, name="roster")


@app.command("find")
@refusing
def find(
    text: Annotated[str, typer.Argument(
        help="a student's name or id, a parent's name or address, or a request or permit "
             "id; accents and case ignored")],
    actor: ActorOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Find requests of your district(s) by name, id or address, open ones first."""
    from cli import reading

    reading.find(text, actor=actor, as_json=as_json)


# ---- reading ----------------------------------------------------------------------------


@app.command()
@refusing
def show(request_id: str, as_json: JsonFlag = False) -> None:
    """A request's state, the student, every deadline with its days left, and its whole audit
    trail (times in the district's time zone), from the records store.

    A waitlisted within-district request's position is asked of its lottery (the stored one
    when the lottery cannot be reached). A permit's id: `transfers permit show`."""
    from cli import reading

    reading.refuse_a_permit_id(request_id)
    state = requests.get(request_id)
    if isinstance(state, WithinRequestState):
        within_cli.show_within(state, as_json)
        return
    state = requests.with_history(state)
    data = _state_json(state)
    data["deadlines"] = reading.deadlines_json(state)

    def human() -> None:
        _print_shown(state)
        reading.print_history(state)

    emit(as_json, data, human)


def _print_shown(state: RequestState) -> None:
    """`show`'s summary: where the request stands, who it is for, what it waits on."""
    from cli import reading

    request = state.request
    reading.line(f"{state.id}: {state.stage.value} ({request.direction.value}, "
                 f"{request.school_year}, other district: {request.other_district})")
    reading.print_people_and_deadlines(state)
    if state.missing_documents:
        reading.line("missing: " + ", ".join(k.value for k in state.missing_documents))
    student = request.student
    if state.stage.value in {"denied", "deemed_denied"}:
        try:  # agrees with the letter: no deadline shown to a student who may not appeal
            check_may_appeal(student.expelled, student.pending_expulsion)
        except PolicyError as error:
            reading.line(f"no appeal: {error}")
    school = state.assigned_school or request.preferred_school
    if school:
        reading.line(f"school: {school}{'' if state.assigned_school else ' (asked for)'}")
    if state.permit_id:
        reading.line(f"permit: {state.permit_id}")


@app.command("list")
@refusing
def list_(
    stage: Annotated[str | None, typer.Option(help="only this stage")] = None,
    overdue: Annotated[bool, typer.Option(help="only overdue decisions")] = False,
    due_before: Annotated[str | None, typer.Option(
        help="next deadline (of any kind) before YYYY-MM-DD")] = None,
    district: Annotated[str | None, typer.Option()] = None,
    open_only: Annotated[bool, typer.Option("--open", help="only open requests")] = False,
    as_json: JsonFlag = False,
) -> None:
    """What is due: requests from the records store, the soonest next deadline first (of
    every kind: documents, release, decision, statutory, appeal, county, offer; a passed
    one first), with the student's name and the days left in the district's time zone."""
    from cli import reading

    if stage is not None and stage not in requests.STAGES:
        raise Refused(f"unknown stage {stage!r} (one of: {', '.join(requests.STAGES)})")
    before = parse_date(due_before, "--due-before") if due_before else None
    rows = requests.list_due(stage=stage, overdue=overdue, due_before=before,
                             district=district, open_only=open_only)
    data = reading.list_json(rows)
    emit(as_json, data, lambda: reading.print_list(data))


@app.command()
@refusing
def notices(request_id: Annotated[str | None, typer.Argument()] = None,
            as_json: JsonFlag = False) -> None:
    """Notices and their delivery records."""
    rows = requests.notices(request_id)
    data = [
        {"key": n.key, "request_id": n.request_id, "kind": n.kind, "to": n.recipients,
         "subject": n.subject, "status": n.status, "error": n.error, "attempts": n.attempts,
         "sent_at": n.sent_at, "language": n.language, "note": n.note}
        for n in rows
    ]

    def human() -> None:
        from rich.table import Table  # here: `transfers show` and `list` start without it

        table = Table("request", "kind", "to", "language", "status", "attempts", "error")
        for n in rows:
            table.add_row(n.request_id, n.kind, n.recipients, n.language, n.status,
                          str(n.attempts), n.error or n.note)
        out.print(table)

    emit(as_json, data, human)


# ---- the audit trail ----------------------------------------------------------------------

audit_app = typer.Typer(help="A request's audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@refusing
def audit_verify(request_id: str, as_json: JsonFlag = False) -> None:
    """Re-check every entry of a request's audit trail: each staff action's proof (signed by
    the deployment's key, for this request, this person, this time), and the stored trail
    against the workflow's own. Exit status 1 when anything does not hold."""
    report = run(audit.verify(request_id))
    emit(as_json, {"request_id": report.request_id, "entries": report.entries,
                   "signed": report.signed, "compared_with_workflow": report.compared,
                   "problems": report.problems}, lambda: _print_audit(report))
    if not report.holds:
        raise typer.Exit(1)


def _print_audit(report: audit.AuditReport) -> None:
    compared = ("compared with the workflow's own trail" if report.compared else
                "not compared: the workflow did not answer")
    out.print(f"{report.request_id}: {report.entries} entries, {report.signed} signed; "
              f"{compared}", markup=False, highlight=False)
    for problem in report.problems:
        out.print(f"  does not hold: {problem}", markup=False, highlight=False)
    if report.holds:
        out.print("  every entry holds", markup=False, highlight=False)


# ---- signing in ---------------------------------------------------------------------------


@app.command()
@refusing
def login(
    address: Annotated[str | None, typer.Argument(
        help="your staff address, as the district's roster has it")] = None,
    code: Annotated[str | None, typer.Option(
        help="the code that was sent to you (without it, one is sent and asked for)")] = None,
    provider: Annotated[bool, typer.Option(
        "--oidc", help="sign in with the district's OpenID Connect provider instead")] = False,
) -> None:
    """Sign in: with a one-time code sent to your roster address, or with the district's
    provider (``--oidc``). Every other command then acts as you (``--actor`` picks among the
    people signed in here)."""
    if provider:
        who = run(signin.sign_in_with_provider(_open_in_browser))
    else:
        if not address:
            raise Refused("give your staff address: transfers login <address>")
        if code is None:
            err.print(signin.send_code(address), markup=False, highlight=False)
            code = typer.prompt("code", err=True)
        who = signin.redeem(address, code)
    out.print(f"signed in as {who.name} ({who.email}) until the end of the working day",
              markup=False, highlight=False)


def _open_in_browser(url: str) -> None:
    import webbrowser

    err.print(f"Sign in at {url}", markup=False, highlight=False, soft_wrap=True)
    webbrowser.open(url)


@app.command()
@refusing
def logout(actor: ActorOption = "") -> None:
    """Sign out (``--actor``: one person; without it, everyone signed in here)."""
    out.print(signin.sign_out(actor or None), markup=False, highlight=False)


@app.command("codec-server")
@refusing
def codec_server(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8081,
    cors_origin: Annotated[str, typer.Option(help="the Web UI's origin")] = "http://localhost:8233",
) -> None:
    """Decrypt payloads for the Temporal Web UI (its codec endpoint) until Ctrl-C.

    Needs the encryption keys; every request needs Authorization: Bearer <a signed-in staff
    member's session token, or TRANSFERS_CODEC_TOKEN>."""
    services.codec_server(host, port, cors_origin,
                          lambda text: err.print(text, markup=False, highlight=False))


WorkersOption = Annotated[int, typer.Option(
    min=1, help="processes serving the pages (one a core; they share the records store)")]


@app.command()
@refusing
def web(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: WorkersOption = 1,
) -> None:
    """The staff console in the browser until Ctrl-C (staff sign in on its pages)."""
    from web.serve import serve

    err.print(f"the staff console on http://{host}:{port}", markup=False, highlight=False)
    serve(host, port, workers=workers)


@app.command()
@refusing
def portal(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8001,
    workers: WorkersOption = 1,
) -> None:
    """The parent portal in the browser until Ctrl-C (public pages; parents sign in with a
    code sent to their email)."""
    from web.serve import serve

    err.print(f"the parent portal on http://{host}:{port}", markup=False, highlight=False)
    serve(host, port, portal=True, workers=workers)


def only(whole: typer.Typer, first: list[str]) -> typer.Typer:
    """``whole`` with only the command or group named by the command line's first word:
    Typer builds every command's options before it runs one (44 commands, 40 ms of a
    `transfers show`, bench/cli_startup.py). No name, an option (``--help``) or a name it
    does not hold: ``whole``, so help and a typo's error still list every command. The
    callback (`door`) stays, so the command is still named on the command line."""
    name = first[0] if first else ""
    commands = [c for c in whole.registered_commands
                if (c.name or get_command_name(getattr(c.callback, "__name__", ""))) == name]
    groups = [g for g in whole.registered_groups if g.name == name]
    if not name or name.startswith("-") or not (commands or groups):
        return whole
    narrowed = typer.Typer()
    narrowed.info = whole.info
    narrowed.registered_callback = whole.registered_callback
    narrowed.registered_commands = commands
    narrowed.registered_groups = groups
    return narrowed


def main() -> None:
    """Entry point. Leaves with ``os._exit`` after flushing: the SDK's native bridge can
    crash an exiting interpreter after the work is done (temporalio/sdk-python#300)."""
    code = 0
    services.private_files()
    try:
        only(app, sys.argv[1:2])()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
