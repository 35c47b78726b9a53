"""A paper form at intake: who received it and when, checked before anything starts
(docs/cross-cutting.md "Paper forms"); the workflows check the time again on their clock."""

from __future__ import annotations

from datetime import datetime

from models.district import DistrictBase
from rules import receipts
from rules.errors import PolicyError


def check_paper(
    config: DistrictBase, received_at: datetime | None, received_by: str | None, now: datetime
) -> None:
    """A paper form names when and by whom it was received, both or neither: a staff member
    of the district's roster, at a time not in the future and within the district's
    ``paper_entry_days`` (``rules.receipts.check_received``)."""
    if received_at is None and received_by is None:
        return
    if received_at is None or received_by is None:
        raise PolicyError("a paper form gives both when it was received (--received-at) and "
                          "who received it (--received-by)")
    if config.staff_member(received_by) is None:
        raise PolicyError(f"received by {received_by!r}: not a staff member of {config.id}")
    receipts.check_received(received_at, now, config.paper_entry_days, config.timezone)

