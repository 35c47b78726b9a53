"""store made-at (0005, after 0004; 2026-12-02): when the records store was made, a row of the
secrets table (store.made). A new database is made now; one made before this revision takes
its earliest request's receipt, so workflows older than its records do not look like a lost
store (docs/cross-cutting.md "Records you can lose")."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0005", "0004"  # branch_labels and depends_on: none

NAME = "store-made-at"  # store.made.MADE_AT


def upgrade() -> None:
    connection = op.get_bind()
    earliest = connection.execute(sa.text("SELECT MIN(received_at) FROM requests")).scalar()
    if isinstance(earliest, str):  # SQLite gives the stored text back
        earliest = datetime.fromisoformat(earliest)
    made = earliest or datetime.now(UTC)
    made = made.replace(tzinfo=UTC) if made.tzinfo is None else made.astimezone(UTC)
    connection.execute(
        sa.text("INSERT INTO secrets (name, value) VALUES (:name, :value)"),
        {"name": NAME, "value": made.isoformat()},
    )


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM secrets WHERE name = :name"), {"name": NAME})
