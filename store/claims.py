"""One open request per student, enforced atomically (docs/interdistrict.md "One open
request per student and year"): intake claims the student in the request's scope before its
workflow starts.
The check against the records store alone cannot do it: a request's row is written by its
workflow, after the start, so two submissions at the same moment (into and out of the
district) both passed it.

A claim stands while its request is open, or, before the request's first record is written,
for ``START_GRACE``; after that a claim whose request is closed or never started is taken
over by the next submission."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from store.schema import RequestRow, StudentClaim

START_GRACE = timedelta(minutes=10)  # a start that is under way writes its first record


def claim(
    engine: Engine, district: str, scope: str, student_id: str, request_id: str, now: datetime
) -> str | None:
    """Claim the student for ``request_id``; the id of the request that holds the student
    instead, if one does."""
    key = {"district": district, "scope": scope, "student_id": student_id}
    now = now.astimezone(UTC)
    try:
        with engine.begin() as connection:
            connection.execute(StudentClaim.__table__.insert().values(
                **key, request_id=request_id, claimed_at=now))
        return None
    except IntegrityError:
        pass
    with engine.begin() as connection:
        holder, claimed_at = connection.execute(
            select(StudentClaim.request_id, StudentClaim.claimed_at).filter_by(**key)
        ).one()
        is_open = connection.execute(
            select(RequestRow.is_open).where(RequestRow.id == holder)
        ).scalar()
        starting = is_open is None and _aware(claimed_at) > now - START_GRACE
        if holder == request_id or not (is_open or starting):
            # Taken over only from the holder just read: of two at once, one wins.
            taken = connection.execute(
                update(StudentClaim).filter_by(**key, request_id=holder)
                .values(request_id=request_id, claimed_at=now)
            ).rowcount
            if taken == 1:
                return None
            holder = connection.execute(
                select(StudentClaim.request_id).filter_by(**key)).scalar_one()
        return holder


def release(engine: Engine, request_id: str) -> None:
    """Give up the claims of a request whose workflow did not start."""
    with engine.begin() as connection:
        connection.execute(delete(StudentClaim).where(StudentClaim.request_id == request_id))


def _aware(instant: datetime) -> datetime:
    # SQLite gives the stored instant back without its zone; it was stored in UTC.
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
