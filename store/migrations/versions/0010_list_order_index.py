"""the list's order (0010, after 0009; 2026-12-03): an index on `requests` in the order
`transfers list` reads them (store.records.list_requests: next deadline, decision's last day,
id), so its first thousand rows are read in it instead of all of them sorted (issue 17)."""

from __future__ import annotations

from alembic import op

revision, down_revision = "0010", "0009"  # branch_labels and depends_on: none


def upgrade() -> None:
    op.create_index("ix_requests_due", "requests", ["next_due", "decision_due", "id"])


def downgrade() -> None:
    op.drop_index("ix_requests_due", table_name="requests")
