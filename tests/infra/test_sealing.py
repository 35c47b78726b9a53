"""Plaintext workflow inputs refused where encryption is required (infra/sealing.py): whoever
reaches only the Temporal server, without the key, cannot tell a workflow anything from the
cut-over on, and no workflow task is jammed by trying."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.client import (
    Client,
    HeaderCodecBehavior,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from infra.codec import (
    DATA_CONVERTER,
    KEY_FILE,
    REFUSED_ENCODING,
    SEALED_METADATA,
    data_converter,
    encryption_codec,
)
from infra.sealing import SINCE_FILE, refuse_plaintext, required_since, secure_data_folder
from infra.settings import Settings
from models.documents import DocumentKind
from models.stages import Stage
from tests.infra.conftest import KEYS
from tests.support.factories import document, make_policy, make_request
from tests.support.proofs import trusting_tests
from tests.support.workflows import today, wait_stage
from worker import build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as P
from workflows.interdistrict_permit import PermitRequestInput

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)




def clients(env: WorkflowEnvironment) -> tuple[Client, Client]:
    """The key holder's client (payloads and headers sealed, as `transfers` connects), and
    one without the key: plaintext payloads, though signed as the tests' front signs, so
    only the encryption tells the two apart."""
    config = env.client.config()
    sealed = Client(**{**config, "header_codec_behavior": HeaderCodecBehavior.CODEC})
    plain = Client(**{**config, "data_converter": DATA_CONVERTER})
    return sealed, plain


async def _input(env: WorkflowEnvironment, request_id: str) -> PermitRequestInput:
    return PermitRequestInput(id=request_id, request=make_request(),
                              policy=make_policy(await today(env) + timedelta(days=120)),
                              submitted_by="avalos")


@pytest.mark.parametrize("since", [LONG_AGO, None], ids=["required", "not-required"])
async def test_a_plaintext_update_is_refused_from_the_cut_over_and_the_workflow_goes_on(
    encrypted_env: WorkflowEnvironment, settings: Settings, since: datetime | None
) -> None:
    sealed, plain = clients(encrypted_env)
    settings = dataclasses.replace(settings, encryption_required_since=since)
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(sealed, settings, executor, trusting_tests(settings)):
            inp = await _input(encrypted_env, f"req-sealing-{since is not None}")
            handle = await sealed.start_workflow(P.run, inp, id=inp.id,
                                                 task_queue=settings.task_queue)
            before = await wait_stage(handle, Stage.awaiting_documents)
            kind = before.missing_documents[0]
            forged = plain.get_workflow_handle_for(P.run, handle.id)  # type: ignore[arg-type]
            if since is None:
                # Control: without a cut-over the same plaintext Update is believed, so what
                # refuses it below is the cut-over, not the proof check or a bad payload.
                # (Its answer is sealed: the client without the key cannot read it.)
                await forged.start_update(P.add_document, document(kind),
                                          wait_for_stage=WorkflowUpdateStage.COMPLETED)
                assert kind not in (await handle.query(P.status)).missing_documents
                await handle.terminate("test over")
                return
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await forged.execute_update(P.add_document, document(kind))
            assert isinstance(refused.value.cause, ApplicationError)
            assert refused.value.cause.type == "PlaintextRefused"
            state = await handle.query(P.status)  # nothing of it was taken
            assert state.missing_documents == before.missing_documents
            assert state.documents == before.documents
            # Not jammed: the key holder's Update goes through, on the same workflow.
            after = await handle.execute_update(P.add_document, document(kind))
            assert kind not in after.missing_documents
            await handle.terminate("test over")


async def test_a_workflow_started_with_plaintext_fails_at_once(
    encrypted_env: WorkflowEnvironment, settings: Settings
) -> None:
    sealed, plain = clients(encrypted_env)
    settings = dataclasses.replace(settings, encryption_required_since=LONG_AGO)
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(sealed, settings, executor, trusting_tests(settings)):
            inp = await _input(encrypted_env, "req-sealing-forged-start")
            handle = await plain.start_workflow(P.run, inp, id=inp.id,
                                                task_queue=settings.task_queue)
            with pytest.raises(WorkflowFailureError) as failed:
                await handle.result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "PlaintextRefused"


# ---- the pieces ------------------------------------------------------------------------------


def _activation(*payloads: Payload) -> WorkflowActivation:
    activation = WorkflowActivation()
    update = activation.jobs.add().do_update
    update.name = "add_document"
    update.input.extend(payloads)
    signal = activation.jobs.add().signal_workflow
    signal.signal_name = "lottery_news"
    signal.input.extend(payloads)
    activation.jobs.add().initialize_workflow.arguments.extend(payloads)
    return activation


async def test_only_what_the_key_sealed_is_believed() -> None:
    converter = data_converter(KEYS)
    (encoded,) = await converter.encode([document(DocumentKind.pay_stub)])
    assert converter.payload_codec is not None
    (decoded,) = await converter.payload_codec.decode([encoded])
    assert decoded.metadata[SEALED_METADATA] == b"district-2026"
    activation = _activation(decoded)
    assert refuse_plaintext(activation) == []
    assert activation.jobs[0].do_update.input[0] == decoded

    # Plaintext, even one that claims the mark, is refused in every kind of input.
    (plain,) = await DATA_CONVERTER.encode([document(DocumentKind.pay_stub)])
    plain.metadata[SEALED_METADATA] = b"district-2026"
    (passed,) = await converter.payload_codec.decode([plain])
    assert SEALED_METADATA not in passed.metadata
    assert SEALED_METADATA in plain.metadata  # the caller's payload is left as it was
    activation = _activation(passed)
    assert refuse_plaintext(activation) == [
        "do_update add_document", "signal_workflow lottery_news", "initialize_workflow "]
    for inputs in (activation.jobs[0].do_update.input, activation.jobs[1].signal_workflow.input,
                   activation.jobs[2].initialize_workflow.arguments):
        assert [p.metadata["encoding"] for p in inputs] == [REFUSED_ENCODING]
        assert b"pay_stub" not in inputs[0].SerializeToString()  # nothing of it kept
    with pytest.raises(ApplicationError, match="not encrypted") as refused:
        converter.payload_converter.from_payloads(list(activation.jobs[0].do_update.input))
    assert refused.value.non_retryable


def test_the_cut_over_comes_from_the_variable_or_the_dev_key(tmp_path: Path) -> None:
    env = {"TRANSFERS_DATA_DIR": str(tmp_path)}
    assert required_since(env) is None  # no key: nothing sealed, nothing refused
    assert required_since(KEYS | env) is None  # keys, no cut-over: plaintext still read
    since = {"TRANSFERS_ENCRYPTION_REQUIRED_SINCE": "2026-08-01T00:00:00-05:00"}
    assert required_since(KEYS | env | since) == datetime(2026, 8, 1, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="UTC offset"):
        required_since(KEYS | env | {"TRANSFERS_ENCRYPTION_REQUIRED_SINCE": "2026-08-01"})
    with pytest.raises(ValueError, match="not an ISO 8601"):
        required_since(KEYS | env | {"TRANSFERS_ENCRYPTION_REQUIRED_SINCE": "August"})

    now = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    assert secure_data_folder(tmp_path, now)
    key = (tmp_path / KEY_FILE).read_text()
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / SINCE_FILE).stat().st_mode & 0o777 == 0o600
    codec = encryption_codec(env)
    assert codec is not None and codec.key_ids == ["dev-20261202"]
    assert required_since(env) == now
    assert required_since(env | since) == datetime(2026, 8, 1, 5, tzinfo=UTC)  # it wins
    assert required_since(KEYS | env) is None  # the variable's keys: not the file's cut-over
    assert not secure_data_folder(tmp_path, now + timedelta(days=1))  # made once, kept
    assert (tmp_path / KEY_FILE).read_text() == key

    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(ValueError, match="readable by others"):
        encryption_codec(env)
