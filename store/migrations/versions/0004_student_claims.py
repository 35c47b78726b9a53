"""student claims: the one open request a student may have in a scope, claimed before its
workflow starts (store.schema.StudentClaim). Requests open before it hold no claim: a new
submission still finds them through the requests table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "student_claims",
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=130), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district", "scope", "student_id"),
    )


def downgrade() -> None:
    op.drop_table("student_claims")
