"""parents sign in (0009, after 0008; 2026-12-03): a one-time code and a session say whose
they are (``kind``: ``staff``, or ``parent`` on the parent portal; store.schema.SignInCode,
StaffSession), so a parent's never opens or passes for a staff member's. Rows before it are
staff's."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0009", "0008"  # branch_labels and depends_on: none


def upgrade() -> None:
    for table in ("sign_in_codes", "staff_sessions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False,
                                       server_default="staff"))


def downgrade() -> None:
    for table in ("staff_sessions", "sign_in_codes"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("kind")
