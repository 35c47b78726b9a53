"""The staff console in this process (Starlette's TestClient, no browser): a records store
and outbox of a test's own, requests of two districts written to the store as a worker would,
and staff signed in through the console's own forms with the code read from the outbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import context
from models.documents import DocumentKind, DocumentRecord
from models.stages import Stage
from store import records
from store.documents import DocumentStore
from store.engine import make_engine
from tests.support.factories import T0, make_request, state_at
from tests.support.signin import code_in, outbox_messages
from web.app import create_app, create_portal

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
UNDER_REVIEW = [Stage.submitted, Stage.awaiting_documents, Stage.under_review]
PARAMOUNT_ID = "paramount-2027-2028-out-web1"
MILLARD_ID = "millard-2027-2028-out-web2"  # another district's (an interdistrict row there)
LEASE = b"%PDF-1.4 a lease\n"


def use_own_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """This test's data folder and SQLite records store; codes to the outbox."""
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    monkeypatch.setenv("TRANSFERS_DATABASE_URL", url)
    make_engine(url).dispose()  # made and migrated, as `transfers db upgrade` would
    for name in ("TRANSFERS_SMTP_HOST", "TRANSFERS_DISTRICTS_DIR", "TRANSFERS_OIDC_ISSUER",
                 "TRANSFERS_OIDC_CLIENT_ID", "TRANSFERS_OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


def write_requests() -> DocumentRecord:
    """A Paramount request under review with a lease on file, and a request of Millard's;
    the lease's record."""
    stored = DocumentStore(context.settings().documents_dir).put("lease.pdf", LEASE)
    lease = DocumentRecord(kind=DocumentKind.escrow_or_lease, name="lease.pdf",
                           sha256=stored.sha256, size=stored.size, recorded_by="avalos",
                           recorded_at=T0 + timedelta(hours=1))
    ours = state_at(3, PARAMOUNT_ID, UNDER_REVIEW, documents=[lease],
                    decision_due=(T0 + timedelta(days=30)).date())
    theirs = state_at(2, MILLARD_ID, UNDER_REVIEW,
                      request=make_request(district="millard",
                                           student={"first_name": "Zed", "last_name": "Other"}))
    engine = context.engine()
    for state in (ours, theirs):
        records.record_events(engine, state, state.history)
    return lease


def token(page: str) -> str:
    found = CSRF.search(page)
    assert found, f"no CSRF token in the page: {page[:500]}"
    return found.group(1)


def client() -> TestClient:
    # https: the cookies are Secure, and a client keeps them for HTTPS only.
    return TestClient(create_app(), base_url="https://testserver", follow_redirects=False)


def portal_client() -> TestClient:
    """The parent portal, as `client` is the console."""
    return TestClient(create_portal(), base_url="https://testserver", follow_redirects=False)


def sign_in(http: TestClient, address: str) -> None:
    """Through the console's forms, with the code the outbox received."""
    form = token(http.get("/signin").text)
    sent = http.post("/signin/code", data={"csrf": form, "email": address, "next": "/"})
    assert sent.status_code == 200, sent.text
    code = code_in(outbox_messages(context.settings().outbox_dir), address)
    done = http.post("/signin/verify", data={"csrf": token(sent.text), "email": address,
                                             "code": code, "next": "/"})
    assert done.status_code == 303, done.text


@contextmanager
def signed_in(address: str) -> Iterator[TestClient]:
    with client() as http:
        sign_in(http, address)
        yield http
