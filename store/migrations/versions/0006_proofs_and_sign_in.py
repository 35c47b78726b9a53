"""proofs and sign-in (0006, after 0005; 2026-12-02): each audit entry keeps the proof its
action carried (store.schema.EventRow.proof; entries before it have none), the one-time codes
staff sign in with (store.schema.SignInCode) and the sessions sign-in opens
(store.schema.StaffSession). Codes and session tokens are kept only as their hashes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0006", "0005"  # branch_labels and depends_on: none


def upgrade() -> None:
    op.add_column("events", sa.Column("proof", sa.Text(), nullable=True))
    op.create_table(
        "sign_in_codes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(length=254), nullable=False, index=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("email", sa.String(length=254), nullable=False, index=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("staff_sessions")
    op.drop_table("sign_in_codes")
    op.drop_column("events", "proof")
