"""Plaintext workflow inputs refused where encryption is required (issue 16).

With encryption on, whatever a workflow is told (its start's arguments, a signal's, an
Update's, and their headers) was written by a holder of the key. Whoever can only reach the
Temporal server (its API, its database) can still send a plaintext input, which the codec
lets through so old histories replay (``codec.py``). From a cut-over on, such an input is not
believed: the worker puts a stand-in where its arguments were (``codec.REFUSED_ENCODING``),
which the payload converter refuses with a non-retryable error, so

- an Update is rejected before its validator runs (nothing of it enters the history);
- a signal is dropped (the SDK logs it; its handler never runs);
- a workflow started with it fails at once, before any of its code runs;

and no workflow task fails, so nothing is jammed. The check sits around the workflow instance
(`RefusingRunner`) because that is the one place that sees both the decoded payloads of each
job and the time of the workflow task.

The cut-over, ``TRANSFERS_ENCRYPTION_REQUIRED_SINCE`` (ISO 8601 with its offset), is compared
with the workflow task's own time (the activation's timestamp, which a replay sees again), not
the clock: whether an input is believed is a function of the history alone, so a history that
took a plaintext Update before the cut-over replays the same after it. Where it comes from:

- the variable, when set (it wins);
- unset, with the keys of the data folder's key file that `transfers dev` made: the instant
  it made the key, written beside it (``encryption.required-since``): a fresh dev stack
  refuses plaintext from its first workflow, and a dev data folder of an earlier version keeps
  replaying the workflows it ran before;
- unset, with ``TRANSFERS_ENCRYPTION_KEYS`` set: no cut-over, plaintext is still read (the
  worker warns at start). A deployment that ran without encryption cannot be told from one
  that never did, and refusing what its histories hold would jam its running workflows;
- no key at all: nothing is sealed, nothing refused.

Set it no earlier than the moment every worker and client had the keys: a plaintext input a
history took after the cut-over would be refused on replay (a nondeterminism error)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner

from infra.codec import KEY_FILE, REFUSED_ENCODING, encryption_codec, is_sealed, keys_from_file

REQUIRED_SINCE_VARIABLE = "TRANSFERS_ENCRYPTION_REQUIRED_SINCE"
SINCE_FILE = "encryption.required-since"  # beside the key file `transfers dev` made

log = logging.getLogger(__name__)


def parse_instant(text: str, source: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{source} is not an ISO 8601 date-time: {text.strip()!r}") from None
    if instant.tzinfo is None:  # which midnight? refused rather than guessed
        raise ValueError(f"{source} needs its UTC offset (e.g. 2026-08-01T00:00:00+00:00)")
    return instant


def required_since(environ: Mapping[str, str] = os.environ) -> datetime | None:
    """The cut-over from which plaintext workflow inputs are refused (see the module), None
    when they are not; a ValueError naming the problem when the configuration is wrong."""
    if encryption_codec(environ) is None:
        return None
    text = environ.get(REQUIRED_SINCE_VARIABLE, "").strip()
    if text:
        return parse_instant(text, REQUIRED_SINCE_VARIABLE)
    from infra.codec import key_file

    beside = key_file(environ).with_name(SINCE_FILE)
    if keys_from_file(environ) and beside.is_file():
        return parse_instant(beside.read_text(), str(beside))
    return None


def secure_data_folder(data_dir: Path, now: datetime) -> bool:
    """Encryption on by default for a data folder without keys (``transfers dev``): a new key
    (``codec.make_key_file``) and, beside it, the cut-over: now. True when it made them."""
    from infra.codec import make_key_file

    if (data_dir / KEY_FILE).exists():
        return False
    # The cut-over first: a key without it would leave plaintext believed.
    descriptor = os.open(data_dir / SINCE_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(now.astimezone(UTC).isoformat() + "\n")
    return make_key_file(data_dir, now) is not None


# The jobs that tell a workflow something: the field of their name and of their arguments.
_INPUTS = {
    "initialize_workflow": ("workflow_type", "arguments"),
    "signal_workflow": ("signal_name", "input"),
    "do_update": ("name", "input"),
}


def refuse_plaintext(activation: WorkflowActivation) -> list[str]:
    """Put the stand-in in place of the arguments of every start, signal and Update of
    ``activation`` that carries a payload that was not encrypted; what it refused, named."""
    refused = []
    for job in activation.jobs:
        kind = job.WhichOneof("variant")
        if kind not in _INPUTS:
            continue
        name_field, arguments_field = _INPUTS[kind]
        told = getattr(job, kind)
        arguments = getattr(told, arguments_field)
        if all(is_sealed(p) for p in (*arguments, *told.headers.values())):
            continue
        # One stand-in for each argument (at least one: a handler without arguments is
        # refused too); nothing of the plaintext is kept.
        stand_ins = [Payload(metadata={"encoding": REFUSED_ENCODING})] * max(1, len(arguments))
        del arguments[:]
        arguments.extend(stand_ins)
        refused.append(f"{kind} {getattr(told, name_field)}")
    return refused


class RefusingRunner(WorkflowRunner):
    """``inner``'s workflow instances, with plaintext inputs refused from ``since`` on."""

    def __init__(self, inner: WorkflowRunner, since: datetime) -> None:
        self.inner = inner
        self.since = since

    def prepare_workflow(self, defn: Any) -> None:
        self.inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Refusing(self.inner.create_instance(det), self.since)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.inner.set_worker_level_failure_exception_types(types)


class _Refusing(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, since: datetime) -> None:
        self.inner = inner
        self.since = since

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        # The task's time, not the clock's: a replay decides as the first run did.
        if act.HasField("timestamp") and act.timestamp.ToDatetime(tzinfo=UTC) >= self.since:
            refused = refuse_plaintext(act)
            if refused and not act.is_replaying:
                log.warning("refused plaintext input(s) to workflow run %s: %s", act.run_id,
                            ", ".join(refused))
        return self.inner.activate(act)

    def get_serialization_context(self, command_info: Any) -> Any:
        return self.inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self.inner.get_external_store_context(command_info)

    def get_info(self) -> Any:
        return self.inner.get_info()

    def get_thread_id(self) -> int | None:
        return self.inner.get_thread_id()

    def __getattr__(self, name: str) -> Any:  # anything else the SDK asks of an instance
        return getattr(self.inner, name)
