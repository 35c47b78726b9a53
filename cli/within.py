"""The within-district commands of `transfers` (seed 004, Millard Rule 5110.1): submitting
forms, recommendations (III), the designee's current-year decision (IX.B), withdrawal and
leaving a special program (IV.A), the lottery (VIII.B: show, verify, practice run, certify,
more seats) and offers of freed seats. `starter.py` registers them and dispatches ``submit``,
``decide``, ``withdraw`` and ``show`` here for within-district requests.

Every command takes ``--json``; a refusal exits 1 with the reason and changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from cli.common import (
    ActorOption,
    JsonFlag,
    Prepared,
    Refused,
    _actor,
    _any_request,
    _client,
    _emit,
    _engine,
    _query,
    _run,
    _say,
    _settings,
    _update,
    err,
    out,
    refusing,
)
from districts import UnknownDistrictError, load_district, load_within_district
from intake.interdistrict import validate_form
from intake.within import prepare_within, start_within
from models.lottery_record import AddSeats, LotteryRecord, Offer, OfferAnswer, SeatCount
from models.people import Actor
from models.within_district import Program, SeatKey
from models.within_district_config import WithinDistrictConfig
from models.within_request import (
    CurrentYearFactors,
    DecideWithin,
    Recommend,
    RecommendationKind,
    WithdrawWithin,
    WithinKind,
    WithinRequest,
    WithinRequestState,
    WithinStage,
)
from rules.lottery_audit import verify
from rules.roles import ROLE_STUDENT_SERVICES
from store import lotteries, records
from workflows.lottery import LotteryWorkflow, lottery_id
from workflows.within_request import WithinRequestWorkflow

lottery_app = typer.Typer(
    help="The within-district lottery of a district and school year (Rule 5110.1 VIII.B).",
    no_args_is_help=True,
)
offers_app = typer.Typer(
    help="A parent's answer to the offer of a freed seat.", no_args_is_help=True
)

DistrictArg = Annotated[str, typer.Argument(help="district id, e.g. millard")]
YearArg = Annotated[str, typer.Argument(help="school year, e.g. 2027-2028")]
POSITION_TIMEOUT = 5.0  # seconds to ask the lottery for a live waitlist position


# ---- looking things up ------------------------------------------------------------------


def _within_district(district_id: str) -> WithinDistrictConfig:
    try:
        return load_within_district(district_id, _settings().districts_dir)
    except UnknownDistrictError as error:
        raise Refused(str(error).strip('"')) from None
    except ValueError as error:
        first = str(error).splitlines()[0]
        raise Refused(f"{district_id} does not take within-district requests ({first})") from None


def within_district_of(
    form: object, cache: dict[str, WithinDistrictConfig | None]
) -> WithinDistrictConfig | None:
    """The district of a within-district form, or None for an interdistrict one: a form
    without a ``direction`` whose district file describes a within-district district."""
    if not isinstance(form, dict) or "direction" in form:
        return None
    district_id = form.get("district")
    if not isinstance(district_id, str):
        return None
    if district_id not in cache:
        extra = _settings().districts_dir
        try:
            cache[district_id] = load_within_district(district_id, extra)
        except UnknownDistrictError as error:
            raise Refused(str(error).strip('"')) from None
        except ValueError as error:
            # Not a within-district file: an interdistrict one, or a broken within one.
            try:
                interdistrict = load_district(district_id, extra).interdistrict is not None
            except ValueError:
                interdistrict = False
            if not interdistrict:
                raise Refused(str(error)) from None
            cache[district_id] = None
    return cache[district_id]


def _staff(config: WithinDistrictConfig, name: str, role: str | None = None,
           what: str = "") -> Actor:
    actor = _actor(config, name)
    if role is not None and role not in actor.roles:
        have = ", ".join(actor.roles) or "no role"
        raise Refused(f"{actor.name} ({have}) may not {what}: needs {role}")
    return actor


def _within_request(request_id: str) -> WithinRequestState:
    state = _any_request(request_id)
    if not isinstance(state, WithinRequestState):
        raise Refused(f"request {request_id} is an interdistrict permit, not a within-district "
                      "request")
    return state


def _grade(grade: int) -> str:
    return "K" if grade == 0 else str(grade)


def _key(key: SeatKey) -> str:
    """Short: school / program / grade."""
    return f"{key.school} / {key.program.value} / {_grade(key.grade)}"


# ---- submitting -------------------------------------------------------------------------


def prepare_form(
    form: dict[str, Any], source: str, config: WithinDistrictConfig, actor: str
) -> Prepared:
    """Every intake check of a within-district form (`within_submission.prepare_within`,
    with ``now`` the moment it is submitted); nothing starts until ``start``."""
    request = validate_form(WithinRequest, form, source)
    staff = _staff(config, actor, ROLE_STUDENT_SERVICES, "submit a within-district request")
    student = (config.id, request.student.id, request.school_year)
    inp = prepare_within(request, config, datetime.now(UTC), _engine(), staff.name)
    task_queue = _settings().task_queue

    async def start(client: Any) -> object:
        return await start_within(client, inp, config, task_queue)

    data = {"id": inp.id, "stage": WithinStage.submitted.value, "kind": inp.kind.value,
            "lottery_id": inp.lottery_id}
    return Prepared(id=inp.id, data=data, start=start, student=student)


# ---- a request --------------------------------------------------------------------------


def _state_json(state: WithinRequestState) -> dict[str, Any]:
    data = state.model_dump(mode="json")
    data["is_open"] = state.is_open
    data["pending_recommendations"] = [k.value for k in state.pending_recommendations()]
    return data


def _print_state(state: WithinRequestState, position: int | None = None,
                 live: bool = False) -> None:
    request = state.request
    _say(f"{state.id}: {state.stage.value} ({state.kind.value} request, {request.school_year})")
    key = request.seat_key
    _say(f"asks for: {key.describe()} (student {request.student.id})")
    if state.stage is WithinStage.waitlisted:
        where = "now, from the lottery" if live else "as last recorded"
        _say(f"waitlist position: {position if position is not None else '-'} ({where})")
    if state.offer_deadline and state.stage is WithinStage.offered:
        _say(f"offer open through: {state.offer_deadline.isoformat()}")
    if state.assigned_school:
        program = state.assigned_program.value if state.assigned_program else ""
        _say(f"attends: {state.assigned_school} ({program})")
    for rec in state.recommendations:
        verdict = "for" if rec.recommended else "against"
        _say(f"recommendation {rec.kind.value}: {verdict}, by {rec.by}: {rec.reasoning}")
    pending = state.pending_recommendations()
    if pending and state.is_open:
        _say("awaiting recommendation: " + ", ".join(k.value for k in pending))
    if state.factors:
        f = state.factors
        _say(f"IX.B: reasons: {f.reasons}; time of year: {f.time_of_year}; capacity and "
             f"staffing: {f.capacity_and_staffing}; program: {f.educational_program}")
    if state.reason:
        _say(f"reason: {state.reason}")
    if state.lottery_id:
        _say(f"lottery: {state.lottery_id}")


async def _live_position(state: WithinRequestState) -> int | None:
    """The request's place in line now, from the lottery workflow."""
    assert state.lottery_id is not None
    client = await _client()
    handle = client.get_workflow_handle(state.lottery_id)
    return await handle.query(
        LotteryWorkflow.waitlist_position, state.id, result_type=int | None  # type: ignore[arg-type]
    )


def waitlist_position(state: WithinRequestState) -> tuple[int | None, bool]:
    """The current position when waitlisted (asked of the lottery; the stored one when the
    lottery cannot be reached) and whether it is live."""
    if state.stage is not WithinStage.waitlisted or state.lottery_id is None:
        return state.waitlist_position, False
    try:
        position = _run(asyncio.wait_for(_live_position(state), POSITION_TIMEOUT))
    except (Refused, RPCError, WorkflowQueryFailedError, TimeoutError, RuntimeError):
        return state.waitlist_position, False
    return position, True


def show_within(state: WithinRequestState, as_json: bool) -> None:
    history = records.get_history(_engine(), state.id)
    state = state.model_copy(update={"history": history})
    position, live = waitlist_position(state)
    data = _state_json(state)
    data["waitlist_position"] = position
    data["waitlist_position_source"] = "lottery" if live else "stored"

    def human() -> None:
        _print_state(state, position, live)
        table = Table("#", "at", "stage", "event", "actor", "reason")
        for h in history:
            table.add_row(str(h.seq), h.at.isoformat(timespec="seconds"), h.stage.value,
                          h.event, h.actor, h.reason)
        out.print(table)

    _emit(as_json, data, human)


def _act(state: WithinRequestState, update: Any, action: Any, as_json: bool) -> None:
    result = _run(_update(state.id, update, action, result_type=WithinRequestState))
    _emit(as_json, _state_json(result), lambda: _print_state(result, result.waitlist_position))


def decide_within(
    state: WithinRequestState, actor: str, approve: bool, weighed: dict[str, str | None],
    as_json: bool,
) -> None:
    """IX.B: the designee decides a current-year request, writing down the four factors
    (``weighed`` by option: --weighed-reasons, -time-of-year, -capacity, -program)."""
    if not state.is_open:
        raise Refused(f"request {state.id} is closed ({state.stage.value})")
    if state.kind is not WithinKind.current_year:
        raise Refused(
            f"request {state.id} is a {state.kind.value} request: the lottery decides it "
            "(VIII.B), not a staff member"
        )
    missing = [option for option, text in weighed.items() if not (text or "").strip()]
    if missing:
        raise Refused(
            "a current-year decision writes down the four IX.B factors; missing: "
            + ", ".join(missing)
        )
    factors = CurrentYearFactors(
        reasons=str(weighed["--weighed-reasons"]),
        time_of_year=str(weighed["--weighed-time-of-year"]),
        capacity_and_staffing=str(weighed["--weighed-capacity"]),
        educational_program=str(weighed["--weighed-program"]),
    )
    staff = _staff(_within_district(state.request.district), actor)
    _act(state, WithinRequestWorkflow.decide,
         DecideWithin(actor=staff, approve=approve, factors=factors), as_json)


def withdraw_within(state: WithinRequestState, actor: str, note: str, as_json: bool) -> None:
    """Withdraw an open request (a placement is its permit's now: `transfers permit`)."""
    if state.stage is WithinStage.placed:
        raise Refused(f"request {state.id} is placed: its permit {state.permit_id} holds the "
                      "transfer now (`transfers permit leave-program|transfer|moved`)")
    if not state.is_open:
        raise Refused(f"request {state.id} is {state.stage.value}: nothing to withdraw")
    staff = _staff(_within_district(state.request.district), actor)
    _act(state, WithinRequestWorkflow.withdraw, WithdrawWithin(actor=staff, reason=note),
         as_json)


@refusing
def recommend(
    request_id: str,
    kind: Annotated[RecommendationKind, typer.Option(help="which recommendation (III)")],
    recommended: Annotated[
        bool, typer.Option("--for/--against", help="for or against the transfer")
    ],
    reasoning: Annotated[str, typer.Option(help="why (goes into the parent's notice)")],
    actor: ActorOption,
    as_json: JsonFlag = False,
) -> None:
    """Give a recommendation a within-district request waits for (III).

    discipline (III.A) and english_learner (III.D): the superintendent's designee;
    special_education (III.C): the director of special education. Against denies it."""
    state = _within_request(request_id)
    if not state.is_open:
        raise Refused(f"request {request_id} is closed ({state.stage.value})")
    if not reasoning.strip():
        raise Refused("--reasoning: write down why")
    staff = _staff(_within_district(state.request.district), actor)
    action = Recommend(actor=staff, kind=kind, recommended=recommended, reasoning=reasoning)
    _act(state, WithinRequestWorkflow.recommend, action, as_json)


@refusing
def leave_program(
    request_id: str,
    actor: ActorOption,
    as_json: JsonFlag = False,
) -> None:
    """Record that a placed student left the special program (IV.A): the transfer ends.

    The placement's permit is revoked as of now (staff record it when the student leaves),
    the student is reassigned to the home school and the seat goes to the next in line (the
    same as `transfers permit leave-program`)."""
    from cli.permits import leave_program as permit_leave_program

    state = _within_request(request_id)
    if state.stage is not WithinStage.placed or state.permit_id is None:
        raise Refused(f"request {request_id} is {state.stage.value}, not a placement")
    permit_leave_program(state.permit_id, actor, as_json)


# ---- the lottery ------------------------------------------------------------------------


def _stored_or_live(lottery: str) -> LotteryRecord:
    """The record the workflow keeps in the store (from the draw on), else its ``result``."""
    record = lotteries.get_lottery(_engine(), lottery)
    if record is not None:
        return record
    return _run(_query(lottery, LotteryWorkflow.result, result_type=LotteryRecord))


def _print_record(record: LotteryRecord) -> None:
    zone = record.window_closes.tzinfo  # the district's

    def local(instant: datetime) -> str:
        return instant.astimezone(zone).isoformat(timespec="seconds")

    _say(f"lottery {record.id}: {record.stage.value}")
    _say(f"seed: {record.seed}")
    _say(f"applications close: {local(record.window_closes)}")
    if record.drawn_at:
        _say(f"drawn: {local(record.drawn_at)}")
    if record.certified:
        at = local(record.certified_at) if record.certified_at else ""
        _say(f"certified by {record.certified_by} at {at}; seats set by {record.seats_set_by}")
    else:
        _say(f"not certified; seats set by {record.seats_set_by}")
    if record.overcrowded_schools:
        _say("overcrowded schools (X.B): " + ", ".join(record.overcrowded_schools))

    seats = Table("seat key (school / program / grade)", "seats", title="seats (VII)")
    for s in sorted(record.seats, key=lambda s: s.key.sort_key()):
        seats.add_row(_key(s.key), str(s.seats))
    out.print(seats)

    inputs = Table("application", "student", "seat key", "tier", "random number",
                   title=f"applications ({len(record.applicants)})")
    for e in record.applicants:
        a = e.applicant
        inputs.add_row(a.application_id, a.student_id, _key(a.seat_key), e.tier or "-",
                       str(e.random_number))
    out.print(inputs)
    if record.withdrawn:
        _say("withdrawn before the draw: "
             + ", ".join(e.applicant.application_id for e in record.withdrawn))

    if record.result is None:
        _say("result: not drawn yet")
    else:
        result = Table("application", "seat key", "outcome", "tier", "random number",
                       "waitlist position", "reason", title=f"result ({record.result.method})")
        for r in record.result.entries:
            result.add_row(
                r.application_id, _key(r.seat_key), r.outcome.value, r.tier or "-",
                "" if r.random_number is None else str(r.random_number),
                "" if r.waitlist_position is None else str(r.waitlist_position), r.reason,
            )
        out.print(result)

    if record.seats_left or record.offers or record.waitlists:
        left = Table("seat key", "seats left", "waiting", title="ledger")
        waiting = {line.key: len(line.application_ids) for line in record.waitlists}
        for s in record.seats_left:
            left.add_row(_key(s.key), str(s.seats), str(waiting.get(s.key, 0)))
        out.print(left)
        offers = Table("application", "seat key", "offered", "last day",
                       title=f"open offers ({len(record.offers)})")
        for o in record.offers:
            offers.add_row(o.application_id, _key(o.key), local(o.offered_at),
                           o.last_day.isoformat())
        out.print(offers)
        if record.reopened:
            _say(f"reopened window (VIII.A.3): {len(record.reopened)} applications")


def _record_json(record: LotteryRecord) -> dict[str, Any]:
    return record.model_dump(mode="json")


@lottery_app.command("show")
@refusing
def lottery_show(district: DistrictArg, school_year: YearArg, as_json: JsonFlag = False) -> None:
    """The lottery's seed, applications, seats, result and ledger.

    From the records store after the draw; before it, from the lottery workflow."""
    record = _stored_or_live(lottery_id(district, school_year))
    _emit(as_json, _record_json(record), lambda: _print_record(record))


def _read_record(path: Path) -> LotteryRecord:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Refused(f"cannot read {path}: {error}") from None
    try:
        return LotteryRecord.model_validate_json(text)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
            for e in error.errors()[:5]
        )
        raise Refused(f"{path.name} is not a lottery record: {problems}") from None


@lottery_app.command("verify")
@refusing
def lottery_verify(
    district: Annotated[str | None, typer.Argument(help="district id")] = None,
    school_year: Annotated[str | None, typer.Argument(help="school year")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="verify this LotteryRecord JSON file instead")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-run the draw from the record and compare (exit 0: same result).

    The record is the records store's, or a LotteryRecord JSON file (`lottery show --json`).
    Every difference is printed and the exit status is 1."""
    if file is not None:
        if district or school_year:
            raise Refused("give either DISTRICT SCHOOL_YEAR or --file, not both")
        record = _read_record(file)
    elif district and school_year:
        found = lotteries.get_lottery(_engine(), lottery_id(district, school_year))
        if found is None or found.result is None:
            raise Refused(
                f"no drawn record of {lottery_id(district, school_year)} in the records store "
                "(the draw has not run yet, or there is no such lottery)"
            )
        record = found
    else:
        raise Refused("give DISTRICT SCHOOL_YEAR, or --file PATH")
    problems = verify(record)
    data = {"id": record.id, "verified": not problems, "applications": len(record.applicants),
            "differences": problems}

    def human() -> None:
        if not problems:
            _say(f"verified: {len(record.applicants)} applications, same result")
        for problem in problems:
            _say(problem)

    _emit(as_json, data, human)
    if problems:
        err.print(f"error: {record.id}: the record does not hold up ({len(problems)} "
                  "difference(s) from a re-run of the draw)", markup=False, highlight=False)
        raise typer.Exit(1)


@lottery_app.command("run")
@refusing
def lottery_run(district: DistrictArg, school_year: YearArg, as_json: JsonFlag = False) -> None:
    """A practice draw over the applications so far; it changes nothing.

    The lottery's seed is used; no one is told; the real draw runs when the window closes."""
    lottery = lottery_id(district, school_year)
    record = _run(_query(lottery, LotteryWorkflow.rehearse, result_type=LotteryRecord))
    banner = (
        f"PRACTICE RUN over the {len(record.applicants)} applications entered so far: nothing "
        "was changed and no one was told; the real draw runs when the window closes at "
        f"{record.window_closes.isoformat(timespec='seconds')}"
    )

    def human() -> None:
        _say(banner)
        _print_record(record)
        _say(banner)

    _emit(as_json, {**_record_json(record), "practice": True, "note": banner}, human)


@lottery_app.command("certify")
@refusing
def lottery_certify(
    district: DistrictArg, school_year: YearArg, actor: ActorOption, as_json: JsonFlag = False
) -> None:
    """Certify the drawn preview; it releases the result to every parent.

    Only a staff member with the lottery_certifier role who did not set the seats may."""
    staff = _staff(_within_district(district), actor)
    lottery = lottery_id(district, school_year)
    record = _run(_update(lottery, LotteryWorkflow.certify, staff, result_type=LotteryRecord))
    data = {"id": record.id, "stage": record.stage.value, "certified_by": record.certified_by,
            "certified_at": record.certified_at.isoformat() if record.certified_at else None,
            "applications": len(record.applicants)}
    _emit(as_json, data, lambda: _say(
        f"certified {record.id} by {record.certified_by}: {len(record.applicants)} "
        "applications; every parent is told the result"
    ))


@lottery_app.command("add-seats")
@refusing
def lottery_add_seats(
    district: DistrictArg,
    school_year: YearArg,
    school: Annotated[str, typer.Option(help="school id")],
    program: Annotated[Program, typer.Option(help="program")],
    grade: Annotated[int, typer.Option(min=0, max=12, help="grade (0 is kindergarten)")],
    seats: Annotated[int, typer.Option(min=1, max=1000, help="how many more seats")],
    actor: ActorOption,
    as_json: JsonFlag = False,
) -> None:
    """Open more seats after certification (VII); the next in line are offered them."""
    staff = _staff(_within_district(district), actor)
    action = AddSeats(key=SeatKey(school=school, program=program, grade=grade), seats=seats,
                      actor=staff)
    lottery = lottery_id(district, school_year)
    left = _run(_update(lottery, LotteryWorkflow.add_seats, action,
                        result_type=list[SeatCount]))

    def human() -> None:
        _say(f"{seats} more seat(s) in {action.key.describe()}")
        for s in left:
            _say(f"  {_key(s.key)}: {s.seats} left")

    _emit(as_json, [s.model_dump(mode="json") for s in left], human)


# ---- offers -----------------------------------------------------------------------------


def _answer(request_id: str, actor: str, accept: bool, as_json: bool) -> None:
    state = _within_request(request_id)
    if state.lottery_id is None:
        raise Refused(f"request {request_id} is a {state.kind.value} request: it was in no "
                      "lottery and gets no offers")
    staff = _staff(_within_district(state.request.district), actor)
    answer = OfferAnswer(application_id=state.id, actor=staff)
    update = LotteryWorkflow.accept_offer if accept else LotteryWorkflow.decline_offer
    offer: Offer = _run(_update(state.lottery_id, update, answer, result_type=Offer))
    verb = "accepted" if accept else "declined"
    data = {"request_id": state.id, "answer": verb, **offer.model_dump(mode="json")}
    then = "the request is placed" if accept else "the seat passes to the next in line"
    _emit(as_json, data, lambda: _say(
        f"{verb}: {offer.key.describe()} for {state.id}; {then}"
    ))


@offers_app.command("accept")
@refusing
def offers_accept(request_id: str, actor: ActorOption, as_json: JsonFlag = False) -> None:
    """Record that the parent accepts the seat offered (by the offer's last day)."""
    _answer(request_id, actor, True, as_json)


@offers_app.command("decline")
@refusing
def offers_decline(request_id: str, actor: ActorOption, as_json: JsonFlag = False) -> None:
    """Record that the parent declines the seat offered; it passes to the next in line."""
    _answer(request_id, actor, False, as_json)
