"""Writing the records store."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from models.lottery_record import LotteryRecord
from models.permits import PermitState
from models.state import RecordedEvents, RequestState
from models.within_request import WithinRequestState
from store import lotteries, permits, records


class RecordActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="record_event")
    def record_event(self, state: RequestState) -> None:
        """Upsert the request's state and append its newest history entry (idempotent)."""
        self._record_newest(state)

    @activity.defn(name="record_events")
    def record_events(self, recorded: RecordedEvents) -> None:
        """The same, with every history entry from ``recorded.since`` on (an Update that
        added several documents): one write for all of them."""
        state = recorded.state
        entries = state.history[recorded.since - 1:]
        records.record_events(self._engine, state, entries)
        for entry in entries:
            _log_recorded(entry.event, state.stage)

    @activity.defn(name="record_within_event")
    def record_within_event(self, state: WithinRequestState) -> None:
        """The same, for a within-district request (Rule 5110.1)."""
        self._record_newest(state)

    def _record_newest(self, state: RequestState | WithinRequestState) -> None:
        records.record_event(self._engine, state, state.history[-1])
        _log_recorded(state.history[-1].event, state.stage)

    @activity.defn(name="record_lottery")
    def record_lottery(self, record: LotteryRecord) -> None:
        """Keep the lottery's record (seed, inputs, seats, result, ledger) in the store."""
        lotteries.save_lottery(self._engine, record)

    @activity.defn(name="record_permit")
    def record_permit(self, state: PermitState) -> None:
        """Keep the permit as it is now (``transfers permit list``)."""
        permits.save_permit(self._engine, state)


def _log_recorded(event: str, stage: str) -> None:
    # The SDK adds the workflow id (the request id) to the record: the event and stage are
    # all the message says, never the student.
    activity.logger.info("recorded %s (stage %s)", event, stage)
