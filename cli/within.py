"""The within-district commands of `transfers` (seed 004, Millard Rule 5110.1): submitting
forms, recommendations (III), the designee's current-year decision (IX.B), withdrawal and
leaving a special program (IV.A), the lottery (VIII.B: show, verify, practice run, certify,
more seats) and offers of freed seats. `cli/main.py` registers them and dispatches ``submit``,
``decide``, ``withdraw`` and ``show`` here for within-district requests.

Every command takes ``--json``; a refusal exits 1 with the reason and changes nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# The lottery's modules (its draw, its audit) and Rich's tables are imported by the commands
# that use them: `transfers show` and `list` start without them (issue 17).
from app import within
from app.errors import Refused
from app.requests import with_history
from cli.common import (
    ActorOption,
    JsonFlag,
    emit,
    err,
    grade,
    out,
    principal,
    refusing,
    run,
    say,
)
from cli.permits import permit_json, print_permit
from cli.roster import roster_lines
from models.within_district import Program, SeatKey
from models.within_request import (
    CurrentYearFactors,
    RecommendationKind,
    WithinRequestState,
    WithinStage,
)

if TYPE_CHECKING:
    from models.lottery_record import LotteryRecord

lottery_app = typer.Typer(
    help="The within-district lottery of a district and school year (Rule 5110.1 VIII.B).",
    no_args_is_help=True,
)
offers_app = typer.Typer(
    help="A parent's answer to the offer of a freed seat.", no_args_is_help=True
)

DistrictArg = Annotated[str, typer.Argument(help="district id, e.g. millard")]
YearArg = Annotated[str, typer.Argument(help="school year, e.g. 2027-2028")]


# ---- output ---------------------------------------------------------------------------


def _key(key: SeatKey) -> str:
    """Short: school / program / grade."""
    return f"{key.school} / {key.program.value} / {grade(key.grade)}"


# ---- a request --------------------------------------------------------------------------


def _state_json(state: WithinRequestState) -> dict[str, Any]:
    data = state.model_dump(mode="json")
    data["is_open"] = state.is_open
    data["pending_recommendations"] = [k.value for k in state.pending_recommendations()]
    return data


def _say(text: str) -> None:
    """A line of a request's state, wrapped at 80 columns."""
    from cli.reading import line

    line(text)


def _print_state(state: WithinRequestState, position: int | None = None,
                 live: bool = False) -> None:
    request = state.request
    _say(f"{state.id}: {state.stage.value} ({state.kind.value} request, {request.school_year})")
    key = request.seat_key
    _say(f"asks for: {key.describe()} (student {request.student.id})")
    for line in roster_lines(request.roster):
        _say(line)
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


def show_within(state: WithinRequestState, as_json: bool) -> None:
    state = with_history(state)  # type: ignore[assignment]
    place = run(within.waitlist_position(state))
    position, live = place.position, place.live
    data = _state_json(state)
    data["waitlist_position"] = position
    data["waitlist_position_source"] = "lottery" if live else "stored"
    from cli import reading  # the reading commands' output (names, deadlines, local times)

    data["deadlines"] = reading.deadlines_json(state)

    def human() -> None:
        _print_state(state, position, live)
        reading.print_people_and_deadlines(state)
        reading.print_history(state)

    emit(as_json, data, human)


def _done(result: WithinRequestState, as_json: bool) -> None:
    emit(as_json, _state_json(result), lambda: _print_state(result, result.waitlist_position))


def decide_within(
    state: WithinRequestState, actor: str, approve: bool, weighed: dict[str, str | None],
    as_json: bool,
) -> None:
    """IX.B: the designee decides a current-year request, writing down the four factors
    (``weighed`` by option: --weighed-reasons, -time-of-year, -capacity, -program)."""
    within.check_decidable(state)
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
    _done(run(within.decide(state.id, principal(actor), approve, factors)), as_json)


def withdraw_within(state: WithinRequestState, actor: str, note: str, as_json: bool) -> None:
    """Withdraw an open request (a placement is its permit's now: `transfers permit`)."""
    _done(run(within.withdraw(state.id, principal(actor), note)), as_json)


@refusing
def recommend(
    request_id: str,
    kind: Annotated[RecommendationKind, typer.Option(help="which recommendation (III)")],
    recommended: Annotated[
        bool, typer.Option("--for/--against", help="for or against the transfer")
    ],
    reasoning: Annotated[str, typer.Option(help="why (goes into the parent's notice)")],
    actor: ActorOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Give a recommendation a within-district request waits for (III).

    discipline (III.A) and english_learner (III.D): the superintendent's designee;
    special_education (III.C): the director of special education. Against denies it."""
    _done(run(within.recommend(request_id, principal(actor), kind, recommended, reasoning)),
          as_json)


@refusing
def leave_program(
    request_id: str,
    actor: ActorOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Record that a placed student left the special program (IV.A): the transfer ends.

    The placement's permit is revoked as of now (staff record it when the student leaves),
    the student is reassigned to the home school and the seat goes to the next in line (the
    same as `transfers permit leave-program`)."""
    result = run(within.leave_program(request_id, principal(actor)))
    emit(as_json, permit_json(result), lambda: print_permit(result))


# ---- the lottery ------------------------------------------------------------------------


def _print_record(record: LotteryRecord) -> None:
    from rich.table import Table

    zone = record.window_closes.tzinfo  # the district's

    def local(instant: datetime) -> str:
        return instant.astimezone(zone).isoformat(timespec="seconds")

    say(f"lottery {record.id}: {record.stage.value}")
    say(f"seed: {record.seed}" if record.seed else "seed: sealed until the draw")
    if record.seed_commitment:
        say(f"seed commitment (published at the opening): {record.seed_commitment}")
    say(f"applications close: {local(record.window_closes)}")
    if record.drawn_at:
        say(f"drawn: {local(record.drawn_at)}")
    if record.certified:
        at = local(record.certified_at) if record.certified_at else ""
        say(f"certified by {record.certified_by} at {at}; seats set by {record.seats_set_by}")
    else:
        say(f"not certified; seats set by {record.seats_set_by}")
    if record.overcrowded_schools:
        say("overcrowded schools (X.B): " + ", ".join(record.overcrowded_schools))

    seats = Table("seat key (school / program / grade)", "seats", title="seats (VII)")
    for s in sorted(record.seats, key=lambda s: s.key.sort_key()):
        seats.add_row(_key(s.key), str(s.seats))
    out.print(seats)

    inputs = Table("application", "student", "seat key", "tier", "random number",
                   title=f"applications ({len(record.applicants)})")
    for e in record.applicants:
        a = e.applicant
        inputs.add_row(a.application_id, a.student_id, _key(a.seat_key), e.tier or "-",
                       "sealed" if e.random_number is None else str(e.random_number))
    out.print(inputs)
    if record.withdrawn:
        say("withdrawn before the draw: "
             + ", ".join(e.applicant.application_id for e in record.withdrawn))

    if record.result is None:
        say("result: not drawn yet")
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
            say(f"reopened window (VIII.A.3): {len(record.reopened)} applications")


def _record_json(record: LotteryRecord) -> dict[str, Any]:
    return record.model_dump(mode="json")


@lottery_app.command("show")
@refusing
def lottery_show(district: DistrictArg, school_year: YearArg, as_json: JsonFlag = False) -> None:
    """The lottery's seed, applications, seats, result and ledger.

    From the records store after the draw; before it, from the lottery workflow."""
    from app import lottery

    record = run(lottery.record(district, school_year))
    emit(as_json, _record_json(record), lambda: _print_record(record))


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
    from app import lottery

    if file is not None:
        if district or school_year:
            raise Refused("give either DISTRICT SCHOOL_YEAR or --file, not both")
        record = lottery.read_record(file)
    elif district and school_year:
        record = lottery.drawn_record(district, school_year)
    else:
        raise Refused("give DISTRICT SCHOOL_YEAR, or --file PATH")
    problems = lottery.verify(record).differences
    data = {"id": record.id, "verified": not problems, "applications": len(record.applicants),
            "differences": problems}

    def human() -> None:
        if not problems:
            say(f"verified: {len(record.applicants)} applications, same result")
        for problem in problems:
            say(problem)

    emit(as_json, data, human)
    if problems:
        err.print(f"error: {record.id}: the record does not hold up ({len(problems)} "
                  "difference(s) from a re-run of the draw)", markup=False, highlight=False)
        raise typer.Exit(1)


@lottery_app.command("run")
@refusing
def lottery_run(district: DistrictArg, school_year: YearArg, as_json: JsonFlag = False) -> None:
    """A practice draw over the applications so far; it changes nothing.

    The lottery's seed is used; no one is told; the real draw runs when the window closes."""
    from app import lottery

    record = run(lottery.rehearse(district, school_year))
    banner = (
        f"PRACTICE RUN over the {len(record.applicants)} applications entered so far: nothing "
        "was changed and no one was told; the real draw runs when the window closes at "
        f"{record.window_closes.isoformat(timespec='seconds')}"
    )

    def human() -> None:
        say(banner)
        _print_record(record)
        say(banner)

    emit(as_json, {**_record_json(record), "practice": True, "note": banner}, human)


@lottery_app.command("certify")
@refusing
def lottery_certify(
    district: DistrictArg, school_year: YearArg, actor: ActorOption = "",
    all_paper_entered: Annotated[bool, typer.Option(
        "--all-paper-entered",
        help="every paper form received before the close is entered: certify before their "
             "entry period (paper_entry_days) ends")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Certify the drawn preview; it releases the result to every parent.

    Only a staff member with the lottery_certifier role who did not set the seats may; and
    only once paper forms received before the close can no longer come in, unless the
    certifier says every one is entered (--all-paper-entered)."""
    from app import lottery

    record = run(lottery.certify(district, school_year, principal(actor), all_paper_entered))
    data = {"id": record.id, "stage": record.stage.value, "certified_by": record.certified_by,
            "certified_at": record.certified_at.isoformat() if record.certified_at else None,
            "applications": len(record.applicants)}
    emit(as_json, data, lambda: say(
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
    actor: ActorOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Open more seats after certification (VII); the next in line are offered them."""
    from app import lottery

    key = SeatKey(school=school, program=program, grade=grade)
    left = run(lottery.add_seats(district, school_year, key, seats, principal(actor)))

    def human() -> None:
        say(f"{seats} more seat(s) in {key.describe()}")
        for s in left:
            say(f"  {_key(s.key)}: {s.seats} left")

    emit(as_json, [s.model_dump(mode="json") for s in left], human)


# ---- offers -----------------------------------------------------------------------------


def _answer(request_id: str, actor: str, accept: bool, as_json: bool) -> None:
    from app import lottery

    offer = run(lottery.answer_offer(request_id, principal(actor), accept))
    verb = "accepted" if accept else "declined"
    data = {"request_id": request_id, "answer": verb, **offer.model_dump(mode="json")}
    then = "the request is placed" if accept else "the seat passes to the next in line"
    emit(as_json, data, lambda: say(
        f"{verb}: {offer.key.describe()} for {request_id}; {then}"
    ))


@offers_app.command("accept")
@refusing
def offers_accept(request_id: str, actor: ActorOption = "", as_json: JsonFlag = False) -> None:
    """Record that the parent accepts the seat offered (by the offer's last day)."""
    _answer(request_id, actor, True, as_json)


@offers_app.command("decline")
@refusing
def offers_decline(request_id: str, actor: ActorOption = "", as_json: JsonFlag = False) -> None:
    """Record that the parent declines the seat offered; it passes to the next in line."""
    _answer(request_id, actor, False, as_json)
