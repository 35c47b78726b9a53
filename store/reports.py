"""What the exports and the dashboard read (docs/cross-cutting.md "Exports and the
dashboard"): a district's requests of one school year, whole (the ``state`` column holds
each), the placements among them with their permits, the lottery's designated seats, and what
a report counts each request as (its outcome). Read-only; no migration: the existing
``requests``, ``permits`` and ``lotteries`` tables are enough."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from models.lottery_record import LotteryRecord
from models.permits import PermitState
from models.stages import Stage
from models.state import RequestState
from models.within_request import WithinRequestState, WithinStage
from store.records import WITHIN, AnyState
from store.schema import LotteryRow, PermitRow, RequestRow

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


def outcome(state: AnyState) -> str:
    """The request's outcome so far: ``pending`` while the district owes an answer, else what
    it came to (an interdistrict request whose appeal is pending counts as denied, or as
    deemed denied when no written decision was ever made)."""
    if isinstance(state, WithinRequestState):
        if state.stage in {WithinStage.waitlisted, WithinStage.offered}:
            return state.stage.value
        return PENDING if state.is_open else state.stage.value
    stage = state.stage
    if stage in {Stage.denied, Stage.denied_final, Stage.appeal_pending}:
        return "denied" if state.decided_at is not None else Stage.deemed_denied.value
    if stage in {Stage.submitted, Stage.awaiting_documents, Stage.awaiting_release,
                 Stage.under_review}:
        return PENDING
    return stage.value


def was_deemed_denied(state: RequestState) -> bool:
    """The request reached ``deemed_denied`` (EC 46600.1) at some point of its history."""
    return state.stage is Stage.deemed_denied or any(
        entry.stage is Stage.deemed_denied for entry in state.history
    )
