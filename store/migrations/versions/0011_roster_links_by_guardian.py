"""a guardian's students by index (0011, after 0010; 2026-12-03): ``roster_links`` gets
``ix_roster_links_guardian`` (district, guardian, student), so a guardian's students
(store.roster.guardians_by_email, read for every portal page a roster parent opens) are found
without reading every person of the district (bench/portal.py: 8-66 ms a look-up on SQLite at
5,000 roster families, 0.01 ms with it)."""

from __future__ import annotations

from alembic import op

revision, down_revision = "0011", "0010"  # branch_labels and depends_on: none


def upgrade() -> None:
    op.create_index("ix_roster_links_guardian", "roster_links",
                    ["district", "guardian", "student"])


def downgrade() -> None:
    op.drop_index("ix_roster_links_guardian", table_name="roster_links")
