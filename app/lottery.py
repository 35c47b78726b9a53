"""The within-district lottery of a district and school year (Rule 5110.1 VIII.B): its
record (seed, applications, seats, result, ledger), verifying a draw from its record, a
practice draw that changes nothing, certification, more seats, and a parent's answer to the
offer of a freed seat. The lottery's workflow checks each action and has the last word."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import ValidationError

from app import context
from app.errors import Refused
from app.principal import Principal
from app.within import within
from intake.forms import read_text
from models.lottery_record import (
    AddSeats,
    LotteryRecord,
    LotteryStage,
    Offer,
    OfferAnswer,
    SeatCount,
)
from models.within_district import SeatKey
from rules.calendar import local_date
from rules.lottery_audit import verify as verify_draw
from rules.roles import ACTION_ROLES
from store import lotteries

# Temporal's SDK and the workflows are imported in the functions that send or ask: `show` and
# `list` start without them (docs/cross-cutting.md "Settings").

# A district-wide lottery's record is a few megabytes; a file far larger is not one.
MAX_RECORD_BYTES = 256 * 1024 * 1024


async def record(district: str, school_year: str) -> LotteryRecord:
    """The record the workflow keeps in the store (from the draw on), else its ``result``."""
    from app.temporal import query
    from workflows.lottery import LotteryWorkflow, lottery_id

    lottery = lottery_id(district, school_year)
    stored = lotteries.get_lottery(context.engine(), lottery)
    if stored is not None:
        return stored
    result: LotteryRecord = await query(lottery, LotteryWorkflow.result,
                                        result_type=LotteryRecord)
    return result


async def rehearse(district: str, school_year: str) -> LotteryRecord:
    """A practice draw over the applications so far, with the lottery's seed; it changes
    nothing and no one is told."""
    from app.temporal import query
    from workflows.lottery import LotteryWorkflow, lottery_id

    practice: LotteryRecord = await query(lottery_id(district, school_year),
                                          LotteryWorkflow.rehearse, result_type=LotteryRecord)
    return practice


def read_record(path: Path) -> LotteryRecord:
    """A LotteryRecord from a JSON file (`lottery show --json`)."""
    text = read_text(path, "lottery record", MAX_RECORD_BYTES)
    try:
        return LotteryRecord.model_validate_json(text)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
            for e in error.errors()[:5]
        )
        raise Refused(f"{path.name} is not a lottery record: {problems}") from None


def drawn_record(district: str, school_year: str) -> LotteryRecord:
    """The drawn record of the records store."""
    from workflows.lottery import lottery_id

    lottery = lottery_id(district, school_year)
    found = lotteries.get_lottery(context.engine(), lottery)
    if found is None or found.result is None:
        raise Refused(
            f"no drawn record of {lottery} in the records store "
            "(the draw has not run yet, or there is no such lottery)"
        )
    return found


@dataclass
class Verification:
    record: LotteryRecord
    differences: list[str]


def verify(record: LotteryRecord) -> Verification:
    """Re-run the draw from the record; every difference from the recorded result."""
    return Verification(record, verify_draw(record))


async def certify(
    district: str, school_year: str, principal: Principal, all_paper_entered: bool = False
) -> LotteryRecord:
    """Certify the drawn preview; it releases the result to every parent. The two-person
    rule (VIII.B: not one who set the seats) is the workflow's; so is the wait for paper
    forms received before the close, unless the certifier says every one is entered
    (``all_paper_entered``: docs/lottery.md "Paper forms after the close")."""
    from app.temporal import update
    from workflows.lottery import LotteryWorkflow, lottery_id

    staff = context.staff(context.within_district(district), principal)
    if all_paper_entered:
        await update(lottery_id(district, school_year), LotteryWorkflow.close_paper, staff,
                     result_type=LotteryRecord)
    certified: LotteryRecord = await update(
        lottery_id(district, school_year), LotteryWorkflow.certify, staff,
        result_type=LotteryRecord,
    )
    return certified


async def add_seats(
    district: str, school_year: str, key: SeatKey, seats: int, principal: Principal
) -> list[SeatCount]:
    """More seats (VII); after certification the next in line are offered them."""
    from app.temporal import update
    from workflows.lottery import LotteryWorkflow, lottery_id

    staff = context.staff(context.within_district(district), principal)
    action = AddSeats(key=key, seats=seats, actor=staff)
    left: list[SeatCount] = await update(lottery_id(district, school_year),
                                         LotteryWorkflow.add_seats, action,
                                         result_type=list[SeatCount])
    return left


async def answer_offer(request_id: str, principal: Principal, accept: bool) -> Offer:
    """The parent's answer to the seat offered (by the offer's last day)."""
    from app.temporal import update
    from workflows.lottery import LotteryWorkflow

    state = within(request_id)
    if state.lottery_id is None:
        raise Refused(f"request {request_id} is a {state.kind.value} request: it was in no "
                      "lottery and gets no offers")
    staff = context.staff(context.within_district(state.request.district), principal)
    answer = OfferAnswer(application_id=state.id, actor=staff)
    update_ = LotteryWorkflow.accept_offer if accept else LotteryWorkflow.decline_offer
    offer: Offer = await update(state.lottery_id, update_, answer, result_type=Offer)
    return offer


@dataclass(frozen=True)
class PublicEntry:
    """One application's line of a released result: no student id, no name."""

    application_id: str
    school: str
    program: str
    grade: int
    tier: str | None
    overcrowding_relief: bool
    random_number: int | None
    outcome: str
    waitlist_position: int | None


@dataclass(frozen=True)
class PublicSeat:
    school: str  # the school's name
    program: str
    grade: int
    seats: int


@dataclass(frozen=True)
class PublicLottery:
    """What anyone is shown of a lottery (docs/portal.md "The lottery page"): until the draw
    is certified, its commitment only; then the seed, the result by application and the
    re-run's differences (empty: the draw holds up)."""

    id: str
    district_id: str
    school_year: str
    stage: str
    seed_commitment: str
    window_closes: datetime
    applications: int
    seats: tuple[PublicSeat, ...]
    released: bool
    seed: str | None = None
    drawn_at: datetime | None = None
    certified_at: datetime | None = None
    entries: tuple[PublicEntry, ...] = ()
    differences: tuple[str, ...] = ()
    in_person_closes: datetime | None = None  # earlier than window_closes, else None


# The result is released at certification (docs/lottery.md "Results released"); a preview is
# staff's, so it shows no more than a lottery still collecting.
RELEASED = frozenset({LotteryStage.certified, LotteryStage.closed})


async def public(district: str, school_year: str) -> PublicLottery:
    """The lottery as the public sees it; the seed and numbers only once it is certified."""
    names = {s.id: s.name for s in context.within_district(district).schools}
    found = await record(district, school_year)
    released = found.stage in RELEASED and found.result is not None
    shown = found.published() if released else found.published().model_copy(
        update={"seed": "", "result": None,
                "applicants": [a.model_copy(update={"random_number": None})
                               for a in found.applicants]})
    view = PublicLottery(
        id=shown.id, district_id=shown.district_id, school_year=shown.school_year,
        stage=shown.stage.value, seed_commitment=shown.seed_commitment,
        window_closes=shown.window_closes, applications=len(shown.applicants),
        seats=tuple(PublicSeat(school=names.get(s.key.school, s.key.school),
                               program=s.key.program.value, grade=s.key.grade, seats=s.seats)
                    for s in sorted(shown.seats, key=lambda s: s.key.sort_key())),
        released=released,
        in_person_closes=in_person_close(district, school_year, shown.window_closes),
    )
    if not released or shown.result is None:
        return view
    entries = tuple(
        PublicEntry(application_id=e.application_id,
                    school=names.get(e.seat_key.school, e.seat_key.school),
                    program=e.seat_key.program.value, grade=e.seat_key.grade, tier=e.tier,
                    overcrowding_relief=e.overcrowding_relief, random_number=e.random_number,
                    outcome=e.outcome.value, waitlist_position=e.waitlist_position)
        for e in shown.result.entries
    )
    return replace(view, seed=shown.seed, drawn_at=shown.drawn_at,
                   certified_at=shown.certified_at, entries=entries,
                   differences=_checked(shown))


# A public page must not re-run a district-wide draw (seconds) on every view: the re-run's
# differences are kept per digest of what the re-run reads, so a record changed in any of it
# (tampered with, say) is checked again; hashing costs a fraction of the re-run.
_CHECKED: dict[str, tuple[str, ...]] = {}
_CHECKED_MAX = 64
_VERIFIED_PARTS = {"id", "seed", "seed_commitment", "applicants", "seats", "overcrowded_schools",
                   "result", "history"}


def _checked(released: LotteryRecord) -> tuple[str, ...]:
    key = hashlib.sha256(released.model_dump_json(include=_VERIFIED_PARTS).encode()).hexdigest()
    if key not in _CHECKED:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = tuple(verify(released).differences)
    return _CHECKED[key]


# ---- what a front shows (the staff console's lottery page) ------------------------------

CERTIFY, ADD_SEATS = "lottery.certify", "lottery.add_seats"


def lottery_districts(principal: Principal) -> list[str]:
    """The districts whose roster has the principal and that take within-district requests
    (so hold a lottery), by id."""
    from app.permissions import roles_by_district

    found = []
    for district in sorted(roles_by_district(principal)):
        try:
            context.within_district(district)
        except Refused:  # an interdistrict-only district has no lottery
            continue
        found.append(district)
    return found


def lottery_years(district: str, today: date | None = None) -> tuple[list[str], str]:
    """The school years of the district's calendar, newest first, and the one a page opens
    on: the next to begin (its lottery is the one under way), else the newest."""
    config = context.within_district(district)
    today = today or local_date(datetime.now(UTC), config.timezone)
    years = sorted(config.calendar, reverse=True)
    coming = sorted(y for y in years if config.calendar[y].first_day > today)
    return years, (coming or years)[0]


def school_names(district: str) -> dict[str, str]:
    """Each school's name by its id, for showing seat keys."""
    return {school.id: school.name for school in context.within_district(district).schools}


def in_person_close(district: str, school_year: str, closes: datetime) -> datetime | None:
    """When forms delivered in person stop being taken for the lottery whose applications
    close at ``closes`` (VIII.A.2: 5:00 p.m. on February 15, online through the end of the
    day); None when that is not earlier, as for a lottery that opened with one close."""
    from rules.within_windows import district_next_year_window

    config = context.within_district(district)
    window = district_next_year_window(config.within_district, school_year, config.timezone)
    found = window.in_person_closes
    return found if found is not None and found < closes else None


def timezone_of(district: str) -> str:
    """The district's time zone: a record's instants carry an offset, not the zone's name."""
    return context.within_district(district).timezone


def tier_counts(record: LotteryRecord) -> list[tuple[str, int]]:
    """How many applications are in the draw in each VIII.C tier, highest tier first; ""
    for those refused before ranking."""
    counted = Counter(entry.tier or "" for entry in record.applicants)
    return sorted(counted.items(), key=lambda item: (item[0] == "", item[0]))


def setters(record: LotteryRecord) -> list[str]:
    """Who set the seats (the district file's seat setters and whoever added some): none of
    them may certify (docs/lottery.md "Certification")."""
    return [name for name in record.seats_set_by.split(", ") if name]


def lottery_actions(principal: Principal, record: LotteryRecord) -> list[str]:
    """What the principal may do to the lottery now (rules/roles.py's keys): certify the
    drawn preview (a certifier who did not set the seats), add seats before the draw or after
    certification (a seat setter). The workflow checks each again and has the last word."""
    config = context.within_district(record.district_id)
    member = next((m for m in config.staff
                   if principal.email and m.email.lower() == principal.email.lower()), None)
    if member is None:
        return []
    roles = set(member.roles)
    found = []
    if (record.stage is LotteryStage.preview and not record.certified
            and ACTION_ROLES[CERTIFY].roles & roles and member.name not in setters(record)):
        found.append(CERTIFY)
    if (record.stage in (LotteryStage.collecting, LotteryStage.certified)
            and ACTION_ROLES[ADD_SEATS].roles & roles):
        found.append(ADD_SEATS)
    return found


def check_lottery_action(principal: Principal, record: LotteryRecord, action: str) -> None:
    """Refuse an action on the lottery the principal may not take now, saying why."""
    if action in lottery_actions(principal, record):
        return
    authority = ACTION_ROLES.get(action)
    if authority is None:
        raise Refused(f"no lottery action {action!r}")
    config = context.within_district(record.district_id)
    member = next((m for m in config.staff
                   if principal.email and m.email.lower() == principal.email.lower()), None)
    name = member.name if member else principal.name
    # The two-person rule first, as the workflow says it (docs/lottery.md "Certification").
    if action == CERTIFY and name in setters(record):
        raise Refused(f"{name} set the seats and may not also certify the draw: a second "
                      "staff member must")
    if member is None or not authority.roles & set(member.roles):
        raise Refused(f"{name} may not {authority.what}: needs "
                      f"{' or '.join(sorted(authority.roles))}")
    raise Refused(f"{record.id} is {record.stage.value}: that action is not open to it now")
