"""What the exports and the dashboard read (docs/cross-cutting.md "Exports and the
dashboard"): a district's requests of one school year, whole (the ``state`` column holds
each) or as the few facts a count needs, the placements among them with their permits, the
lottery's designated seats, and what a report counts each request as (its outcome).
Read-only; no migration: the existing ``requests``, ``events``, ``permits`` and
``lotteries`` tables are enough."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, func, select

from models.lottery_record import LotteryRecord
from models.permits import PermitState
from models.stages import Stage
from models.state import RequestState
from models.within_request import WithinRequestState, WithinStage
from store.records import WITHIN, AnyState
from store.schema import EventRow, LotteryRow, PermitRow, RequestRow

INTERDISTRICT = "interdistrict"
# The stages in which a request put its student in a school of the district of enrollment.
PLACED_STAGES = (Stage.approved.value, WithinStage.placed.value)


@dataclass(frozen=True)
class Placement:
    """An approved request and its permit (None until the permit's workflow has written it)."""

    request: AnyState
    permit: PermitState | None


def _state(direction: str, data: dict) -> AnyState:
    model = WithinRequestState if direction == WITHIN else RequestState
    return model.model_validate(data)


def requests_of(engine: Engine, district: str, school_year: str) -> list[AnyState]:
    """Every request of ``district`` for ``school_year``, both processes, in order of receipt."""
    query = (
        select(RequestRow.direction, RequestRow.state)
        .where(RequestRow.district == district, RequestRow.school_year == school_year)
        .order_by(RequestRow.received_at, RequestRow.id)
    )
    with engine.connect() as connection:
        return [_state(row.direction, row.state) for row in connection.execute(query)]


def stage_counts(engine: Engine, district: str, school_year: str) -> dict[tuple[str, str], int]:
    """How many requests are in each stage, by (process, stage), ``process`` being
    ``interdistrict`` (either direction) or ``within``: counted by the database on the
    ``stage`` column, without reading a state."""
    query = (
        select(RequestRow.direction, RequestRow.stage, func.count())
        .where(RequestRow.district == district, RequestRow.school_year == school_year)
        .group_by(RequestRow.direction, RequestRow.stage)
    )
    counts: dict[tuple[str, str], int] = {}
    with engine.connect() as connection:
        for direction, stage, count in connection.execute(query):
            key = (process_of(direction), stage)
            counts[key] = counts.get(key, 0) + count
    return counts


def process_of(direction: str) -> str:
    """``within`` for a within-district request, ``interdistrict`` for either direction."""
    return WITHIN if direction == WITHIN else INTERDISTRICT


def placements(engine: Engine, district: str, school_year: str) -> list[Placement]:
    """The students ``district`` placed for ``school_year``: its requests of that year that
    were approved (interdistrict, either direction) or placed (within the district), and the
    requests of earlier years whose permit is in ``school_year`` now (a permit lives for
    years); each with its permit. By request id."""
    with engine.connect() as connection:
        permits = {
            row.request_id: PermitState.model_validate(row.state)
            for row in connection.execute(
                select(PermitRow.request_id, PermitRow.state).where(
                    PermitRow.district == district, PermitRow.school_year == school_year
                )
            )
        }
        approved = select(RequestRow.direction, RequestRow.state).where(
            RequestRow.district == district,
            RequestRow.school_year == school_year,
            RequestRow.stage.in_(PLACED_STAGES),
        )
        requests = {
            state.id: state
            for state in (_state(r.direction, r.state) for r in connection.execute(approved))
        }
        carried = [i for i in permits if i not in requests]
        if carried:
            earlier = select(RequestRow.direction, RequestRow.state).where(
                RequestRow.id.in_(carried)
            )
            requests.update(
                (s.id, s) for s in (_state(r.direction, r.state)
                                    for r in connection.execute(earlier))
            )
        missing = [s.permit_id for s in requests.values()
                   if s.permit_id and s.id not in permits]
        if missing:  # a permit now in a later year: the one the request issued, all the same
            permits.update(
                (row.request_id, PermitState.model_validate(row.state))
                for row in connection.execute(
                    select(PermitRow.request_id, PermitRow.state).where(
                        PermitRow.id.in_(missing)
                    )
                )
            )
    return [Placement(requests[i], permits.get(i)) for i in sorted(requests)]


def lotteries_of(engine: Engine, district: str, school_year: str) -> Sequence[LotteryRecord]:
    """The lottery records of ``district`` for ``school_year`` (one, or none)."""
    query = select(LotteryRow.record).where(
        LotteryRow.district == district, LotteryRow.school_year == school_year
    )
    with engine.connect() as connection:
        return [LotteryRecord.model_validate(r) for r in connection.execute(query).scalars()]


# ---- what a report counts a request as ------------------------------------------------------

PENDING = "pending"
DENIED_STAGES = frozenset({Stage.denied.value, Stage.denied_final.value,
                           Stage.appeal_pending.value})
# Interdistrict stages before a decision; within the district, the open stages but these two,
# which are what the lottery gave.
UNDECIDED_STAGES = frozenset({Stage.submitted.value, Stage.awaiting_documents.value,
                              Stage.awaiting_release.value, Stage.under_review.value})
LOTTERY_OUTCOMES = frozenset({WithinStage.waitlisted.value, WithinStage.offered.value})


@dataclass(frozen=True)
class Counted:
    """What the dashboard counts of one request. ``counted_of`` reads it from the columns
    and a few paths into the stored state, without validating the state: over 5,000
    requests, about ten times faster than reading them whole. ``counted`` takes it from a state,
    and both say the same (tests/store/test_reports.py)."""

    id: str
    process: str  # interdistrict | within
    stage: str
    is_open: bool
    timezone: str
    decided_at: datetime | None
    decision_due: date | None  # interdistrict: the last day for a decision; within: None
    overdue: bool
    denial_reasons: tuple[str, ...]
    deemed_denied: bool  # reached deemed_denied (EC 46600.1) at some point


def counted(state: AnyState) -> Counted:
    if isinstance(state, WithinRequestState):
        return Counted(state.id, WITHIN, state.stage.value, state.is_open, state.timezone,
                       state.decided_at, None, False, (), False)
    deemed = state.stage is Stage.deemed_denied or any(
        entry.stage is Stage.deemed_denied for entry in state.history)
    return Counted(state.id, INTERDISTRICT, state.stage.value, state.is_open, state.timezone,
                   state.decided_at, state.decision_due, state.overdue,
                   tuple(r.value for r in state.denial_reasons), deemed)


def counted_of(engine: Engine, district: str, school_year: str) -> list[Counted]:
    """``counted`` of every request of ``district`` for ``school_year``, in order of receipt,
    read from the columns, the state's paths and the audit trail (a deemed denial)."""
    state = RequestRow.state
    deemed = select(EventRow.id).where(
        EventRow.request_id == RequestRow.id, EventRow.stage == Stage.deemed_denied.value
    ).exists()
    query = (
        select(RequestRow.id, RequestRow.direction, RequestRow.stage, RequestRow.is_open,
               RequestRow.decision_due, RequestRow.overdue, state["timezone"].as_string(),
               state["decided_at"].as_string(), state["denial_reasons"], deemed)
        .where(RequestRow.district == district, RequestRow.school_year == school_year)
        .order_by(RequestRow.received_at, RequestRow.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    found = []
    for (request_id, direction, stage, is_open, due, overdue, tz, decided, reasons,
         was_deemed) in rows:
        within = direction == WITHIN
        found.append(Counted(
            request_id, process_of(direction), stage, bool(is_open), tz,
            datetime.fromisoformat(decided) if decided else None,
            None if within else due,  # a within-district row keeps an offer's last day there
            bool(overdue), tuple(reasons or ()),
            bool(was_deemed) or stage == Stage.deemed_denied.value,
        ))
    return found


def outcome(request: Counted) -> str:
    """The request's outcome so far: ``pending`` while the district owes an answer, else what
    it came to (an interdistrict request whose appeal is pending counts as denied, or as
    deemed denied when no written decision was ever made)."""
    if request.process == WITHIN:
        if request.stage in LOTTERY_OUTCOMES:
            return request.stage
        return PENDING if request.is_open else request.stage
    if request.stage in DENIED_STAGES:
        return "denied" if request.decided_at is not None else Stage.deemed_denied.value
    return PENDING if request.stage in UNDECIDED_STAGES else request.stage
