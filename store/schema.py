"""Tables of the records store."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# The columns of the read model's indexes (store.read_model), in order.
WORKLIST_INDEX = ("district", "is_open", "next_due", "next_kind", "next_waits_on", "next_action",
                  "stage", "school", "school_year", "direction", "student_name", "id")
# The worklist's counts, grouped in this index's order (no sort).
COUNTS_INDEX = ("district", "is_open", "stage", "school", "school_year", "direction",
                "next_action", "next_kind")
SEARCH_INDEX = ("district", "search", "is_open", "received_at", "id")


class RequestRow(Base):
    """The current state of one request: an upsert on every recorded event."""

    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    district: Mapped[str] = mapped_column(String(64), index=True)
    student_id: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))
    school_year: Mapped[str] = mapped_column(String(9))
    stage: Mapped[str] = mapped_column(String(32), index=True)
    is_open: Mapped[bool] = mapped_column(Boolean, index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    decision_due: Mapped[date | None] = mapped_column(Date, index=True)
    appeal_deadline: Mapped[date | None] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict] = mapped_column(JSON)
    # The read model of the worklist and the search (store.read_model), from ``state``.
    next_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    next_waits_on: Mapped[str | None] = mapped_column(String(16), nullable=True)
    next_action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    school: Mapped[str | None] = mapped_column(String(200), nullable=True)
    student_name: Mapped[str] = mapped_column(String(201), server_default="")
    search: Mapped[str] = mapped_column(Text, server_default="")
    parent_email: Mapped[str] = mapped_column(String(320), server_default="")  # lowercased

    __table_args__ = (
        Index("ix_requests_student", "district", "student_id", "school_year"),
        # Covering: the worklist's and the search's queries read these indexes alone, never
        # the rows, whose JSON state (kilobytes, in SQLite's overflow pages, before these
        # columns) would be walked through for every row (docs/cross-cutting.md "Worklist
        # and search").
        Index("ix_requests_worklist", *WORKLIST_INDEX),
        Index("ix_requests_worklist_counts", *COUNTS_INDEX),
        Index("ix_requests_search", *SEARCH_INDEX),
        # `transfers list`'s order (store.records.list_requests): its first thousand rows are
        # read in it, where all 20,000 were read and sorted (0.1 s on PostgreSQL).
        Index("ix_requests_due", "next_due", "decision_due", "id"),
        # The portal's "my requests" (store.parents.requests_of), on every page a parent opens.
        Index("ix_requests_parent_email", "parent_email"),
    )


class EventRow(Base):
    """The append-only audit trail: every stage change and action, with who and why."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(120), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stage: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")
    proof: Mapped[str | None] = mapped_column(Text, nullable=True)  # the action's (infra.proofs)

    __table_args__ = (UniqueConstraint("request_id", "seq", name="uq_events_request_seq"),)


class NoticeRow(Base):
    """One notice and its delivery record; ``key`` makes sending idempotent.

    ``status``: ``queued`` (recorded, no attempt yet), ``sending`` (an attempt is under way;
    left so, the attempt died and the next one sends again), ``sent`` (never sent again),
    ``failed`` (the last attempt failed: ``error`` says how; the next attempt retries).
    ``attempts`` counts the attempts to send. ``language`` is the language of the text;
    ``note`` says why it is not the parent's (no template in it) or why nothing is sent."""

    __tablename__ = "notices"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipients: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # queued | sending | sent | failed
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Server defaults only: an insert that does not name them leaves them out (`claim`).
    language: Mapped[str] = mapped_column(String(16), server_default="en")
    note: Mapped[str] = mapped_column(Text, server_default="")


class LotteryRow(Base):
    """A within-district lottery's record (Rule 5110.1 VIII.B): seed, inputs, seats, result
    and the seats' ledger, replaced whenever the lottery changes; anyone can re-run the draw
    from it (``transfers lottery verify``), also after its workflow has ended."""

    __tablename__ = "lotteries"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    district: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    stage: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)  # the record's newest audit entry
    record: Mapped[dict] = mapped_column(JSON)


class PermitRow(Base):
    """An approved transfer's permit, as it is now (one row, replaced on every change)."""

    __tablename__ = "permits"

    id: Mapped[str] = mapped_column(String(130), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(120), index=True)
    district: Mapped[str] = mapped_column(String(64), index=True)
    process: Mapped[str] = mapped_column(String(16))
    school_year: Mapped[str] = mapped_column(String(9), index=True)
    school: Mapped[str] = mapped_column(String(200))
    condition: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(Boolean, index=True)
    version: Mapped[int] = mapped_column(Integer)  # years lived * 1000 + events this year
    state: Mapped[dict] = mapped_column(JSON)


class StudentClaim(Base):
    """The one open request a student may have in a scope (an interdistrict school year, or
    the district's within-district transfers at any time), claimed atomically before its
    workflow starts: two submissions at once cannot both start (docs/interdistrict.md
    "One open request per student and year")."""

    __tablename__ = "student_claims"

    district: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(130))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SecretRow(Base):
    """A secret the deployment makes for itself on first use and every process shares through
    the records store: the key that request ids are made with (cross-cutting.md "Request
    ids")."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class SignInCode(Base):
    """A one-time code sent to a staff address of the roster (app.signin) or to a parent's
    (app.parents; ``kind``): its hash, its expiry, the wrong tries against it and when it was
    used."""

    __tablename__ = "sign_in_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # ``staff`` or ``parent``: a code asked for on one front never opens the other's session.
    kind: Mapped[str] = mapped_column(String(16), server_default="staff")


class StaffSession(Base):
    """A signed-in person's session: the hash of its token, whose address it proves, how
    (``code`` or ``oidc``), until when, and whose (``kind``: ``staff``, or ``parent`` on the
    parent portal; a session of one kind is never taken for the other's)."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    method: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), server_default="staff")


# ---- the district's roster (OneRoster 1.2 CSV; docs/cross-cutting.md "Roster") -------------


class RosterSchoolRow(Base):
    """A school org of the district's roster, matched to the district file's school whose id
    is its ``identifier``; ``active`` False once a later export no longer holds it."""

    __tablename__ = "roster_schools"

    district: Mapped[str] = mapped_column(String(64), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    school_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RosterPersonRow(Base):
    """A student or a guardian (parent, guardian, relative) of the district's roster, keyed by
    the roster's sourcedId; ``active`` False once gone from it (tobedeleted, or absent from a
    bulk export). A student's ``identifier`` is the district's student id, the one its forms
    carry; a guardian's ``email_key`` their address lower-cased, for finding them."""

    __tablename__ = "roster_people"

    district: Mapped[str] = mapped_column(String(64), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # student | guardian
    role: Mapped[str] = mapped_column(String(32))  # student | parent | guardian | relative
    identifier: Mapped[str] = mapped_column(String(64))  # a student's id; "" for a guardian
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    email_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    school_year: Mapped[str] = mapped_column(String(9))  # the year the grade is in
    school_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    home_school_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attendance_area: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_roster_people_identifier", "district", "identifier"),
        Index("ix_roster_people_email", "email_key"),
    )


class RosterLinkRow(Base):
    """A guardian of a student (OneRoster ``agentSourcedIds``), as the newest export says."""

    __tablename__ = "roster_links"

    district: Mapped[str] = mapped_column(String(64), primary_key=True)
    student: Mapped[str] = mapped_column(String(255), primary_key=True)
    guardian: Mapped[str] = mapped_column(String(255), primary_key=True)

    # A guardian's students (store.roster.guardians_by_email: the portal reads them for every
    # page a roster parent opens): without it, each look-up read the whole district's people.
    __table_args__ = (Index("ix_roster_links_guardian", "district", "guardian", "student"),)
