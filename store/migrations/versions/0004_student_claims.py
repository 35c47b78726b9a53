"""student claims and secrets (0004, after 0003; 2026-12-02): the one open request a student
may have in a scope, claimed before its workflow starts (store.schema.StudentClaim; requests
open before it hold no claim: a new submission still finds them through the requests table),
and the deployment's own secrets, such as the key request ids are made with
(store.schema.SecretRow)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0004", "0003"  # branch_labels and depends_on: none


def upgrade() -> None:
    key = (("district", 64), ("scope", 16), ("student_id", 64))
    op.create_table(
        "student_claims",
        *(sa.Column(name, sa.String(length=size), nullable=False) for name, size in key),
        sa.Column("request_id", sa.String(length=130), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*(name for name, _ in key)),
    )
    op.create_table(
        "secrets",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("value", sa.String(length=128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("secrets")
    op.drop_table("student_claims")
