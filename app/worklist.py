"""The worklist (docs/cross-cutting.md "Worklist and search"): everything of a staff
member's district(s) that waits on someone, soonest first (a passed deadline is sooner
still): requests of both processes by their next deadline (the records store's read model,
`store.read_model`), permits whose renewal is due, and lotteries whose draw awaits
certification. Filters by stage, school, school year, process and "mine" (an action this
person's roles allow), and the count of each filter's values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from app import context
from app.errors import Refused
from app.principal import Principal
from app.staff_districts import StaffDistrict, district_config, staff_districts
from districts import UnknownDistrictError
from models.district import DistrictBase, DistrictConfig
from models.permits import PermitStage, PermitState
from models.state import RequestState
from models.within_district_config import WithinDistrictConfig
from models.within_request import WithinRequestState
from rules import calendar, within_windows
from rules.errors import PolicyError
from rules.permits import renewal_window
from rules.request_deadlines import DeadlineKind, WaitsOn, deadlines
from store.schema import LotteryRow, PermitRow, RequestRow

PROCESSES = ("interdistrict", "within", "permit", "lottery")
FACETS = ("stage", "school", "school_year", "process")
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Filters:
    stage: str | None = None
    school: str | None = None
    school_year: str | None = None
    process: str | None = None  # one of PROCESSES
    mine: bool = False


@dataclass(frozen=True)
class Item:
    """One thing waiting: a request, a permit (its renewal) or a lottery (its certification).
    ``due`` None: a wait with no date set (a recommendation, a current-year decision)."""

    what: str  # request | permit | lottery
    id: str
    district: str
    process: str
    stage: str
    school_year: str
    school: str | None
    student_name: str  # "" for a lottery
    kind: DeadlineKind
    due: date | None
    waits_on: WaitsOn
    action: str
    days_left: int | None
    mine: bool

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0


@dataclass
class Worklist:
    items: list[Item]
    total: int  # every item the filters match (``items`` may stop at the limit)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> n
    mine: int = 0  # how many of the matching items this person's roles may act on


def _check(filters: Filters, limit: int) -> None:
    if filters.process is not None and filters.process not in PROCESSES:
        raise Refused(f"unknown process {filters.process!r} (one of: {', '.join(PROCESSES)})")
    if not 1 <= limit <= MAX_LIMIT:
        raise Refused(f"limit {limit}: from 1 to {MAX_LIMIT}")
    for name in ("stage", "school", "school_year"):
        value = getattr(filters, name)
        if value is not None and (not value or len(value) > 200 or not value.isprintable()):
            raise Refused(f"{name} filter {value[:40]!r} is not a value it can have")


# ---- requests, from the read model -------------------------------------------------------


def _process_of(direction: str) -> str:
    return "within" if direction == "within" else "interdistrict"


def _request_conditions(
    districts: Sequence[StaffDistrict], filters: Filters
) -> list[ColumnElement[bool]]:
    """The WHERE of the open requests of ``districts`` that wait on something, filtered."""
    where: list[ColumnElement[bool]] = [
        RequestRow.district.in_([d.config.id for d in districts]),
        RequestRow.is_open.is_(True),
        RequestRow.next_kind.is_not(None),
    ]
    if filters.stage is not None:
        where.append(RequestRow.stage == filters.stage)
    if filters.school is not None:
        where.append(RequestRow.school == filters.school)
    if filters.school_year is not None:
        where.append(RequestRow.school_year == filters.school_year)
    if filters.process == "within":
        where.append(RequestRow.direction == "within")
    elif filters.process == "interdistrict":
        where.append(RequestRow.direction != "within")
    elif filters.process is not None:  # permits and lotteries: no request is one
        where.append(false())
    if filters.mine:
        where.append(_mine_condition(districts))
    return where


def _mine_condition(districts: Sequence[StaffDistrict]) -> ColumnElement[bool]:
    return or_(*(and_(RequestRow.district == d.config.id,
                      RequestRow.next_action.in_(sorted(d.actions)))
                 for d in districts))


def _request_counts(
    session: Session, districts: Sequence[StaffDistrict], filters: Filters
) -> tuple[dict[str, dict[str, int]], int, int]:
    """Each facet's counts (under the other filters), the total and the "mine" count, of the
    requests: from one grouped query over the covering index, the filters applied to its
    groups here (a few hundred at most, where seven queries took 75 ms at 20,000 rows)."""
    no_filters = _request_conditions(districts, Filters())
    groups = session.execute(
        select(RequestRow.district, RequestRow.stage, RequestRow.school,
               RequestRow.school_year, RequestRow.direction, RequestRow.next_action,
               func.count())
        .where(*no_filters)
        # In the order of the counts' index (store/schema.py): no sort.
        .group_by(RequestRow.district, RequestRow.stage, RequestRow.school,
                  RequestRow.school_year, RequestRow.direction, RequestRow.next_action)
    ).all()
    actions = {d.config.id: d.actions for d in districts}
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
    total = mine = 0
    for district, stage, school, school_year, direction, action, n in groups:
        values = {"stage": stage, "school": school, "school_year": school_year,
                  "process": _process_of(direction)}
        is_mine = action in actions[district]
        misses = {facet for facet, value in values.items()
                  if getattr(filters, facet) is not None and getattr(filters, facet) != value}
        if filters.mine and not is_mine:
            misses.add("mine")
        for facet in FACETS:
            if not misses - {facet}:
                key = values[facet] or ""
                counts[facet][key] = counts[facet].get(key, 0) + n
        if not misses:
            total += n
        if is_mine and not misses - {"mine"}:
            mine += n
    return counts, total, mine


def _request_items(
    session: Session, districts: Sequence[StaffDistrict], filters: Filters, limit: int,
    now: datetime,
) -> list[Item]:
    rows = session.execute(
        select(RequestRow.id, RequestRow.district, RequestRow.direction, RequestRow.stage,
               RequestRow.school_year, RequestRow.school, RequestRow.student_name,
               RequestRow.next_due, RequestRow.next_kind, RequestRow.next_waits_on,
               RequestRow.next_action)
        .where(*_request_conditions(districts, filters))
        # NULLS LAST, not an ``is_(None)`` key: the index then gives the order, and both
        # databases read the first rows alone, where sorting all 20,000 took 10 ms on
        # PostgreSQL (an expression key is not in the index).
        .order_by(RequestRow.next_due.asc().nulls_last(), RequestRow.id)
        .limit(limit)
    ).all()
    by_id = {d.config.id: d for d in districts}
    todays = {d.config.id: calendar.local_date(now, d.config.timezone) for d in districts}
    items = []
    for r in rows:
        district, today = by_id[r.district], todays[r.district]
        items.append(Item(
            "request", r.id, r.district, _process_of(r.direction), r.stage, r.school_year,
            r.school, r.student_name, DeadlineKind(r.next_kind), r.next_due,
            WaitsOn(r.next_waits_on), r.next_action,
            None if r.next_due is None else (r.next_due - today).days,
            r.next_action in district.actions,
        ))
    return items


# ---- permits whose renewal is due, lotteries awaiting certification ----------------------


def _renewal_due(config: DistrictBase, permit: PermitState) -> date | None:
    """The renewal window's last day, from the district's settings as they are now (the
    permit's workflow keeps the ones it was issued with; a district rarely moves them)."""
    try:
        full = district_config(config.id, DistrictConfig)
        settings = full.interdistrict
        if settings is None:
            return None
        return renewal_window(
            permit.school_year, (settings.opens_month, settings.opens_day),
            (settings.renewal_deadline_month, settings.renewal_deadline_day),
        )[1]
    except (ValueError, UnknownDistrictError, PolicyError):
        return None


def _permit_items(
    session: Session, districts: Sequence[StaffDistrict], now: datetime
) -> list[Item]:
    items = []
    for district in districts:
        rows = session.execute(
            select(PermitRow.state).where(PermitRow.district == district.config.id,
                                          PermitRow.stage == PermitStage.renewal_due.value)
        ).scalars().all()
        for data in rows:
            permit = PermitState.model_validate(data)
            due = _renewal_due(district.config, permit)
            today = calendar.local_date(now, district.config.timezone)
            items.append(Item(
                "permit", permit.id, permit.district, "permit", permit.stage.value,
                permit.school_year, permit.school or None, permit.holder.student_name,
                DeadlineKind.renewal, due, WaitsOn.parent, "permit.act",
                None if due is None else (due - today).days,
                "permit.act" in district.actions,
            ))
    return items


def _certification_due(config: DistrictBase, school_year: str) -> date | None:
    """The notify-by day of the district's settings (VIII): the draw is certified by it."""
    try:
        full = district_config(config.id, WithinDistrictConfig)
        settings = full.within_district
        return within_windows.notify_by(school_year, settings.notify_by_month,
                                        settings.notify_by_day)
    except (ValueError, UnknownDistrictError, PolicyError):
        return None


def _lottery_items(
    session: Session, districts: Sequence[StaffDistrict], principal_name: set[str],
    now: datetime,
) -> list[Item]:
    # Here: the lottery's model is the worklist's only (`transfers show`, which reads a
    # request's deadlines from this module, starts without it).
    from models.lottery_record import LotteryRecord, LotteryStage

    items = []
    for district in districts:
        rows = session.execute(
            select(LotteryRow.record).where(LotteryRow.district == district.config.id,
                                            LotteryRow.stage == LotteryStage.preview.value)
        ).scalars().all()
        for data in rows:
            record = LotteryRecord.model_validate(data)
            due = _certification_due(district.config, record.school_year)
            today = calendar.local_date(now, district.config.timezone)
            # VIII.B: the one who set the seats may not certify (the workflow's rule).
            mine = ("lottery.certify" in district.actions
                    and record.seats_set_by not in principal_name)
            items.append(Item(
                "lottery", record.id, record.district_id, "lottery", record.stage.value,
                record.school_year, None, "", DeadlineKind.certification, due, WaitsOn.staff,
                "lottery.certify", None if due is None else (due - today).days, mine,
            ))
    return items


def _keep(item: Item, filters: Filters, leave_out: str = "") -> bool:
    checks = {"stage": item.stage, "school": item.school, "school_year": item.school_year,
              "process": item.process}
    for facet, value in checks.items():
        wanted = getattr(filters, facet)
        if facet != leave_out and wanted is not None and value != wanted:
            return False
    return not (filters.mine and leave_out != "mine" and not item.mine)


def _add(counts: dict[str, dict[str, int]], facet: str, value: str | None) -> None:
    key = value or ""
    counts.setdefault(facet, {})[key] = counts.get(facet, {}).get(key, 0) + 1


def _soonest(items: Iterable[Item]) -> list[Item]:
    return sorted(items, key=lambda i: (i.due is None, i.due or date.max, i.id))


# ---- the worklist ----------------------------------------------------------------------


def worklist(
    principal: Principal, filters: Filters | None = None, limit: int = DEFAULT_LIMIT,
    now: datetime | None = None,
) -> Worklist:
    """What waits in the principal's district(s), soonest first, at most ``limit`` items;
    ``now`` (default: now) gives each district's today, in its time zone."""
    filters = filters or Filters()
    _check(filters, limit)
    now = now or datetime.now(UTC)
    districts = staff_districts(principal)
    names = {principal.name, *(m.name for m in _members(principal, districts))}
    with Session(context.engine()) as session:
        counts, total, mine = _request_counts(session, districts, filters)
        items = _request_items(session, districts, filters, limit, now)
        others = _permit_items(session, districts, now) + _lottery_items(
            session, districts, names, now)
    for other in others:
        for facet in FACETS:
            if _keep(other, filters, leave_out=facet):
                _add(counts, facet, getattr(other, facet))
        if _keep(other, filters):
            total += 1
            items.append(other)
        if other.mine and _keep(other, filters, leave_out="mine"):
            mine += 1
    return Worklist(_soonest(items)[:limit], total, counts, mine)


def _members(principal: Principal, districts: Sequence[StaffDistrict]) -> list[Any]:
    """The principal's roster entries (their names there) in ``districts``."""
    found = []
    for district in districts:
        member = (next((s for s in district.config.staff
                        if s.email.lower() == principal.email.lower()), None)
                  if principal.email else district.config.staff_member(principal.name))
        if member is not None:
            found.append(member)
    return found


# ---- one request's deadlines -------------------------------------------------------------


@dataclass(frozen=True)
class DueNow:
    """A deadline as of today in its district: days left (0: the last day; negative:
    passed); None for a wait with no date."""

    kind: DeadlineKind
    due: date | None
    waits_on: WaitsOn
    days_left: int | None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "due": self.due.isoformat() if self.due else None,
                "waits_on": self.waits_on.value, "days_left": self.days_left}


def request_deadlines(
    state: RequestState | WithinRequestState, now: datetime | None = None
) -> list[DueNow]:
    """Every deadline the request waits on (`rules.request_deadlines`), with its days left
    in the request's time zone."""
    today = calendar.local_date(now or datetime.now(UTC), state.timezone)
    return [DueNow(d.kind, d.due, d.waits_on, d.days_left(today)) for d in deadlines(state)]
