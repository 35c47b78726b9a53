"""The records store's tables as the code before migrations created them: requests, events,
notices, lotteries, with their indexes.

Revision ID: 0001
Revises:
Create Date: 2027-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "seq", name="uq_events_request_seq"),
    )
    op.create_index("ix_events_request_id", "events", ["request_id"], unique=False)

    op.create_table(
        "lotteries",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lotteries_district", "lotteries", ["district"], unique=False)

    op.create_table(
        "notices",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_notices_request_id", "notices", ["request_id"], unique=False)

    op.create_table(
        "requests",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("decision_due", sa.Date(), nullable=True),
        sa.Column("appeal_deadline", sa.Date(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_requests_decision_due", "requests", ["decision_due"], unique=False)
    op.create_index("ix_requests_district", "requests", ["district"], unique=False)
    op.create_index("ix_requests_is_open", "requests", ["is_open"], unique=False)
    op.create_index("ix_requests_stage", "requests", ["stage"], unique=False)
    op.create_index(
        "ix_requests_student", "requests", ["district", "student_id", "school_year"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("requests")
    op.drop_table("notices")
    op.drop_table("lotteries")
    op.drop_table("events")
