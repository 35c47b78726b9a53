"""Payload encryption where it matters: a workflow's history as the Temporal server stores it
holds no student data, the codec server decrypts for staff who hold the key, and the CLI and
the worker work unchanged with a key configured."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads, SearchAttributes, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client, HeaderCodecBehavior
from temporalio.testing import WorkflowEnvironment

from infra.codec import (
    DATA_CONVERTER,
    ENCRYPTED_ENCODING,
    EncryptionCodec,
    data_converter,
    encryption_codec,
)
from infra.codec_server import CodecServer, make_server
from infra.settings import Settings, find_binary
from models.stages import Stage
from tests.infra.conftest import KEYS
from tests.support.databases import made_store
from tests.support.e2e import BIN, running
from tests.support.factories import DIRECTOR, make_request
from tests.support.paths import ROOT
from tests.support.ports import free_port, wait_for_port
from tests.support.proofs import trusting_tests
from tests.support.waiting import until
from tests.support.workflows import supply_documents, wait_stage
from worker import build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as P
from workflows.interdistrict_permit import PermitRequestInput


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload anywhere in a protobuf message, search attributes excepted (they are
    not encrypted by design and hold no student data)."""
    if isinstance(message, Payload):
        yield message
        return
    if isinstance(message, SearchAttributes):
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = value.values()
        elif field.is_repeated:
            values = value
        else:
            values = [value]
        for item in values:
            if isinstance(item, Message):
                yield from payloads_in(item)


async def raw_history(client: Client, workflow_id: str) -> History:
    """The history as the server holds it: straight from the gRPC service, no converter."""
    history = History()
    token = b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace, next_page_token=token,
                execution=WorkflowExecution(workflow_id=workflow_id),
            )
        )
        history.events.extend(page.history.events)
        token = page.next_page_token
        if not token:
            return history


# ---- the history on the server -------------------------------------------------------------




async def test_the_history_on_the_server_holds_no_student_data(
    encrypted_env: WorkflowEnvironment, settings: Settings
) -> None:
    request = make_request(
        student={"first_name": "Esperanza", "last_name": "Quintanilla"},
        parent={"name": "Rosalba Quintanilla", "email": "rosalba.q@example.com"},
    )
    names = [b"Esperanza", b"Quintanilla", b"Rosalba", b"rosalba.q@example.com"]
    # Headers sealed too, as `transfers` connects with keys set: the proof names a staff member.
    sealed = Client(**{**encrypted_env.client.config(),
                       "header_codec_behavior": HeaderCodecBehavior.CODEC})
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(sealed, settings, executor, trusting_tests(settings)):
            inp = PermitRequestInput(id="req-encrypted", request=request,
                                     policy=(await _policy(encrypted_env)),
                                     submitted_by="avalos")
            handle = await sealed.start_workflow(P.run, inp, id=inp.id,
                                                 task_queue=settings.task_queue)
            await supply_documents(handle)
            state = await wait_stage(handle, Stage.under_review)
            assert state.request.student.last_name == "Quintanilla"  # decoded for the client
            await handle.terminate("test over")
    history = await raw_history(encrypted_env.client, handle.id)
    raw = history.SerializeToString()
    for name in names:
        assert name not in raw
    # Not a vacuous check: the same input without the key carries the name in the clear.
    (plain,) = await DATA_CONVERTER.encode([inp])
    assert b"Quintanilla" in plain.SerializeToString()
    # Every payload is sealed but what the SDK core writes past the codec in its markers:
    # the patch id of ``workflow.patched`` and a local activity's bookkeeping (its id, type
    # and time); a local activity's result is sealed like any other.
    payloads = [p for e in history.events for p in _sealable(e)]
    assert len(payloads) > 5  # input, activity inputs and results, Update arguments, ...
    assert {p.metadata["encoding"] for p in payloads} == {ENCRYPTED_ENCODING}
    # Whoever holds the key reads it back.
    started = next(e for e in history.events
                   if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    (back,) = await data_converter(KEYS).decode(
        started.workflow_execution_started_event_attributes.input.payloads, [PermitRequestInput]
    )
    assert back.request.student.first_name == "Esperanza"


def _sealable(event: HistoryEvent) -> Iterator[Payload]:
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        yield from payloads_in(event)
        return
    marker = event.marker_recorded_event_attributes
    if marker.marker_name == "core_local_activity" and "result" in marker.details:
        yield from marker.details["result"].payloads
    elif marker.marker_name != "core_patch":
        yield from payloads_in(event)


async def _policy(env: WorkflowEnvironment) -> Any:
    from datetime import timedelta

    from tests.support.factories import make_policy
    from tests.support.workflows import today

    return make_policy(await today(env) + timedelta(days=120))


# ---- the codec server ----------------------------------------------------------------------


@pytest.fixture
def codec() -> EncryptionCodec:
    found = encryption_codec(KEYS)
    assert found is not None
    return found


TOKEN = "codec-token-of-the-tests-0123456789"


@pytest.fixture
def codec_server(codec: EncryptionCodec) -> Iterator[CodecServer]:
    server = make_server("127.0.0.1", 0, "http://ui.example:8233", codec=codec,
                         environ={"TRANSFERS_CODEC_TOKEN": TOKEN})
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def post(server: CodecServer, path: str, body: bytes, method: str = "POST",
         token: str | None = TOKEN) -> tuple[int, dict[str, str], bytes]:
    host, port = server.server_address[:2]
    headers = {"Content-Type": "application/json", "Origin": "http://ui.example:8233"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://{host}:{port}{path}", data=body if method == "POST" else None, method=method,
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def as_json(payloads: list[Payload]) -> bytes:
    return json_format.MessageToJson(Payloads(payloads=payloads)).encode()


def from_json(body: bytes) -> list[Payload]:
    return list(json_format.Parse(body, Payloads()).payloads)


async def test_the_codec_server_decodes_what_the_worker_encrypted(
    codec_server: CodecServer
) -> None:
    converter = data_converter(KEYS)
    student = {"first_name": "Ana", "last_name": "Lopez"}
    sent = await converter.encode([student, "req-1"])
    status, headers, body = post(codec_server, "/decode", as_json(sent))
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "http://ui.example:8233"
    decoded = from_json(body)
    assert [p.metadata["encoding"] for p in decoded] == [b"json/plain", b"json/plain"]
    assert json.loads(decoded[0].data) == student

    # /encode seals what /decode opens, under the current key.
    status, _, body = post(codec_server, "/encode", as_json(decoded))
    assert status == 200
    encoded = from_json(body)
    assert all(p.metadata["encoding"] == ENCRYPTED_ENCODING for p in encoded)
    assert b"Lopez" not in body
    assert await converter.decode(encoded, [dict, str]) == [student, "req-1"]


async def test_the_codec_server_refuses_bad_bodies_and_foreign_keys(
    codec_server: CodecServer
) -> None:
    status, _, body = post(codec_server, "/decode", b"{not json")
    assert status == 400 and "not a JSON Payloads body" in json.loads(body)["error"]
    status, _, body = post(codec_server, "/decode", b'{"payloads": "none"}')
    assert status == 400 and "error" in json.loads(body)
    old_key = base64.b64encode(b"o" * 32).decode()
    other = data_converter({"TRANSFERS_ENCRYPTION_KEYS": f"old:{old_key}"})
    sent = await other.encode(["x"])
    status, _, body = post(codec_server, "/decode", as_json(sent))
    assert status == 400 and "'old'" in json.loads(body)["error"]
    status, _, _ = post(codec_server, "/other", b"{}")
    assert status == 404


async def test_the_codec_server_decodes_nothing_without_a_token_it_accepts(
    codec_server: CodecServer
) -> None:
    sent = as_json(await data_converter(KEYS).encode([{"last_name": "Lopez"}]))
    for token in (None, "", "not-the-token", TOKEN[:-1]):
        status, headers, body = post(codec_server, "/decode", sent, token=token)
        assert status == 401, token
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert b"Lopez" not in body and "Bearer" in json.loads(body)["error"]
    status, _, body = post(codec_server, "/decode", sent)  # the same body, with the token
    assert status == 200 and b"Lopez" in base64.b64decode(json.loads(body)["payloads"][0]["data"])
    # No token configured, no session checker: nothing is accepted at all.
    closed = make_server("127.0.0.1", 0, codec=codec_server.codec.encryption, environ={})
    assert not closed.authorize(TOKEN) and not closed.authorize("")
    closed.server_close()


def test_the_codec_server_answers_the_ui_preflight(codec_server: CodecServer) -> None:
    # Browsers send no credentials with a preflight: it is answered without.
    status, headers, _ = post(codec_server, "/decode", b"", method="OPTIONS", token=None)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "http://ui.example:8233"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]
    assert "X-Namespace" in headers["Access-Control-Allow-Headers"]


def test_the_codec_server_needs_a_key() -> None:
    with pytest.raises(ValueError, match="no encryption key"):
        make_server("127.0.0.1", 0, environ={})
    result = subprocess.run(
        [str(BIN / "transfers"), "codec-server"], capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("TRANSFERS_ENCRYPTION")},
    )
    assert result.returncode == 1
    assert "no encryption key configured" in result.stderr


# ---- end to end: the CLI and the worker with a key -----------------------------------------


@pytest.mark.e2e
def test_the_cli_works_with_a_key_and_the_server_sees_ciphertext(tmp_path: Path) -> None:
    (tmp_path / "districts").mkdir()
    with running(tmp_path, None, persisted=False, extra_env=KEYS) as stack:

        def transfers(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
            result = subprocess.run([str(BIN / "transfers"), *args], env=stack.env,
                                    capture_output=True, text=True, timeout=60)
            assert not check or result.returncode == 0, result.stderr
            return result

        submitted = json.loads(transfers(
            "submit", str(ROOT / "examples" / "request-out.json"), "--actor", "avalos", "--json"
        ).stdout)
        request_id = submitted["id"]
        def recorded() -> subprocess.CompletedProcess[str] | None:
            """The request as `show` gives it once the worker decrypted the input and
            recorded it (awaiting documents)."""
            found = transfers("show", request_id, "--json", check=False)
            ok = found.returncode == 0 and json.loads(found.stdout)["stage"] == (
                "awaiting_documents")
            return found if ok else None

        shown = until("the request awaiting documents", recorded, every=0.2)
        state = json.loads(shown.stdout)
        assert state["request"]["student"]["last_name"] == "Lopez"
        # An Update and its answer, and a refusal's reason, through the encrypted converter.
        added = json.loads(transfers(
            "documents", "add", request_id, "--kind", "pay_stub",
            str(ROOT / "examples" / "pay-stub.pdf"), "--actor", "avalos", "--json",
        ).stdout)
        assert added["missing_documents"] == ["employer_letter"]
        refused = transfers("decide", request_id, "--approve", "--actor", DIRECTOR.name,
                            check=False)
        assert refused.returncode == 1 and "awaiting_documents" in refused.stderr

        temporal = [find_binary("temporal"), "workflow", "show", "-w", request_id,
                    "--address", stack.env["TEMPORAL_ADDRESS"], "--output", "json"]
        raw = subprocess.run(temporal, capture_output=True, text=True, timeout=60, check=True)
        assert "workflowExecutionStartedEventAttributes" in raw.stdout
        everything = raw.stdout + "".join(_base64_strings(json.loads(raw.stdout)))
        for name in ("Lopez", '"Ana"', "maria.lopez@example.com"):
            assert name not in everything

        # Staff with the key read it through the codec server, as the Web UI does.
        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "transfers"), "codec-server", "--port", str(port)], env=stack.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        # Their sign-in is their pass: the session token the CLI keeps in the data folder.
        (session, *_) = json.loads(
            (Path(stack.env["TRANSFERS_DATA_DIR"]) / "sessions.json").read_text())
        codec = [*temporal, "--codec-endpoint", f"http://127.0.0.1:{port}"]
        try:
            wait_for_port(port, what="the codec server to listen")
            refused = subprocess.run(codec, capture_output=True, text=True, timeout=60)
            decoded = subprocess.run(
                [*codec, "--codec-auth", f"Bearer {session['token']}"],
                capture_output=True, text=True, timeout=60, check=True,
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
        everything = decoded.stdout + "".join(_base64_strings(json.loads(decoded.stdout)))
        assert "Lopez" in everything and "maria.lopez@example.com" in everything
        # Without a token: 401 (see the test above), and the CLI, which retries a codec
        # server's refusal until its deadline, shows nothing.
        assert refused.returncode != 0 and "Lopez" not in refused.stdout + refused.stderr


def _base64_strings(value: Any) -> Iterator[str]:
    """Every string of a JSON document that decodes as base64, decoded (payload data)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _base64_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _base64_strings(item)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            yield base64.b64decode(value, validate=True).decode("utf-8", errors="replace")


def test_the_codec_server_takes_an_open_staff_session_and_the_configured_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from app.services import _codec_authorizer
    from store.sessions import SESSION_LIFETIME, close_session, open_session

    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRANSFERS_CODEC_TOKEN", TOKEN)
    now = datetime.now(UTC)
    authorize = _codec_authorizer()
    assert authorize(TOKEN) and not authorize("made-up")  # no store yet: none is made
    assert not (tmp_path / "records.sqlite3").exists()
    engine = made_store()
    open_now = open_session(engine, "avalos@example.org", "code", "avalos@example.org", now)
    expired = open_session(engine, "avalos@example.org", "code", "avalos@example.org",
                           now - SESSION_LIFETIME - timedelta(minutes=1))
    assert authorize(open_now) and authorize(TOKEN)
    assert not authorize(expired) and not authorize("made-up")
    close_session(engine, open_now, now)  # signed out: no longer
    assert not authorize(open_now)
