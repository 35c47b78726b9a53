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
from typing import Annotated, Any

import typer

from app import permits
from app.errors import Refused
from cli.common import (
    ActorOption,
    JsonFlag,
    emit,
    grade,
    out,
    parse_date,
    principal,
    print_rows,
    refusing,
    run,
    say,
)
from models.permits import PermitCondition, PermitProcess, PermitState
from rules.revocation import RevocationReason

permit_app = typer.Typer(
    help="Permits of approved transfers, which live for years: show, list, revoke, renew, "
    "moves, transfers, leaving a special program (seed 000; Rule 5110.1 IV).",
    no_args_is_help=True,
)

PermitArg = Annotated[str, typer.Argument(help="the permit's id, PERMIT-<request id>")]
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


# ---- output -----------------------------------------------------------------------------


def permit_json(state: PermitState) -> dict[str, Any]:
    """The permit; of its holder, only the student's name and the parent's e-mail."""
    data = state.model_dump(mode="json")
    data["holder"] = {"student_name": state.holder.student_name,
                      "parent_email": state.holder.parent_email}
    data["is_active"] = state.is_active
    return data


def print_permit(state: PermitState) -> None:
    process = "within-district" if state.process is PermitProcess.within_district else (
        "interdistrict")
    say(f"{state.id}: {state.stage.value} ({process} permit of {state.district}, request "
         f"{state.request_id})")
    if state.condition is PermitCondition.reapply_annually:
        condition = "reapply annually"
    else:
        condition = f"until the level ends (after grade {grade(state.level_last_grade)})"
    say(f"condition: {condition}")
    say(f"school year: {state.school_year} (year {state.years} of the permit), grade "
         f"{grade(state.grade)}")
    school = state.school_name or state.school or "-"
    if state.school and state.school_name and state.school != state.school_name:
        school = f"{state.school_name} ({state.school})"
    if state.program != "regular":
        school += f", {state.program} program"
    say(f"school: {school}")
    say(f"holder: {state.holder.student_name} (parent: {state.holder.parent_email})")
    if state.renewed_for:
        say(f"renewed for: {state.renewed_for}")
    if state.agreement:
        say(f"agreement: with {state.agreement} (EC 46600(a))")
    if state.endorsed_on:
        say(f"endorsed: on {state.endorsed_on.isoformat()} by the district of enrollment "
            f"(recorded by {state.endorsed_by})")
    elif state.endorsement_due:
        say(f"endorsement: awaited from {state.school_name}, due "
            f"{state.endorsement_due.isoformat()} (EC 46600(a)(3))")
    if state.ended_on or not state.is_active:
        ended_on = state.ended_on.isoformat() if state.ended_on else "-"
        say(f"ended on: {ended_on}")
    if state.reason:
        say(f"reason: {state.reason}")


def _print_state(state: PermitState, source: str = "") -> None:
    from rich.table import Table  # here: `transfers show` and `list` start without it

    print_permit(state)
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
    from app.permit_codes import permit_code

    state, source = run(permits.get(permit_id))
    code = permit_code(state)  # what the other district types into the portal's /verify
    data = {**permit_json(state), "source": source, "verification_code": code}

    def printed() -> None:
        say(f"verification code: {code} (the portal's /verify page checks it)")
        _print_state(state, source)

    emit(as_json, data, printed)


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
    rows = permits.list_permits(district=district, school_year=school_year, school=school,
                                condition=condition, active_only=active)
    data = [
        {"id": r.id, "request_id": r.request_id, "district": r.district, "process": r.process,
         "school_year": r.school_year, "grade": r.state.get("grade"), "school": r.school,
         "condition": r.condition, "stage": r.stage, "is_active": r.is_active}
        for r in rows
    ]

    def human() -> None:
        if not rows:
            say("no permits")
            return
        print_rows(
            ("district", "year", "grade", "school", "condition", "stage", "id"),
            ((d["district"], d["school_year"],
              "" if d["grade"] is None else grade(int(d["grade"])), d["school"] or "-",
              d["condition"], d["stage"], d["id"]) for d in data),
        )

    emit(as_json, data, human)


# ---- staff actions ----------------------------------------------------------------------


def _done(result: PermitState, as_json: bool) -> None:
    emit(as_json, permit_json(result), lambda: print_permit(result))


@permit_app.command("revoke")
@refusing
def revoke(
    permit_id: PermitArg,
    actor: ActorOption = "",
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
    _done(run(permits.revoke(permit_id, principal(actor), reasons, note)), as_json)


@permit_app.command("renew")
@refusing
def renew(
    permit_id: PermitArg,
    school_year: Annotated[str, typer.Option(help="the school year renewed for (YYYY-YYYY)")],
    actor: ActorOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Renew a permit that is renewed each school year, for the next one."""
    year = _school_year(school_year)
    _done(run(permits.renew(permit_id, principal(actor), year)), as_json)


@permit_app.command("endorse")
@refusing
def endorse(
    permit_id: PermitArg,
    actor: ActorOption = "",
    on: Annotated[str | None, typer.Option(
        help="the day the district of enrollment endorsed it, YYYY-MM-DD (default today)")] = None,
    note: Annotated[str, typer.Option(help="a note for the record")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Record the district of enrollment's endorsement of a permit out of the district.

    The permit is valid on it (EC 46600(a)(3)); until then it is awaiting_endorsement."""
    day = parse_date(on, "--on") if on else None
    _done(run(permits.endorse(permit_id, principal(actor), day, note)), as_json)


@permit_app.command("moved")
@refusing
def moved(
    permit_id: PermitArg,
    actor: ActorOption = "",
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
    _done(run(permits.moved(permit_id, principal(actor), where)), as_json)


@permit_app.command("transfer")
@refusing
def transfer(
    permit_id: PermitArg,
    school: Annotated[str, typer.Option(help="the other school of the district of enrollment")],
    actor: ActorOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Record that the student transfers to another school: the permit ends.

    The other school of the district of enrollment needs a new request (seed 000)."""
    name = school.strip()
    if not name:
        raise Refused("--school: name the school the student transfers to")
    _done(run(permits.transfer(permit_id, principal(actor), name)), as_json)


@permit_app.command("leave-program")
@refusing
def leave_program(permit_id: PermitArg, actor: ActorOption = "", as_json: JsonFlag = False) -> None:
    """Record that the student left the special program of the transfer (IV.A).

    Within-district permits only: the permit is revoked and the student returns to the home
    school."""
    _done(run(permits.leave_program(permit_id, principal(actor))), as_json)


@permit_app.command("appeal")
@refusing
def appeal(permit_id: PermitArg, actor: ActorOption = "", as_json: JsonFlag = False) -> None:
    """An appeal of a rescinded or revoked permit: always refused (seed 000)."""
    run(permits.appeal(permit_id, principal(actor)))
