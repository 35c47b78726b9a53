"""worklist and search (0007, after 0006; 2026-12-02): each request's row carries the read
model of the worklist and the search (store.read_model): its next deadline (last day, kind,
whom it waits on, the action that meets it), its school, the student's name and a folded
search text. Existing rows are filled from their JSON state, by the code's own derivation
(store.read_model.read_model_values), in batches."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0007", "0006"  # branch_labels and depends_on: none

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("next_due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("next_waits_on", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("next_action", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("school", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("student_name", sa.String(length=201), server_default="",
                                   nullable=False))
        batch.add_column(sa.Column("search", sa.Text(), server_default="", nullable=False))
    # Covering indexes (store/schema.py): the columns are written out, as a migration keeps
    # the schema of its day.
    op.create_index("ix_requests_worklist", "requests", [
        "district", "is_open", "next_due", "next_kind", "next_waits_on", "next_action", "stage",
        "school", "school_year", "direction", "student_name", "id"])
    op.create_index("ix_requests_worklist_counts", "requests", [
        "district", "is_open", "stage", "school", "school_year", "direction", "next_action",
        "next_kind"])
    op.create_index("ix_requests_search", "requests",
                    ["district", "search", "is_open", "received_at", "id"])
    _fill(op.get_bind())


def _fill(connection: sa.Connection) -> None:
    from models.state import RequestState
    from models.within_request import WithinRequestState
    from store.read_model import read_model_values

    requests = sa.table(
        "requests", sa.column("id", sa.String), sa.column("direction", sa.String),
        sa.column("state", sa.JSON), sa.column("next_due", sa.Date),
        sa.column("next_kind", sa.String), sa.column("next_waits_on", sa.String),
        sa.column("next_action", sa.String), sa.column("school", sa.String),
        sa.column("student_name", sa.String), sa.column("search", sa.Text),
    )
    update = requests.update().where(requests.c.id == sa.bindparam("row_id"))
    after = ""
    while True:
        rows = connection.execute(
            sa.select(requests.c.id, requests.c.direction, requests.c.state)
            .where(requests.c.id > after).order_by(requests.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        values = []
        for row in rows:
            model = WithinRequestState if row.direction == "within" else RequestState
            state = model.model_validate(row.state)
            values.append({"row_id": row.id, **read_model_values(state)})
        connection.execute(update, values)
        after = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_requests_search", table_name="requests")
    op.drop_index("ix_requests_worklist_counts", table_name="requests")
    op.drop_index("ix_requests_worklist", table_name="requests")
    with op.batch_alter_table("requests") as batch:
        for column in ("search", "student_name", "school", "next_action", "next_waits_on",
                       "next_kind", "next_due"):
            batch.drop_column(column)
