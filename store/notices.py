"""Delivery records of notices: claimed before sending, so a key is sent at most once.

A record's life (``status``): `claim` writes it ``sending`` for an attempt (and counts it in
``attempts``); then `mark_sent` (``sent``: never claimed again) or `mark_failed` (``failed``,
with the error; the next attempt claims it again). A record left ``sending`` is an attempt
that died: the next one claims it again too. `record` keeps a notice that is not sent at all
(``queued``: an escalation with nobody to send it to)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.schema import NoticeRow


def record(
    engine: Engine, key: str, request_id: str, kind: str, recipients: list[str],
    subject: str, body: str, language: str = "en", note: str = "",
) -> str:
    """Record the notice before any attempt (``queued``), or bring the record of a notice not
    yet sent up to date with what is about to be sent (its text, language, note and
    recipients). A sent record is left as it is. Returns the record's status."""
    fields = {
        "recipients": ", ".join(recipients), "subject": subject, "body": body,
        "language": language, "note": note,
    }
    for _ in range(2):
        try:
            with Session(engine) as session, session.begin():
                row = session.get(NoticeRow, key, with_for_update=True)
                if row is None:
                    session.add(NoticeRow(
                        key=key, request_id=request_id, kind=kind, status="queued", error="",
                        attempts=0, created_at=datetime.now(UTC), **fields,
                    ))
                    return "queued"
                if row.status != "sent":
                    for name, value in fields.items():
                        setattr(row, name, value)
                return row.status
        except IntegrityError:  # recorded by another attempt at the same moment: read it
            continue
    raise RuntimeError(f"notice {key} could not be recorded")


def claim(
    engine: Engine, key: str, request_id: str, kind: str, recipients: list[str],
    subject: str, body: str, language: str | None = None, note: str | None = None,
) -> bool:
    """Record the notice as being sent (``sending``, one more attempt), with what is about to
    be sent (recipients, text, and ``language`` and ``note`` when given), in one transaction.
    False when it was already sent (nothing to do, nothing changed). Without ``language`` and
    ``note`` it reads and writes the columns of revision 0001 only, so it also works on a
    database of that revision (tests/test_migrations.py makes one with it)."""
    table = NoticeRow.__table__
    fields = {"recipients": ", ".join(recipients), "subject": subject, "body": body}
    fields |= {"language": language} if language is not None else {}
    fields |= {"note": note} if note is not None else {}
    try:
        with engine.begin() as connection:
            row = connection.execute(
                select(table.c.status, table.c.attempts).where(table.c.key == key)
                .with_for_update()
            ).one_or_none()
            if row is None:
                connection.execute(insert(table).values(
                    key=key, request_id=request_id, kind=kind, status="sending", error="",
                    attempts=1, created_at=datetime.now(UTC), **fields,
                ))
            elif row.status == "sent":
                return False
            else:
                connection.execute(
                    update(table).where(table.c.key == key)
                    .values(status="sending", attempts=row.attempts + 1, **fields)
                )
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
