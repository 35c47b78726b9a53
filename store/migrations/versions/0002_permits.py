"""permits: an approved transfer's permit as it is now (store.schema.PermitRow).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "permits",
        sa.Column("id", sa.String(length=130), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("process", sa.String(length=16), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("school", sa.String(length=200), nullable=False),
        sa.Column("condition", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_permits_district", "permits", ["district"], unique=False)
    op.create_index("ix_permits_is_active", "permits", ["is_active"], unique=False)
    op.create_index("ix_permits_request_id", "permits", ["request_id"], unique=False)
    op.create_index("ix_permits_school_year", "permits", ["school_year"], unique=False)


def downgrade() -> None:
    op.drop_table("permits")
