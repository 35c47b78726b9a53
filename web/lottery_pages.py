"""The within-district lottery of a district and school year in the console (docs/lottery.md):
its seats, its applications by tier, the sealed seed's commitment before the draw, a practice
draw, certification by a second staff member (not one who set the seats), more seats, and after
the draw its results, waitlists and offers and their verification. Each action is confirmed
first and each refusal shown with its reason; only districts on the person's roster that take
within-district requests are shown, another is "not found"."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import lottery
from app.errors import REFUSALS
from app.principal import Principal
from models.lottery_record import LotteryRecord, LotteryStage
from models.within_district import Outcome, Program, SeatKey
from web.labels import N_
from web.pages import render
from web.security import CheckedForm, SignedIn

router = APIRouter()

STAGES = {
    "collecting": N_("Collecting applications"),
    "preview": N_("Drawn, awaiting certification"),
    "certified": N_("Certified"),
    "closed": N_("Closed"),
}
ACTIONS = {lottery.CERTIFY: N_("Certify the draw"), lottery.ADD_SEATS: N_("Add seats")}
# XI's programs by name.
PROGRAMS = {"regular": N_("Regular"), "core": N_("Core Program"),
            "montessori": N_("Montessori Program"),
            "ib": N_("International Baccalaureate Programme")}
OUTCOMES = {"placed": N_("Placed"), "waitlisted": N_("Waitlisted"), "denied": N_("Denied")}


def _district_and_year(principal: Principal, district: str, year: str
                       ) -> tuple[list[str], str, list[str], str]:
    """The person's lottery districts, the one asked for (the first by default; another is
    not found), its school years and the one asked for (the coming one by default)."""
    mine = lottery.lottery_districts(principal)
    if not mine:
        raise HTTPException(404, "no district on your roster holds a within-district lottery")
    chosen = district or mine[0]
    if chosen not in mine:
        raise HTTPException(404, f"no lottery of district {chosen!r}")
    years, coming = lottery.lottery_years(chosen)
    chosen_year = year or coming
    if chosen_year not in years:
        raise HTTPException(404, f"no school year {chosen_year!r} in {chosen}'s calendar")
    return mine, chosen, years, chosen_year


def _outcomes(record: LotteryRecord | None) -> list[tuple[SeatKey, dict[str, int]]]:
    """Per seat key, how many applications the result placed, waitlisted and denied."""
    if record is None or record.result is None:
        return []
    counted: dict[SeatKey, Counter[str]] = {}
    for entry in record.result.entries:
        counted.setdefault(entry.seat_key, Counter())[entry.outcome.value] += 1
    return [(key, {o.value: counted[key][o.value] for o in Outcome})
            for key in sorted(counted, key=SeatKey.sort_key)]


def _waitlists(record: LotteryRecord | None) -> list[tuple[SeatKey, list[str]]]:
    """Each key's line in order: the ledger's once the result is released, else the drawn
    order of the preview."""
    if record is None or record.result is None:
        return []
    if record.waitlists:
        lines = [(line.key, line.application_ids) for line in record.waitlists]
    else:
        keys = {entry.seat_key for entry in record.result.entries}
        lines = [(key, [e.application_id for e in record.result.waitlist(key)]) for key in keys]
    return sorted([line for line in lines if line[1]], key=lambda line: line[0].sort_key())


async def _read(district: str, year: str) -> tuple[LotteryRecord | None, str]:
    """The lottery's record, or why there is none to show (no lottery started yet)."""
    try:
        return await lottery.record(district, year), ""
    except REFUSALS as refusal:
        return None, str(refusal)


async def _page(request: Request, principal: Principal, district: str, year: str,
                status: int = 200, practice: LotteryRecord | None = None,
                **values: Any) -> Response:
    mine, district, years, year = _district_and_year(principal, district, year)
    record, missing = await _read(district, year)
    drawn = record is not None and record.stage is not LotteryStage.collecting
    return render(
        request, "lottery.html", status, districts=mine, district=district, years=years,
        year=year, record=record, missing=missing, drawn=drawn, practice=practice,
        timezone=lottery.timezone_of(district), schools=lottery.school_names(district),
        in_person_closes=lottery.in_person_close(district, year, record.window_closes)
        if record else None,
        stages=STAGES, outcome_labels=OUTCOMES, action_labels=ACTIONS, programs=PROGRAMS,
        actions=lottery.lottery_actions(principal, record) if record else [],
        tiers=lottery.tier_counts(record) if record else [],
        outcomes=_outcomes(record), practice_outcomes=_outcomes(practice),
        waiting={line.key: line.application_ids for line in record.waitlists} if record else {},
        seats=sorted(record.seats, key=lambda s: s.key.sort_key()) if record else [],
        seats_left={s.key: s.seats for s in record.seats_left} if record else {},
        lines=_waitlists(record),
        **values)


@router.get("/lottery", name="lottery")
async def lottery_page(request: Request, principal: SignedIn, district: str = "",
                       year: str = "", done: str = "") -> Response:
    return await _page(request, principal, district, year,
                       done=done if done in ACTIONS else "")


@router.get("/lottery/practice", name="lottery_practice")
async def practice_page(request: Request, principal: SignedIn, district: str = "",
                        year: str = "") -> Response:
    """A practice draw over the applications so far; it changes nothing (a query)."""
    _, district, _, year = _district_and_year(principal, district, year)
    try:
        practice = await lottery.rehearse(district, year)
    except REFUSALS as refusal:
        return await _page(request, principal, district, year, 409,
                           refusal=str(refusal), refused_what=N_("Practice draw"))
    return await _page(request, principal, district, year, practice=practice)


@router.get("/lottery/verify", name="lottery_verify")
async def verify_page(request: Request, principal: SignedIn, district: str = "",
                      year: str = "") -> Response:
    """The drawn record re-run and compared (it changes nothing)."""
    _, district, _, year = _district_and_year(principal, district, year)
    try:
        verification = lottery.verify(lottery.drawn_record(district, year))
    except REFUSALS as refusal:
        return await _page(request, principal, district, year, 409,
                           refusal=str(refusal), refused_what=N_("Verify the draw"))
    return await _page(request, principal, district, year,
                       differences=verification.differences, verified=True)


@router.post("/lottery/actions/{action}", name="lottery_act")
async def lottery_act(request: Request, action: str, form: CheckedForm,
                      principal: SignedIn) -> Response:
    # The district and year come with the form; only the person's own are found.
    _, district, _, year = _district_and_year(principal, str(form.get("district") or ""),
                                              str(form.get("year") or ""))
    record, missing = await _read(district, year)
    if record is None:
        raise HTTPException(404, missing)
    try:
        lottery.check_lottery_action(principal, record, action)
    except REFUSALS as refusal:
        raise HTTPException(403, str(refusal)) from None
    fields = {name: str(form.get(name) or "") for name in
              ("school", "program", "grade", "seats", "all_paper_entered")}
    key: SeatKey | None = None
    seats = 0
    if action == lottery.ADD_SEATS:
        try:
            key = SeatKey(school=fields["school"], program=Program(fields["program"]),
                          grade=int(fields["grade"]))
            seats = int(fields["seats"])
        except ValueError:
            raise HTTPException(400, "a school, a program, a grade (0 to 12) and a number of "
                                     "seats (1 to 1000) are needed") from None
        if not 1 <= seats <= 1000:
            raise HTTPException(400, "the number of seats is from 1 to 1000")
    if form.get("confirm") != "yes":
        return render(request, "lottery_confirm.html", district=district, year=year,
                      action=action, action_labels=ACTIONS, fields=fields, key=key,
                      programs=PROGRAMS,
                      schools=lottery.school_names(district), record=record)
    try:
        if action == lottery.CERTIFY:
            await lottery.certify(district, year, principal,
                                  all_paper_entered=fields["all_paper_entered"] == "yes")
        else:
            assert key is not None
            await lottery.add_seats(district, year, key, seats, principal)
    except REFUSALS as refusal:
        return await _page(request, principal, district, year, 409, refusal=str(refusal),
                           refused_what=ACTIONS[action])
    return RedirectResponse(f"/lottery?district={district}&year={year}&done={action}",
                            status_code=303)
