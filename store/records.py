"""Reads and writes of request records and their audit trail."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import URL, Connection, Engine, Insert, Row, bindparam, make_url, select
from sqlalchemy.exc import DatabaseError

from models.state import HistoryEntry, RequestState
from models.within_request import WithinHistoryEntry, WithinRequestState
from store.engine import engine_for, upsert_insert
from store.read_model import read_model_values
from store.schema import EventRow, RequestRow

WITHIN = "within"  # the ``direction`` of a within-district request (Rule 5110.1)
AnyState = RequestState | WithinRequestState
AnyEntry = HistoryEntry | WithinHistoryEntry
M = TypeVar("M", bound=BaseModel)


def _utc(instant: datetime) -> datetime:
    """The instant in UTC. SQLite keeps no offset: a naive value read back was UTC."""
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _request_values(state: AnyState) -> dict:
    last = state.history[-1] if state.history else None
    if isinstance(state, WithinRequestState):
        # The date a within-district request is waiting on is an offer's last day.
        process = {"direction": WITHIN, "overdue": False, "decision_due": state.offer_deadline,
                   "appeal_deadline": None}
    else:
        process = {"direction": state.request.direction.value, "overdue": state.overdue,
                   "decision_due": state.decision_due, "appeal_deadline": state.appeal_deadline}
    return {
        "id": state.id,
        "district": state.request.district,
        "student_id": state.request.student.id,
        "school_year": state.request.school_year,
        "stage": state.stage.value,
        "is_open": state.is_open,
        **process,
        "received_at": _utc(state.received_at),
        "updated_at": _utc(last.at if last else state.received_at),
        "last_seq": last.seq if last else 0,
        "state": state.model_dump(mode="json"),
        **read_model_values(state),  # the worklist's and the search's columns
    }


@functools.cache
def _upsert_statement(
    dialect: str, table: Any, keys: tuple[str, ...], conflict: tuple[str, ...], version: str
) -> Insert:
    insert = upsert_insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=[getattr(table, name) for name in conflict],
        set_={k: insert.excluded[k] for k in keys if k not in conflict},
        where=getattr(table, version) <= insert.excluded[version] if version else None,
    )


def upsert(
    connection: Connection, table: Any, values: dict[str, Any],
    conflict: tuple[str, ...] = ("id",), version: str = "",
) -> None:
    """Insert ``values``, or update the row with the same ``conflict`` columns; with a
    ``version`` column, never replace a row of a newer version (a retried activity writing an
    older state changes nothing). The statement is built once per table and set of columns
    and run with the values as parameters: building it for every write took a sixth of a busy
    worker's CPU."""
    statement = _upsert_statement(connection.dialect.name, table, tuple(values), conflict, version)
    connection.execute(statement, values)


def save(engine: Engine, table: Any, values: dict[str, Any], version: str) -> None:
    """One row's upsert in its own transaction (a lottery's record, a permit's state)."""
    with engine.begin() as connection:
        upsert(connection, table, values, version=version)


def load(engine: Engine, column: Any, row_id: str, model: type[M]) -> M | None:
    """The JSON ``column`` of the row ``row_id`` of its table, as ``model``."""
    with engine.connect() as connection:
        row = connection.execute(
            select(column).where(column.class_.id == row_id)
        ).scalar_one_or_none()
    return model.model_validate(row) if row is not None else None


def record_event(engine: Engine, state: AnyState, entry: AnyEntry) -> None:
    """`record_events` of one entry: what every stage change and event writes."""
    record_events(engine, state, [entry])


def record_events(engine: Engine, state: AnyState, entries: Sequence[AnyEntry]) -> None:
    """Upsert the request's current state and write ``entries`` to the audit trail at their
    sequence numbers, in one transaction. Idempotent, and an older state never overwrites a
    newer one. The write is a local activity: if its workflow task is lost (a worker killed),
    the workflow runs again and writes the same sequence numbers anew, maybe at another time
    or with other events; the last write of a sequence number is the one kept."""
    with engine.begin() as connection:
        upsert(connection, RequestRow, _request_values(state), version="last_seq")
        for entry in entries:
            event = {"request_id": state.id, **entry.model_dump(mode="python"),
                     "at": _utc(entry.at)}
            upsert(connection, EventRow, event, conflict=("request_id", "seq"))


def record_states(engine: Engine, states: Sequence[AnyState]) -> None:
    """`record_events` of many requests with their whole audit trails, in one transaction:
    a bulk load (the console benchmark's 20,000 requests), the same rows as one by one."""
    with engine.begin() as connection:
        for state in states:
            upsert(connection, RequestRow, _request_values(state), version="last_seq")
            for entry in state.history:
                event = {"request_id": state.id, **entry.model_dump(mode="python"),
                         "at": _utc(entry.at)}
                upsert(connection, EventRow, event, conflict=("request_id", "seq"))


def get_request(engine: Engine, request_id: str) -> AnyState | None:
    """The request's current state, of whichever process it belongs to."""
    with engine.connect() as connection:
        row = connection.execute(
            select(RequestRow.direction, RequestRow.state).where(RequestRow.id == request_id)
        ).one_or_none()
    if row is None:
        return None
    model = WithinRequestState if row.direction == WITHIN else RequestState
    return model.model_validate(row.state)


# Built once: building a statement cost as much as running it, on a parent's status page.
_DIRECTION = select(RequestRow.direction).where(RequestRow.id == bindparam("request_id"))
_EVENTS = (select(EventRow).where(EventRow.request_id == bindparam("request_id"))
           .order_by(EventRow.seq))


def get_history(engine: Engine, request_id: str, within: bool | None = None
                ) -> list[AnyEntry]:
    """The request's audit trail as stored; ``within``: whether it is a within-district
    request, when the caller knows (else the store is asked)."""
    with engine.connect() as connection:
        if within is None:
            within = connection.execute(
                _DIRECTION, {"request_id": request_id}).scalar_one_or_none() == WITHIN
        rows = connection.execute(_EVENTS, {"request_id": request_id}).all()
    model = WithinHistoryEntry if within else HistoryEntry
    return [
        model(
            seq=r.seq, at=_utc(r.at), stage=r.stage, event=r.event, actor=r.actor,
            reason=r.reason, proof=r.proof,
        )
        for r in rows
    ]


def find_open_request(
    engine: Engine,
    district: str,
    student_id: str,
    school_year: str | None,
    direction: str | None = None,
) -> str | None:
    """The id of an open request for this student (in ``school_year``, or in any year when
    None; of one ``direction``, or any), if there is one."""
    query = select(RequestRow.id).where(
        RequestRow.district == district,
        RequestRow.student_id == student_id,
        RequestRow.is_open.is_(True),
    )
    if school_year is not None:
        query = query.where(RequestRow.school_year == school_year)
    if direction is not None:
        query = query.where(RequestRow.direction == direction)
    with engine.connect() as connection:
        return connection.execute(query.order_by(RequestRow.id)).scalar()


def request_ids_like(engine: Engine, base_id: str) -> Sequence[str]:
    with engine.connect() as connection:
        return connection.execute(
            select(RequestRow.id).where(RequestRow.id.like(f"{base_id}%"))
        ).scalars().all()


def stages_of(engine: Engine, request_ids: Sequence[str]) -> dict[str, str]:
    """The stage of each of ``request_ids`` that the store has, in one query."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(RequestRow.id, RequestRow.stage).where(RequestRow.id.in_(request_ids))
        ).all()
    return {row.id: row.stage for row in rows}


def list_requests(
    engine: Engine,
    district: str | None = None,
    stage: str | None = None,
    overdue: bool = False,
    due_before: date | None = None,
    open_only: bool = False,
    limit: int = 1000,
) -> list[Row[Any]]:
    """The list's rows (every column of `RequestRow` by name), without their states: a
    state is kilobytes of JSON that a list does not show (``get_request`` reads one). Plain
    rows, not ORM objects: setting up a thousand objects with a deferred column took 70 ms."""
    query = select(*(c for c in RequestRow.__table__.columns if c.name != "state"))
    if district:
        query = query.where(RequestRow.district == district)
    if stage:
        query = query.where(RequestRow.stage == stage)
    if overdue:
        query = query.where(RequestRow.overdue.is_(True), RequestRow.is_open.is_(True))
    if due_before:  # the next deadline, of whatever kind
        query = query.where(RequestRow.next_due < due_before, RequestRow.is_open.is_(True))
    if open_only:
        query = query.where(RequestRow.is_open.is_(True))
    # Soonest next deadline first (a passed one is sooner still); then, for the requests
    # that wait on no date, their decision's last day. NULLS LAST rather than ``is_(None)``
    # keys, which no index holds: the order of ``ix_requests_due``.
    query = query.order_by(
        RequestRow.next_due.asc().nulls_last(), RequestRow.decision_due.asc().nulls_last(),
        RequestRow.id,
    ).limit(limit)
    with engine.connect() as connection:
        return list(connection.execute(query).all())


class StoreUnusable(RuntimeError):
    """The records store cannot be worked on (damaged); the message says what to do."""


def check_intact(engine: Engine) -> None:
    """Refuse a damaged store: SQLite checks its pages (``PRAGMA quick_check``); a file that
    is not a database at all fails to be read. PostgreSQL keeps its own pages."""
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                found = [r[0] for r in connection.exec_driver_sql("PRAGMA quick_check")]
                if found != ["ok"]:
                    raise StoreUnusable(_damaged(engine.url, "; ".join(found[:3])))
            connection.execute(select(RequestRow.id).limit(1)).first()
    except DatabaseError as error:
        raise StoreUnusable(_damaged(engine.url, str(error.orig))) from None


def intact_engine(url: str) -> Engine:
    """The store's engine (`store.engine.engine_for`), refused as `StoreUnusable` when the
    database cannot be read or its pages are damaged."""
    try:
        engine = engine_for(url)
    except DatabaseError as error:  # not a database at all: it could not even be opened
        raise StoreUnusable(_damaged(make_url(url), str(error.orig))) from None
    check_intact(engine)
    return engine


def _damaged(url: URL, what: str) -> str:
    return (f"the records store ({url.render_as_string(hide_password=True)}) is damaged "
            f"({what}): restore it from its backup")
