"""the roster (0008, after 0007; 2026-12-02): the district's students,
guardians, their links and its schools, imported from OneRoster 1.2 CSV
(store.schema.RosterSchoolRow, RosterPersonRow, RosterLinkRow; docs/cross-cutting.md
"Roster")."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0008", "0007"  # branch_labels and depends_on: none


def upgrade() -> None:
    op.create_table(
        "roster_schools",
        sa.Column("district", sa.String(length=64), primary_key=True),
        sa.Column("sourced_id", sa.String(length=255), primary_key=True),
        sa.Column("school_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "roster_people",
        sa.Column("district", sa.String(length=64), primary_key=True),
        sa.Column("sourced_id", sa.String(length=255), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("email_key", sa.String(length=255), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("school_id", sa.String(length=100), nullable=True),
        sa.Column("home_school_id", sa.String(length=100), nullable=True),
        sa.Column("attendance_area", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_roster_people_identifier", "roster_people", ["district", "identifier"])
    op.create_index("ix_roster_people_email", "roster_people", ["email_key"])
    op.create_table(
        "roster_links",
        sa.Column("district", sa.String(length=64), primary_key=True),
        sa.Column("student", sa.String(length=255), primary_key=True),
        sa.Column("guardian", sa.String(length=255), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("roster_links")
    op.drop_index("ix_roster_people_email", table_name="roster_people")
    op.drop_index("ix_roster_people_identifier", table_name="roster_people")
    op.drop_table("roster_people")
    op.drop_table("roster_schools")
