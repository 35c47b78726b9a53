"""The audit trail every process keeps (docs/cross-cutting.md "Audit"): one entry type,
generic over the process's stages, so a request, a lottery and a permit write the same line.

The JSON of each entry is what running workflows and the records store already hold: the same
field names, defaults and order (``seq`` first where there is one). A permit's yearly events
were never numbered, so a permit's entry is the plain ``AuditEntry``; the request and lottery
trails number theirs (``NumberedEntry``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from models.base import Model

StageT = TypeVar("StageT", bound=StrEnum)


class AuditEntry(Model, Generic[StageT]):
    """One thing that happened: when, the stage it left the process in, what, who and why."""

    at: datetime
    stage: StageT
    event: str
    actor: str
    reason: str = ""
    proof: str | None = None  # the signed proof of a staff action (infra.proofs); None else


class _Sequenced(Model):
    seq: int  # the entry's place in its trail, from 1; notice keys and lottery news cite it


# ``_Sequenced`` comes after ``AuditEntry`` among the bases so that pydantic, which collects
# fields from the last base first, puts ``seq`` first: the order the recorded JSON has.
class NumberedEntry(AuditEntry[StageT], _Sequenced, Generic[StageT]):
    """An audit entry with its number in the trail."""
