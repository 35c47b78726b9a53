"""The dashboard's figures for a district and a school year (docs/cross-cutting.md "Exports
and the dashboard"): requests by stage and by outcome, the seed's denial reasons, whether
decisions came by their due date, and the seats filled at each school. Plain data: the
console draws them (web/charts.py), a test checks them by hand. Counts only, no student's
data: any staff member of the district's roster may see them, and only their district's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from app import context
from app.exports import school_name, school_year_checked
from app.principal import Principal
from models.district import DistrictConfig
from models.requests import Direction
from models.stages import Stage
from models.within_request import WithinRequestState, WithinStage
from rules.calendar import local_date
from store import reports
from store.records import AnyState
from store.reports import Counted


@dataclass(frozen=True)
class Count:
    """One bar: what is counted (``key``, as the records hold it), how people read it, and
    how many."""

    key: str
    label: str
    value: int


@dataclass(frozen=True)
class Timeliness:
    """Interdistrict decisions against each request's due date (``decision_due``, the earlier
    of EC 46600.2's and the district's promise): written by that day, after it, none at all
    and deemed denied (EC 46600.1), and none yet though the day has passed (still open)."""

    on_time: int
    late: int
    deemed_denied: int
    overdue: int

    def counts(self) -> tuple[Count, ...]:
        return (Count("on_time", "On time", self.on_time), Count("late", "Late", self.late),
                Count("deemed_denied", "Deemed denied", self.deemed_denied),
                Count("overdue", "Overdue, undecided", self.overdue))


@dataclass(frozen=True)
class SchoolSeats:
    """A school of the district: the students placed there for the year, and the seats the
    lottery designated there (None when the year has no lottery, or none at this school)."""

    school: str
    name: str
    filled: int
    designated: int | None


@dataclass(frozen=True)
class Dashboard:
    district: str
    district_name: str
    school_year: str
    requests: int
    by_stage: tuple[Count, ...]
    by_outcome: tuple[Count, ...]
    denial_reasons: tuple[Count, ...]
    decisions: Timeliness
    seats: tuple[SchoolSeats, ...]


def dashboard(principal: Principal, district_id: str, school_year: str) -> Dashboard:
    """The figures of ``district_id``'s ``school_year``, for a member of its roster."""
    config = context.district(district_id)
    context.staff(config, principal)  # refused unless on this district's roster
    year = school_year_checked(school_year)
    engine = context.engine()
    requests = reports.counted_of(engine, config.id, year)
    stages = reports.stage_counts(engine, config.id, year)
    return Dashboard(
        district=config.id,
        district_name=config.name,
        school_year=year,
        requests=len(requests),
        by_stage=tuple(
            Count(f"{process}.{stage}",
                  f"{_process_label(process)}: {stage.replace('_', ' ')}", n)
            for (process, stage), n in sorted(stages.items(), key=_in_process_order)
        ),
        by_outcome=_ranked(Counter(reports.outcome(r) for r in requests), _words),
        denial_reasons=_ranked(
            Counter(reason for r in requests for reason in dict.fromkeys(r.denial_reasons)),
            _words,  # short enough for a bar; DENIAL_REASON_TEXT is the seed's whole wording
        ),
        decisions=timeliness(requests),
        seats=seats_by_school(config, engine, year),
    )


def timeliness(requests: list[Counted]) -> Timeliness:
    """Each interdistrict request given a due date, counted once: decided by it (its local
    date), decided after it (a written decision after a deemed denial is late), deemed denied
    and never decided, or open past it. Within-district requests are decided by the lottery
    and have no such date; they are not counted."""
    tally: Counter[str] = Counter()
    for request in requests:
        if request.decision_due is None:
            continue
        if request.decided_at is not None:
            on_time = local_date(request.decided_at, request.timezone) <= request.decision_due
            tally["on_time" if on_time else "late"] += 1
        elif request.deemed_denied:
            tally["deemed_denied"] += 1
        elif request.is_open and request.overdue:
            tally["overdue"] += 1
    return Timeliness(tally["on_time"], tally["late"], tally["deemed_denied"], tally["overdue"])


def seats_by_school(config: DistrictConfig, engine: Engine, school_year: str
                    ) -> tuple[SchoolSeats, ...]:
    """The year's placements in the district's own schools (approved into the district, or
    placed within it), by school, beside the seats the year's lottery designated there."""
    filled: Counter[str] = Counter()
    for placement in reports.placements(engine, config.id, school_year):
        state = placement.request
        if state.request.school_year != school_year or not _fills_a_seat(state):
            continue
        filled[state.assigned_school or ""] += 1
    designated: Counter[str] = Counter()
    for record in reports.lotteries_of(engine, config.id, school_year):
        for seat in record.seats:
            designated[seat.key.school] += seat.seats
    schools = (set(filled) | set(designated)) - {""}
    rows = [SchoolSeats(s, school_name(config, s), filled[s],
                        designated.get(s)) for s in schools]
    return tuple(sorted(rows, key=lambda row: (row.name, row.school)))


def _fills_a_seat(state: AnyState) -> bool:
    """A seat of this district's: not a student leaving for another district."""
    return isinstance(state, WithinRequestState) or state.request.direction is Direction.into


def _ranked(counter: Counter[str], label: Callable[[str], str]) -> tuple[Count, ...]:
    """Most first, then by key: the order a bar chart reads best in."""
    return tuple(Count(key, label(key), n)
                 for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _in_process_order(item: tuple[tuple[str, str], int]) -> tuple[str, int]:
    """Interdistrict first, then within the district; each in the order of its stages."""
    (process, stage), _ = item
    order = list(WithinStage) if process == reports.WITHIN else list(Stage)
    return process, [s.value for s in order].index(stage) if stage in order else len(order)


def _words(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _process_label(process: str) -> str:
    return "Within the district" if process == reports.WITHIN else "Interdistrict"


def school_years(district_id: str, today: date | None = None) -> tuple[list[str], str]:
    """The school years of the district's calendar, newest first, and the one a page opens
    on: the year ``today`` (the district's) falls in, else the next to begin, else the newest."""
    config = context.district(district_id)
    today = today or local_date(datetime.now(UTC), config.timezone)
    years = sorted(config.calendar, reverse=True)
    current = [y for y in years if config.calendar[y].first_day <= today
               <= config.calendar[y].last_day]
    coming = sorted(y for y in years if config.calendar[y].first_day > today)
    return years, (current or coming or years)[0]
