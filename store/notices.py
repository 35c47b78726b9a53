"""Delivery records of notices: claimed before sending, so a key is sent at most once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.schema import NoticeRow


def claim(
    engine: Engine, key: str, request_id: str, kind: str, recipients: list[str],
    subject: str, body: str,
) -> bool:
    """Record the notice as being sent. False when it was already sent (nothing to do)."""
    now = datetime.now(UTC)
    try:
        with Session(engine) as session, session.begin():
            row = session.get(NoticeRow, key, with_for_update=True)
            if row is not None:
                if row.status == "sent":
                    return False
                row.status, row.attempts = "sending", row.attempts + 1
                return True
            session.add(NoticeRow(
                key=key, request_id=request_id, kind=kind, recipients=", ".join(recipients),
                subject=subject, body=body, status="sending", error="", attempts=1,
                created_at=now,
            ))
    except IntegrityError:  # another attempt claimed the same key at the same moment
        return False
    return True


def mark_sent(engine: Engine, key: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(NoticeRow).where(NoticeRow.key == key)
            .values(status="sent", error="", sent_at=datetime.now(UTC))
        )


def mark_failed(engine: Engine, key: str, error: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(NoticeRow).where(NoticeRow.key == key).values(status="failed", error=error)
        )


def list_notices(engine: Engine, request_id: str | None = None) -> list[NoticeRow]:
    query = select(NoticeRow).order_by(NoticeRow.created_at, NoticeRow.key)
    if request_id:
        query = query.where(NoticeRow.request_id == request_id)
    with Session(engine) as session:
        return list(session.scalars(query))
