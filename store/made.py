"""When the records store was made, and the check that it was not lost (docs/cross-cutting.md
"Records you can lose"): a store made after workflows of its task queue had started is one
that was emptied or recreated under them, and a worker does not write into it until
`transfers db rebuild` made it whole."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from temporalio.client import Client

from store.records import StoreUnusable
from store.schema import SecretRow

MADE_AT = "store-made-at"  # the secrets table's row (migration 0005 writes it)
# The store's clock (the CLI's or the worker's machine) against the Temporal server's: a
# first submission opens the store before its workflow starts, so only skew can put a
# workflow's start before the store; more than this is not skew.
SKEW = timedelta(seconds=5)
REBUILD_COMMAND = "transfers db rebuild"


class StoreLost(StoreUnusable):
    """The records store was made after workflows that write to it had started."""


def made_at(engine: Engine) -> datetime | None:
    """When the store was made; None for a store of before revision 0005 (not known)."""
    with engine.connect() as connection:
        value = connection.execute(select(SecretRow.value).filter_by(name=MADE_AT)).scalar()
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def move_made_at(engine: Engine, when: datetime) -> bool:
    """Record the store as made at ``when`` if that is earlier than what it says (a rebuild
    has made it hold what Temporal holds since then); True when it moved."""
    current = made_at(engine)
    if current is not None and current <= when:
        return False
    value = when.astimezone(UTC).isoformat()
    with engine.begin() as connection:
        if current is None:
            connection.execute(SecretRow.__table__.insert().values(name=MADE_AT, value=value))
        else:
            connection.execute(update(SecretRow).filter_by(name=MADE_AT).values(value=value))
    return True


def visibility_query(workflows: Sequence[type], task_queue: str) -> str:
    """The visibility query for the ``workflows`` (classes) of ``task_queue``: those that
    write this store."""
    # The type name each class is registered under (``@workflow.defn(name=...)``).
    names = [getattr(w, "__temporal_workflow_definition").name for w in workflows]
    types = ", ".join(f"'{name}'" for name in names)
    return f"WorkflowType IN ({types}) AND TaskQueue = '{task_queue}'"


async def check_not_lost(
    engine: Engine, client: Client, workflows: Sequence[type], task_queue: str
) -> None:
    """Raise `StoreLost` when a workflow of ``task_queue`` started before the store was made
    (less `SKEW`): its records were in a store that is gone. A store that does not know when
    it was made (before revision 0005) is not judged."""
    made = made_at(engine)
    if made is None:
        return
    before = (made - SKEW).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    query = f'{visibility_query(workflows, task_queue)} AND StartTime < "{before}"'
    async for older in client.list_workflows(query, limit=1):
        raise StoreLost(
            f"the records store was made at {made.isoformat(timespec='seconds')}, after "
            f"workflow {older.id} started ({older.start_time.isoformat(timespec='seconds')}): "
            f"it was emptied or recreated and has lost their records; run "
            f"`{REBUILD_COMMAND}` to rebuild it from Temporal before starting a worker"
        )
