"""Writing a process's audit trail (docs/cross-cutting.md "Audit"): every workflow changes its
stage, keeps its search attributes current and adds the entry the same way, here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from infra.proofs import CURRENT_PROOF
    from models.audit import AuditEntry, NumberedEntry
    from workflows.common.attributes import Publisher

EntryT = TypeVar("EntryT", bound=AuditEntry[Any])


class Staged(Protocol):
    """What an audit entry moves: a request's state, a lottery's record, a permit's state."""

    stage: Any


def append(
    owner: Staged,
    trail: list[EntryT],
    entry: type[EntryT],
    stage: StrEnum,
    event: str,
    actor: str,
    reason: str = "",
    *,
    attributes: Publisher,
    due: Callable[[], date | datetime | None],
) -> int:
    """Move ``owner`` to ``stage`` (or keep it there), publish the stage and ``due()`` (what
    it waits on now, read after the move), and add the audit entry, numbered when the trail's
    entries are (``NumberedEntry``). Returns the entry's number in the trail; the caller
    writes the records store."""
    owner.stage = stage
    attributes.publish(stage, due())
    seq = len(trail) + 1
    numbered = {"seq": seq} if issubclass(entry, NumberedEntry) else {}
    # An entry written while a staff action's Update is handled keeps that action's proof.
    proof = CURRENT_PROOF.get()
    signed = {"proof": proof} if proof is not None else {}
    trail.append(entry(**numbered, at=workflow.now(), stage=stage, event=event, actor=actor,
                       reason=reason, **signed))
    return seq
