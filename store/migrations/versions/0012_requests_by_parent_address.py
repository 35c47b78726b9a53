"""a parent's requests by index (0012, after 0011; 2026-12-03): each request's row carries its
parent's address, lowercased (``parent_email``, store.read_model), under an index, so the
portal finds a parent's requests (store.parents.requests_of, on every page a parent opens)
without reading the search text of every request (bench/portal.py: 50 ms a page at 24,000
requests, the status page's own cost). Existing rows are filled from their JSON state."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0012", "0011"  # branch_labels and depends_on: none

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("parent_email", sa.String(length=320), server_default="",
                                   nullable=False))
    op.create_index("ix_requests_parent_email", "requests", ["parent_email"])
    _fill(op.get_bind())


def _fill(connection: sa.Connection) -> None:
    requests = sa.table("requests", sa.column("id", sa.String), sa.column("state", sa.JSON),
                        sa.column("parent_email", sa.String))
    update = requests.update().where(requests.c.id == sa.bindparam("row_id"))
    after = ""
    while True:
        rows = connection.execute(
            sa.select(requests.c.id, requests.c.state)
            .where(requests.c.id > after).order_by(requests.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(update, [
            {"row_id": row.id,
             "parent_email": str(row.state["request"]["parent"]["email"]).lower()}
            for row in rows])
        after = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_requests_parent_email", table_name="requests")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("parent_email")
