"""The permit commands of `transfers` (``transfers permit ...``): an approved transfer's
permit, which lives for years in its own workflow (`workflows/permit.py`, workflow id = the
permit id ``PERMIT-<request id>``). `show` and `list` read the records store (`show` asks the
workflow when the store has no record yet); staff actions (revoke, renew, moved, transfer,
leave-program, appeal) are Updates to the workflow, which has the last word.

Every command takes ``--json``; a refusal exits 1 with the reason and changes nothing. A
permit that has ended is refused from the store, without asking its workflow (which is gone
once its school year is over)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.table import Table
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from cli.common import (
    ActorOption,
    JsonFlag,
    Refused,
    _actor,
    _client,
    _district,
    _emit,
    _engine,
    _run,
    _say,
    _settings,
    _update,
    out,
    print_rows,
    refusing,
)
from cli.within import _within_district
from districts import list_districts
from models.district import DistrictBase
from models.people import Actor
from models.permits import (
    AppealRevocation,
    Moved,
    PermitCondition,
    PermitProcess,
    PermitStage,
    PermitState,
    Renew,
    Revoke,
    TransferElsewhere,
)
from rules.revocation import RevocationReason
from store import permits as permit_store
from workflows.permit import PermitWorkflow

permit_app = typer.Typer(
    help="Permits of approved transfers, which live for years: show, list, revoke, renew, "
    "moves, transfers, leaving a special program (seed 000; Rule 5110.1 IV).",
    no_args_is_help=True,
)

PermitArg = Annotated[str, typer.Argument(help="the permit's id, PERMIT-<request id>")]
PERMIT_PREFIX = "PERMIT-"
APPEAL_REFUSED = "a decision to rescind or revoke a permit may not be appealed (seed 000)"
SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
REASONS = [r.value for r in RevocationReason]
CONDITIONS = [c.value for c in PermitCondition]


# ---- looking things up ------------------------------------------------------------------


def _school_year(text: str, option: str = "--school-year") -> str:
    match = SCHOOL_YEAR.match(text)
    if match is None:
        raise Refused(f"{option}: {text!r} is not a school year (YYYY-YYYY, e.g. 2027-2028)")
    first, second = int(match[1]), int(match[2])
    if second != first + 1:
        raise Refused(f"{option}: {text!r} is not a school year: its two years follow each "
                      f"other (e.g. {first}-{first + 1})")
    return text


def _reasons(given: list[str] | None) -> list[RevocationReason]:
    valid = ", ".join(REASONS)
    if not given:
        raise Refused(f"a revocation must cite at least one of the seed's reasons: --reason "
                      f"one of {valid} (repeat --reason for several)")
    unknown = [r for r in given if r not in REASONS]
    if unknown:
        raise Refused(f"--reason: unknown revocation reason(s) {', '.join(map(repr, unknown))} "
                      f"(one of: {valid})")
    return list(dict.fromkeys(RevocationReason(r) for r in given))


def _not_found(permit_id: str) -> str:
    hint = "" if permit_id.startswith(PERMIT_PREFIX) else " (a permit's id is PERMIT-<request id>)"
    return f"no permit {permit_id!r}{hint}"


async def _ask_workflow(permit_id: str) -> PermitState:
    """The permit as its workflow knows it (its ``status`` query)."""
    try:
        client = await _client()
    except Refused as error:
        raise Refused(f"{_not_found(permit_id)} in the records store, and its workflow could "
                      f"not be asked: {error}") from None
    handle = client.get_workflow_handle(permit_id)
    try:
        return await handle.query(PermitWorkflow.status, result_type=PermitState)
    except WorkflowQueryFailedError as error:
        raise Refused(f"{permit_id}: {error.message}") from None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise Refused(_not_found(permit_id)) from None
        raise Refused(f"{permit_id}: {error.message}") from None


def _permit(permit_id: str) -> tuple[PermitState, str]:
    """The permit and where it came from: the records store, else its workflow."""
    state = permit_store.get_permit(_engine(), permit_id)
    if state is not None:
        return state, "store"
    if not permit_id.startswith(PERMIT_PREFIX):
        raise Refused(_not_found(permit_id))
    return _run(_ask_workflow(permit_id)), "workflow"


def _config(state: PermitState) -> DistrictBase:
    """The district file of the permit's district, read as its process needs."""
    if state.process is PermitProcess.within_district:
        return _within_district(state.district)
    return _district(state.district)


def _ended(state: PermitState) -> Refused:
    return Refused(f"permit {state.id} has ended ({state.stage.value})")


# ---- output -----------------------------------------------------------------------------


def _grade(grade: int) -> str:
    return "K" if grade == 0 else str(grade)


def _state_json(state: PermitState) -> dict[str, Any]:
    """The permit; of its holder, only the student's name and the parent's e-mail."""
    data = state.model_dump(mode="json")
    data["holder"] = {"student_name": state.holder.student_name,
                      "parent_email": state.holder.parent_email}
    data["is_active"] = state.is_active
    return data


def _print_summary(state: PermitState) -> None:
    process = "within-district" if state.process is PermitProcess.within_district else (
        "interdistrict")
    _say(f"{state.id}: {state.stage.value} ({process} permit of {state.district}, request "
         f"{state.request_id})")
    if state.condition is PermitCondition.reapply_annually:
        condition = "reapply annually"
    else:
        condition = f"until the level ends (after grade {_grade(state.level_last_grade)})"
    _say(f"condition: {condition}")
    _say(f"school year: {state.school_year} (year {state.years} of the permit), grade "
         f"{_grade(state.grade)}")
    school = state.school_name or state.school or "-"
    if state.school and state.school_name and state.school != state.school_name:
        school = f"{state.school_name} ({state.school})"
    if state.program != "regular":
        school += f", {state.program} program"
    _say(f"school: {school}")
    _say(f"holder: {state.holder.student_name} (parent: {state.holder.parent_email})")
    if state.renewed_for:
        _say(f"renewed for: {state.renewed_for}")
    if state.ended_on or not state.is_active:
        ended_on = state.ended_on.isoformat() if state.ended_on else "-"
        _say(f"ended on: {ended_on}")
    if state.reason:
        _say(f"reason: {state.reason}")


def _print_state(state: PermitState, source: str = "") -> None:
    _print_summary(state)
    title = f"events of {state.school_year}"
    if source == "workflow":
        title += " (from the permit's workflow)"
    table = Table("at", "stage", "event", "actor", "reason", title=title)
    for e in state.events:
        table.add_row(e.at.isoformat(timespec="seconds"), e.stage.value, e.event, e.actor,
                      e.reason)
    out.print(table)


# ---- reading ----------------------------------------------------------------------------


@permit_app.command("show")
@refusing
def show(permit_id: PermitArg, as_json: JsonFlag = False) -> None:
    """A permit now and this school year's events.

    From the records store; a permit the store has no record of yet is asked of its
    workflow."""
    state, source = _permit(permit_id)
    data = {**_state_json(state), "source": source}
    _emit(as_json, data, lambda: _print_state(state, source))


@permit_app.command("list")
@refusing
def list_(
    district: Annotated[str | None, typer.Option(help="only this district")] = None,
    school_year: Annotated[
        str | None, typer.Option(help="only permits now in this school year (YYYY-YYYY)")
    ] = None,
    school: Annotated[str | None, typer.Option(help="only permits to this school (id)")] = None,
    condition: Annotated[
        str | None, typer.Option(help=f"only this condition: {' | '.join(CONDITIONS)}")
    ] = None,
    active: Annotated[bool, typer.Option("--active", help="only permits in force")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Permits from the records store, by id."""
    if condition is not None and condition not in CONDITIONS:
        raise Refused(f"--condition: unknown condition {condition!r} (one of: "
                      f"{', '.join(CONDITIONS)})")
    if school_year is not None:
        _school_year(school_year)
    if district is not None:
        known = list_districts(_settings().districts_dir)
        if district not in known:
            raise Refused(f"--district: unknown district {district!r} (known: "
                          f"{', '.join(sorted(known)) or 'none'})")
    rows = permit_store.list_permits(
        _engine(), district=district, school_year=school_year, school=school,
        condition=condition, active_only=active,
    )
    data = [
        {"id": r.id, "request_id": r.request_id, "district": r.district, "process": r.process,
         "school_year": r.school_year, "grade": r.state.get("grade"), "school": r.school,
         "condition": r.condition, "stage": r.stage, "is_active": r.is_active}
        for r in rows
    ]

    def human() -> None:
        if not rows:
            _say("no permits")
            return
        print_rows(
            ("district", "year", "grade", "school", "condition", "stage", "id"),
            ((d["district"], d["school_year"],
              "" if d["grade"] is None else _grade(int(d["grade"])), d["school"] or "-",
              d["condition"], d["stage"], d["id"]) for d in data),
        )

    _emit(as_json, data, human)


# ---- staff actions ----------------------------------------------------------------------


def _act(
    permit_id: str,
    actor: str,
    update: Any,
    make: Callable[[Actor], BaseModel],
    as_json: bool,
    check: Callable[[PermitState], None] | None = None,
) -> None:
    """Send a staff action to the permit's workflow, after the checks the CLI can make: the
    permit exists and has not ended, ``check``, and the actor is the district's staff."""
    state, _ = _permit(permit_id)
    if not state.is_active:
        raise _ended(state)
    if check is not None:
        check(state)
    action = make(_actor(_config(state), actor))
    result: PermitState = _run(_update(state.id, update, action, result_type=PermitState))
    _emit(as_json, _state_json(result), lambda: _print_summary(result))


@permit_app.command("revoke")
@refusing
def revoke(
    permit_id: PermitArg,
    actor: ActorOption,
    reason: Annotated[
        list[str] | None,
        typer.Option("--reason", help=f"a reason of the seed (repeatable): {', '.join(REASONS)}"),
    ] = None,
    note: Annotated[str, typer.Option(help="a note for the record")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Rescind or revoke a permit, citing the seed's reasons (not appealable).

    A director or the superintendent's designee. Never, for an interdistrict permit, in
    grade 11 or 12 or after June 30 following grade 10 (EC 46600)."""
    reasons = _reasons(reason)
    _act(permit_id, actor, PermitWorkflow.revoke,
         lambda a: Revoke(actor=a, reasons=reasons, note=note), as_json)


@permit_app.command("renew")
@refusing
def renew(
    permit_id: PermitArg,
    school_year: Annotated[str, typer.Option(help="the school year renewed for (YYYY-YYYY)")],
    actor: ActorOption,
    as_json: JsonFlag = False,
) -> None:
    """Renew a permit that is renewed each school year, for the next one."""
    year = _school_year(school_year)
    _act(permit_id, actor, PermitWorkflow.renew,
         lambda a: Renew(actor=a, school_year=year), as_json)


@permit_app.command("moved")
@refusing
def moved(
    permit_id: PermitArg,
    actor: ActorOption,
    new_district: Annotated[
        str | None,
        typer.Option(help="the new district of residence (omit for a move inside the district)"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record that the family moved.

    To a new district of residence: the permit ends (that district must grant its own). Inside
    the district: an interdistrict permit holds; a within-district one ends with the school
    year (IV.B)."""
    if new_district is not None and not new_district.strip():
        raise Refused("--new-district: name the new district of residence, or leave it out "
                      "for a move inside the district")
    where = new_district.strip() if new_district else None
    _act(permit_id, actor, PermitWorkflow.moved,
         lambda a: Moved(actor=a, new_district=where), as_json)


@permit_app.command("transfer")
@refusing
def transfer(
    permit_id: PermitArg,
    school: Annotated[str, typer.Option(help="the other school of the district of enrollment")],
    actor: ActorOption,
    as_json: JsonFlag = False,
) -> None:
    """Record that the student transfers to another school: the permit ends.

    The other school of the district of enrollment needs a new request (seed 000)."""
    name = school.strip()
    if not name:
        raise Refused("--school: name the school the student transfers to")

    def check(state: PermitState) -> None:
        if name in {state.school, state.school_name}:
            raise Refused(f"the student already attends {name} under permit {state.id}")

    _act(permit_id, actor, PermitWorkflow.transfer,
         lambda a: TransferElsewhere(actor=a, school=name), as_json, check)


@permit_app.command("leave-program")
@refusing
def leave_program(permit_id: PermitArg, actor: ActorOption, as_json: JsonFlag = False) -> None:
    """Record that the student left the special program of the transfer (IV.A).

    Within-district permits only: the permit is revoked and the student returns to the home
    school."""

    def check(state: PermitState) -> None:
        if state.process is not PermitProcess.within_district:
            raise Refused(f"permit {state.id} is an interdistrict permit: IV.A applies to a "
                          "within-district transfer for a special program")
        if state.program == "regular":
            raise Refused(f"permit {state.id} is for the regular program: IV.A applies to a "
                          "within-district transfer for a special program")

    _act(permit_id, actor, PermitWorkflow.leave_program, lambda a: Revoke(actor=a), as_json,
         check)


@permit_app.command("appeal")
@refusing
def appeal(permit_id: PermitArg, actor: ActorOption, as_json: JsonFlag = False) -> None:
    """An appeal of a rescinded or revoked permit: always refused (seed 000)."""
    state, _ = _permit(permit_id)
    staff = _actor(_config(state), actor)
    if state.stage is PermitStage.revoked:
        raise Refused(f"{APPEAL_REFUSED}: permit {state.id} was revoked"
                      + (f" on {state.ended_on.isoformat()}" if state.ended_on else ""))
    if not state.is_active:
        raise Refused(f"{APPEAL_REFUSED}; permit {state.id} has ended ({state.stage.value})")
    _run(_update(state.id, PermitWorkflow.appeal_revocation, AppealRevocation(actor=staff),
                 result_type=type(None)))
    raise Refused(APPEAL_REFUSED)  # the workflow always refuses; never reached
