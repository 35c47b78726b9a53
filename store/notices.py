"""Delivery records of notices: claimed before sending, so a key is sent at most once.

A record's life (``status``): `claim` writes it ``sending`` for an attempt (and counts it in
``attempts``); then `mark_sent` (``sent``: never claimed again) or `mark_failed` (``failed``,
with the error; the next attempt claims it again). A record left ``sending`` is an attempt
that died: the next one claims it again too. `record` keeps a notice that is not sent at all
(``queued``: an escalation with nobody to send it to)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import Engine, Insert, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.engine import upsert_insert
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


@functools.cache
def _claim_statement(dialect: str, columns: tuple[str, ...]) -> Insert:
    """Insert the record ``sending`` (attempt 1), or, unless it was sent, make it ``sending``
    with one more attempt and the text about to be sent; returns the row it claimed. One
    statement instead of a read and a write, built once: a busy worker sends a notice or two
    for every request and spent more on building and running the two than on the e-mail."""
    table = NoticeRow.__table__
    insert = upsert_insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"status": "sending", "attempts": table.c.attempts + 1}
        | {name: insert.excluded[name] for name in columns},
        where=table.c.status != "sent",
    ).returning(table.c.key)


def claim(
    engine: Engine, key: str, request_id: str, kind: str, recipients: list[str],
    subject: str, body: str, language: str | None = None, note: str | None = None,
) -> bool:
    """Record the notice as being sent (``sending``, one more attempt), with what is about to
    be sent (recipients, text, and ``language`` and ``note`` when given), in one statement.
    False when it was already sent (nothing to do, nothing changed). Without ``language`` and
    ``note`` it reads and writes the columns of revision 0001 only, so it also works on a
    database of that revision (tests/store/test_migrations.py makes one with it)."""
    fields = {"recipients": ", ".join(recipients), "subject": subject, "body": body}
    fields |= {"language": language} if language is not None else {}
    fields |= {"note": note} if note is not None else {}
    statement = _claim_statement(engine.dialect.name, tuple(fields))
    # A claim of the same key at the same moment waits for the other's row (ON CONFLICT)
    # and then sees its status: no unique violation reaches here.
    with engine.begin() as connection:
        claimed = connection.execute(statement, {
            "key": key, "request_id": request_id, "kind": kind, "status": "sending",
            "error": "", "attempts": 1, "created_at": datetime.now(UTC), **fields,
        }).first()
    return claimed is not None


_MARK_SENT = (
    update(NoticeRow)
    .where(NoticeRow.key == bindparam("notice_key"))
    .values(status="sent", error="", sent_at=bindparam("sent_at"))
)


def mark_sent(engine: Engine, key: str) -> None:
    with engine.begin() as connection:
        connection.execute(_MARK_SENT, {"notice_key": key, "sent_at": datetime.now(UTC)})


def mark_failed(engine: Engine, key: str, error: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(NoticeRow).where(NoticeRow.key == key).values(status="failed", error=error)
        )


_NOTICES = select(NoticeRow.__table__).order_by(NoticeRow.created_at, NoticeRow.key)
_NOTICES_OF = _NOTICES.where(NoticeRow.request_id == bindparam("request_id"))


def list_notices(engine: Engine, request_id: str | None = None) -> list[NoticeRow]:
    """The notices (of ``request_id``), oldest first: rows with a `NoticeRow`'s columns as
    attributes, read without an ORM session (a parent's status page reads them each time)."""
    with engine.connect() as connection:
        if request_id:
            rows = connection.execute(_NOTICES_OF, {"request_id": request_id}).all()
        else:
            rows = connection.execute(_NOTICES).all()
    return rows  # type: ignore[return-value]  # the same attributes, read-only
