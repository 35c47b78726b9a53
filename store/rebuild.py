"""The store's side of `transfers db rebuild` (docs/cross-cutting.md "Records you can lose"):
what the store holds, in a form two readings can be compared in, and writing a state back
whatever the store held for it. The writes are the record activities' own functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select

from models.lottery_record import LotteryRecord, LotteryStage
from models.permits import PermitState
from store import lotteries, notices, permits, records
from store.schema import (
    EventRow,
    LotteryRow,
    NoticeRow,
    PermitRow,
    RequestRow,
    SecretRow,
    StudentClaim,
)

# Each table, what names a row in a report, and the columns compared. A claim is named by
# its request, never by the student it holds; a secret by its name, never its value.
TABLES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "request": (RequestRow, ("id",)),
    "audit entry": (EventRow, ("request_id", "seq")),
    "permit": (PermitRow, ("id",)),
    "lottery": (LotteryRow, ("id",)),
    "notice": (NoticeRow, ("key",)),
    "claim": (StudentClaim, ("district", "scope", "student_id")),
    "secret": (SecretRow, ("name",)),
}
IGNORED = {"events": {"id"}}  # the audit trail's surrogate key: a rewrite may renumber it

Snapshot = dict[str, dict[tuple, dict[str, Any]]]


def _value(value: Any) -> Any:
    # SQLite gives an instant back without its zone: it was stored in UTC.
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def snapshot(engine: Engine) -> Snapshot:
    """Every row of the tables a rebuild writes, by table and key."""
    found: Snapshot = {}
    with engine.connect() as connection:
        for what, (table, key) in TABLES.items():
            ignored = IGNORED.get(table.__tablename__, set())
            rows = connection.execute(select(table.__table__)).mappings().all()
            found[what] = {
                tuple(row[k] for k in key): {
                    name: _value(v) for name, v in row.items() if name not in ignored
                }
                for row in rows
            }
    return found


@dataclass(frozen=True)
class Difference:
    """One row the rebuild wrote that the store did not hold so: ``columns`` empty when the
    row was missing. ``name`` says which row without student data (a request id, a notice's
    key, a claim's request)."""

    what: str
    name: str
    columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        if not self.columns:
            return f"{self.what} {self.name}: missing, rebuilt"
        return f"{self.what} {self.name}: differed in {', '.join(self.columns)}, corrected"


def _name(what: str, key: tuple, row: dict[str, Any]) -> str:
    if what == "claim":
        return f"of request {row['request_id']} ({key[0]}, {key[1]})"
    if what == "audit entry":
        return f"{key[0]} #{key[1]}"
    return str(key[0])


def differences(before: Snapshot, after: Snapshot) -> list[Difference]:
    """What ``after`` holds that ``before`` did not, or held otherwise. A rebuild deletes
    nothing, so a row only ``before`` has is none of its doing (and not reported)."""
    found = []
    for what, rows in after.items():
        held = before.get(what, {})
        for key, row in sorted(rows.items(), key=lambda item: str(item[0])):
            old = held.get(key)
            if old is None:
                found.append(Difference(what, _name(what, key, row)))
            elif old != row:
                changed = tuple(name for name in row if old.get(name) != row[name])
                found.append(Difference(what, _name(what, key, row), changed))
    return found


# ---- writing what a workflow holds -----------------------------------------------------


def write_request(engine: Engine, state: records.AnyState) -> None:
    """The request's row and its whole audit trail, as the record activities write them.
    Their write never replaces a row of a newer ``last_seq``: a row that says more than its
    workflow knows (edited) is removed first, so the workflow's state is what stays."""
    with engine.connect() as connection:
        held = connection.execute(
            select(RequestRow.last_seq).where(RequestRow.id == state.id)
        ).scalar()
    last = state.history[-1].seq if state.history else 0
    if held is not None and held > last:
        with engine.begin() as connection:
            connection.execute(delete(RequestRow).where(RequestRow.id == state.id))
    records.record_events(engine, state, state.history)


def write_permit(engine: Engine, state: PermitState) -> None:
    """The permit's row, as `record_permit` writes it (a newer version held is replaced)."""
    with engine.begin() as connection:
        connection.execute(delete(PermitRow).where(
            PermitRow.id == state.id,
            PermitRow.version > state.years * 1000 + len(state.events)))
    permits.save_permit(engine, state)


def write_lottery(engine: Engine, record: LotteryRecord) -> bool:
    """The lottery's row, as `record_lottery` writes it; False when nothing is written. A
    lottery is first written at its draw, and until then its workflow shows its record sealed
    (no seed, no numbers: docs/lottery.md "The sealed seed"): nothing to write before it."""
    if record.stage is LotteryStage.collecting:
        return False
    with engine.begin() as connection:
        connection.execute(delete(LotteryRow).where(
            LotteryRow.id == record.id, LotteryRow.version > len(record.history)))
    lotteries.save_lottery(engine, record)
    return True


@dataclass(frozen=True)
class LostNotice:
    """A notice as a workflow's history has it: what was sent, when, and how it went."""

    key: str
    request_id: str
    kind: str
    recipients: Sequence[str]
    subject: str
    body: str
    language: str
    note: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    error: str


def write_notice(engine: Engine, notice: LostNotice) -> bool:
    """A notice the store has no delivery record of, recorded as its history says it went. A
    record the store holds is its truth (attempts, errors): kept. False when it was held."""
    with engine.connect() as connection:
        if connection.execute(select(NoticeRow.key).filter_by(key=notice.key)).first():
            return False
    notices.record(engine, notice.key, notice.request_id, notice.kind, list(notice.recipients),
                   notice.subject, notice.body, language=notice.language, note=notice.note)
    status = "sent" if notice.sent_at else ("failed" if notice.error else "queued")
    with engine.begin() as connection:
        connection.execute(NoticeRow.__table__.update().filter_by(key=notice.key).values(
            status=status, created_at=notice.created_at, sent_at=notice.sent_at,
            attempts=notice.attempts, error=notice.error))
    return True


def write_claim(
    engine: Engine, district: str, scope: str, student_id: str, request_id: str, at: datetime
) -> None:
    """The open request's claim on its student: whatever held the claim before (a closed
    request, or nothing) gives way, as a new submission's claim would take it over."""
    key = {"district": district, "scope": scope, "student_id": student_id}
    with engine.begin() as connection:
        holder = connection.execute(
            select(StudentClaim.request_id).filter_by(**key)).scalar()
        if holder == request_id:
            return
        connection.execute(delete(StudentClaim).filter_by(**key))
        connection.execute(StudentClaim.__table__.insert().values(
            **key, request_id=request_id, claimed_at=at.astimezone(UTC)))
