"""notice language and note: the language a notice was rendered in, and the note saying why it
is not the parent's language (no template in it) or why nothing is sent (store.schema.NoticeRow).
Rows sent before it were all in English.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it (env.py turns it on for SQLite only).
    with op.batch_alter_table("notices") as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=16), server_default="en", nullable=False)
        )
        batch_op.add_column(sa.Column("note", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("language")
