"""Parents acting on the portal, in process (docs/portal.md "Parents acting"): documents handed
in through the documents store's checks, a withdrawal after its confirmation, an offer
answered; each through the application layer with a proof signed for the parent, which the
request's workflow (a real one, on a time-skipping server) verifies; another family's request
is "not found" and nothing changes; every POST needs its token."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app import context
from app import temporal as app_temporal
from infra.proofs import ACTING, Keyring
from models.documents import DocumentKind
from models.stages import Stage
from store import records
from store.secrets import trusted_keys
from tests.support.console import portal_client, token, use_own_store
from tests.support.factories import make_input, make_request
from tests.support.parents import (
    DOCUMENTS_ID,
    GUARDIAN,
    MARIA,
    ROSTER_ID,
    THEIRS_ID,
    WAITLISTED_ID,
    later,
    sign_in_parent,
    write_families,
)
from tests.support.read_models import interdistrict
from tests.support.waiting import eventually
from tests.support.workflows import start, today, wait_stage
from workflows.lottery import LotteryWorkflow

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
TWO_MISSING = "paramount-2027-2028-out-fam7"  # Maria's, two documents missing
TEXT = b"just some words, not a scan of anything\n"


@pytest.fixture
def env(private_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """A server of this module's own: the portal signs its proofs by the wall clock."""
    return private_env


@pytest.fixture
def families(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)
    write_families()


def _stored_files() -> list[Path]:
    root = context.settings().documents_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def maria(families: None) -> Iterator[TestClient]:
    with portal_client() as http:
        sign_in_parent(http, MARIA)
        yield http


def _send(http: TestClient, request_id: str, files: list[tuple[str, tuple[str, bytes]]],
          csrf: str | None = None) -> Any:
    page = http.get(f"/requests/{request_id}").text
    return http.post(f"/requests/{request_id}/documents",
                     data={"csrf": csrf if csrf is not None else token(page)},
                     files=[(f"document-{kind}", (name, content)) for kind, (name, content)
                            in files])


# ---- refusals (each before anything reaches a workflow) ------------------------------------


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("lease.pdf", TEXT, "is not a PDF or a photo"),
    ("lease.jpg", PDF, "is not a PDF or a photo"),  # a PDF named as a photo
    ("lease.pdf", b"", "This file is empty"),
    ("lease\u202efdp.exe", PDF, "name cannot be used"),  # a name that hides its ending
    ("lease.pdf", b"%PDF-1.4\n" + b"0" * (25 * 1024 * 1024), "too large"),
])
def test_a_bad_file_is_refused_next_to_its_field_and_nothing_is_stored(
    maria: TestClient, name: str, content: bytes, reason: str,
) -> None:
    before = records.get_request(context.engine(), DOCUMENTS_ID)
    refused = _send(maria, DOCUMENTS_ID, [("escrow_or_lease", (name, content))])
    assert refused.status_code in (400, 413), refused.text
    assert reason in refused.text
    if refused.status_code == 400:  # by its field, which says it is invalid
        assert 'id="document-escrow_or_lease-error"' in refused.text
        assert 'aria-invalid="true"' in refused.text
    assert _stored_files() == []  # not even a temporary copy
    assert records.get_request(context.engine(), DOCUMENTS_ID) == before


def test_one_file_too_large_refuses_the_packet_beside_its_field(maria: TestClient) -> None:
    """Two documents missing: a good PDF and a file over 25 MB. The large one is refused by
    its size (the form's whole size is within the two documents' room) beside its field, and
    the good one is not stored either: all of a packet or none."""
    two = interdistrict(Stage.awaiting_documents, TWO_MISSING, seq=2,
                        missing_documents=[DocumentKind.pay_stub, DocumentKind.employer_letter],
                        documents_due=later(10), request={"student": {"id": "S1007"}})
    records.record_events(context.engine(), two, two.history)
    big = b"%PDF-1.4\n" + b"0" * (25 * 1024 * 1024)
    refused = _send(maria, TWO_MISSING, [("pay_stub", ("stub.pdf", PDF)),
                                         ("employer_letter", ("letter.pdf", big))])
    assert refused.status_code == 400, refused.text
    assert 'id="document-employer_letter-error"' in refused.text
    assert "This file is too large" in refused.text
    assert 'id="document-pay_stub-error"' not in refused.text
    assert _stored_files() == []
    assert records.get_request(context.engine(), TWO_MISSING) == two


def test_a_body_of_unknown_size_is_not_read(maria: TestClient) -> None:
    page = maria.get(f"/requests/{DOCUMENTS_ID}").text
    body = (f'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token(page)}\r\n'
            '--b\r\nContent-Disposition: form-data; name="document-escrow_or_lease"; '
            'filename="lease.pdf"\r\nContent-Type: application/pdf\r\n\r\n').encode()
    chunked = maria.post(f"/requests/{DOCUMENTS_ID}/documents",
                         content=iter([body, PDF, b"\r\n--b--\r\n"]),
                         headers={"content-type": "multipart/form-data; boundary=b"})
    assert chunked.status_code == 411 and "came without their size" in chunked.text
    assert _stored_files() == []


def test_a_post_without_its_token_is_refused_and_does_nothing(maria: TestClient) -> None:
    before = records.get_request(context.engine(), DOCUMENTS_ID)
    for csrf in ("", "0" * 64):
        sent = _send(maria, DOCUMENTS_ID, [("escrow_or_lease", ("lease.pdf", PDF))], csrf)
        assert sent.status_code == 403
    for path, data in ((f"/requests/{DOCUMENTS_ID}/withdraw", {"confirm": "yes"}),
                       (f"/requests/{WAITLISTED_ID}/offer", {"answer": "accept"})):
        assert maria.post(path, data=data).status_code == 403
    assert _stored_files() == []
    assert records.get_request(context.engine(), DOCUMENTS_ID) == before


def test_another_familys_request_is_not_found_and_nothing_changes(maria: TestClient) -> None:
    page = maria.get(f"/requests/{DOCUMENTS_ID}").text
    before = records.get_request(context.engine(), THEIRS_ID)
    csrf = token(page)
    for request_id in (THEIRS_ID, ROSTER_ID):  # another family's; another guardian's
        attempts = [
            maria.post(f"/requests/{request_id}/documents", data={"csrf": csrf},
                       files=[("document-escrow_or_lease", ("lease.pdf", PDF))]),
            maria.get(f"/requests/{request_id}/withdraw"),
            maria.post(f"/requests/{request_id}/withdraw", data={"csrf": csrf,
                                                                 "confirm": "yes"}),
            maria.post(f"/requests/{request_id}/offer", data={"csrf": csrf,
                                                              "answer": "accept"}),
        ]
        assert [a.status_code for a in attempts] == [404] * 4
    assert _stored_files() == []
    assert records.get_request(context.engine(), THEIRS_ID) == before


def test_withdrawing_is_asked_first_and_nothing_is_sent_unconfirmed(maria: TestClient) -> None:
    page = maria.get(f"/requests/{DOCUMENTS_ID}").text
    assert f'href="/requests/{DOCUMENTS_ID}/withdraw"' in page
    asked = maria.get(f"/requests/{DOCUMENTS_ID}/withdraw")
    assert asked.status_code == 200 and "Nothing is done until you confirm" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    unconfirmed = maria.post(f"/requests/{DOCUMENTS_ID}/withdraw",
                             data={"csrf": token(asked.text)})
    assert unconfirmed.status_code == 200 and "Yes, withdraw the request" in unconfirmed.text
    assert records.get_request(context.engine(), DOCUMENTS_ID).stage is Stage.awaiting_documents


def test_an_offer_is_answered_with_a_proof_for_the_parent(
    families: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The roster's grandmother accepts the seat offered to her grandson: the lottery's Update,
    signed for her with the role ``parent`` only (the lottery's own checks are
    tests/workflows/test_proofs.py's); a decline is asked first."""
    sent: list[tuple[str, Any, Any, Any]] = []

    async def update(workflow_id: str, update_: Any, action: Any, result_type: type) -> Any:
        sent.append((workflow_id, update_, action, ACTING.get()))
        return None

    monkeypatch.setattr(app_temporal, "update", update)
    with portal_client() as http:
        sign_in_parent(http, GUARDIAN)
        page = http.get(f"/requests/{ROSTER_ID}").text
        assert "Accept the seat" in page and "Decline the seat" in page
        declining = http.post(f"/requests/{ROSTER_ID}/offer",
                              data={"csrf": token(page), "answer": "decline"})
        assert "Once declined" in declining.text and sent == []
        done = http.post(f"/requests/{ROSTER_ID}/offer",
                         data={"csrf": token(page), "answer": "accept"})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/requests/{ROSTER_ID}?done=accepted"
        assert "You accepted the seat" in http.get(done.headers["location"]).text
    [(workflow_id, update_, answer, acting)] = sent
    assert workflow_id == "lottery-millard-2027-2028" and update_ == LotteryWorkflow.accept_offer
    assert answer.application_id == ROSTER_ID
    assert acting.subject == f"parent:{GUARDIAN.lower()}" and acting.roles == ("parent",)
    assert answer.actor.name == acting.name == f"parent {GUARDIAN.lower()}"


def test_no_offer_no_answer(maria: TestClient) -> None:
    page = maria.get(f"/requests/{DOCUMENTS_ID}").text
    assert "Accept the seat" not in page
    refused = maria.post(f"/requests/{DOCUMENTS_ID}/offer",
                         data={"csrf": token(page), "answer": "accept"})
    assert refused.status_code == 409 and "No seat is offered" in refused.text


# ---- through the request's workflow -----------------------------------------------------


async def _maria_request(env: WorkflowEnvironment, worker: Worker,
                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reason: str) -> str:
    """A request of Maria's awaiting its documents, as the worker wrote it to the store the
    portal reads."""
    use_own_store(monkeypatch, tmp_path)  # the worker's records store, the portal's too
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", env.client.namespace)
    first = await today(env)
    inp = make_input(f"paramount-2027-2028-out-act{uuid.uuid4().hex[:6]}",
                     first.replace(year=first.year + 1), make_request(reason=reason))
    handle = await start(env, worker.task_queue, inp)
    await wait_stage(handle, Stage.awaiting_documents)
    await eventually(lambda: records.get_request(context.engine(), inp.id),
                     lambda found: found is not None and found.stage is Stage.awaiting_documents,
                     what="the request in the store")
    return inp.id


async def test_a_parent_sends_two_documents_and_the_missing_list_shrinks(
    env: WorkflowEnvironment, worker: Worker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    request_id = await _maria_request(env, worker, monkeypatch, tmp_path, "child_care")

    def send() -> tuple[Any, str]:
        with portal_client() as http:
            sign_in_parent(http, MARIA)
            page = http.get(f"/requests/{request_id}").text
            assert 'enctype="multipart/form-data"' in page
            for kind in ("child_care_provider_letter", "child_care_boundary_proof",
                         "child_care_parent_letter"):
                assert f'name="document-{kind}"' in page
            done = _send(http, request_id, [
                ("child_care_provider_letter", ("provider.pdf", PDF)),
                ("child_care_boundary_proof", ("map.jpg", JPEG)),
            ])
            return done, http.get(done.headers.get("location", "/requests")).text

    done, after = await asyncio.to_thread(send)
    assert done.status_code == 303, done.text
    assert "your documents were received" in after
    assert 'name="document-child_care_parent_letter"' in after
    assert 'name="document-child_care_provider_letter"' not in after
    state = records.get_request(context.engine(), request_id)
    assert [k.value for k in state.missing_documents] == ["child_care_parent_letter"]
    assert len(_stored_files()) == 2
    added = [e for e in records.get_history(context.engine(), request_id)
             if e.event == "document_added"]
    assert [e.actor for e in added] == [f"parent {MARIA}"] * 2  # the audit names the parent


async def test_a_parent_withdraws_after_confirming(
    env: WorkflowEnvironment, worker: Worker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    request_id = await _maria_request(env, worker, monkeypatch, tmp_path, "moving")

    def withdraw() -> tuple[Any, str]:
        with portal_client() as http:
            sign_in_parent(http, MARIA)
            asked = http.get(f"/requests/{request_id}/withdraw").text
            done = http.post(f"/requests/{request_id}/withdraw",
                             data={"csrf": token(asked), "confirm": "yes"})
            return done, http.get(done.headers.get("location", "/requests")).text

    done, after = await asyncio.to_thread(withdraw)
    assert done.status_code == 303, done.text
    assert "Your request was withdrawn" in after and "Withdraw this request" not in after
    state = records.get_request(context.engine(), request_id)
    assert state.stage is Stage.withdrawn
    last = records.get_history(context.engine(), request_id)[-1]
    assert last.event == "withdrawn" and last.actor == f"parent {MARIA}"
    # The trail keeps the proof: signed with the district's key, for the parent and no staff.
    keyring = Keyring({key.kid: key for key in trusted_keys(context.engine())})
    claims = keyring.signed_claims(last.proof or "")
    assert (claims.sub, claims.roles, claims.wf) == (f"parent:{MARIA}", ["parent"], request_id)



def test_the_forms_speak_spanish(maria: TestClient) -> None:
    spanish = {"Accept-Language": "es-MX,es;q=0.9"}
    page = maria.get(f"/requests/{DOCUMENTS_ID}", headers=spanish).text
    assert "Envíe sus documentos" in page and "Retirar esta solicitud" in page
    refused = maria.post(f"/requests/{DOCUMENTS_ID}/documents", headers=spanish,
                         data={"csrf": token(page)},
                         files=[("document-escrow_or_lease", ("lease.pdf", b""))])
    assert "Este archivo está vacío" in refused.text and "No se envió nada" in refused.text
