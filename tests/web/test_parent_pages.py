"""Parents on the portal, in process (Starlette's TestClient; docs/portal.md "Parents signing
in"): a code from the outbox signs them in, once, in time, within five tries; any address
gets the same answer; a parent reads their own requests only, and another family's is "not
found" exactly as a missing one; a staff session is no parent's, nor the reverse; every form
needs its token."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import context, parent_signin
from store.sessions import CODE_LIFETIME
from tests.support.console import client, portal_client, signed_in, token, use_own_store
from tests.support.parents import (
    DENIED_ID,
    DOCUMENTS_ID,
    GUARDIAN,
    MARIA,
    OFFER,
    OTHER,
    RECEIPT,
    ROSTER_ID,
    STAFF_ONLY,
    THEIRS_ID,
    WAITLISTED_ID,
    ask_code,
    later,
    newest_code,
    not_found_alike,
    sign_in_parent,
    verify,
    write_families,
)
from tests.support.signin import outbox_messages
from web.i18n import LANGUAGES
from web.security import PORTAL_SESSION_COOKIE, SESSION_COOKIE

AVALOS = "avalos@paramount.example.org"
UNKNOWN = "nobody.here@example.org"


@pytest.fixture(autouse=True)
def families(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)
    write_families()


def _sent_to(address: str) -> int:
    return sum(1 for m in outbox_messages(context.settings().outbox_dir)
               if m["To"] == address)


def test_a_parent_signs_in_with_the_code_from_the_outbox() -> None:
    with portal_client() as http:
        assert 'href="/signin"' in http.get("/").text
        assert http.get("/requests").headers["location"] == "/signin?next=/requests"
        page = ask_code(http, MARIA)
        assert "A code was sent to" in page
        done = verify(http, page, MARIA, newest_code(MARIA))
        assert done.status_code == 303 and done.headers["location"] == "/requests"
        cookie = next(c for c in done.headers.get_list("set-cookie")
                      if c.startswith(PORTAL_SESSION_COOKIE + "="))
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
        assert "Max-Age=" in cookie
        mine = http.get("/requests")
        assert mine.status_code == 200
        for request_id in (DOCUMENTS_ID, DENIED_ID, WAITLISTED_ID):
            assert request_id in mine.text
        assert THEIRS_ID not in mine.text and "Zed" not in mine.text
        assert ROSTER_ID not in mine.text
        # Each with its stage in plain words and its next deadline.
        assert "Waiting for your documents" in mine.text
        assert "Send the missing documents" in mine.text and "10 days left" in mine.text
        assert "On the waiting list" in mine.text


def test_a_code_works_once() -> None:
    with portal_client() as http:
        page = ask_code(http, MARIA)
        code = newest_code(MARIA)
        assert verify(http, page, MARIA, code).status_code == 303
    with portal_client() as again:
        page = ask_code(again, UNKNOWN)  # any page with a form of this browser
        reused = verify(again, page, MARIA, code)
        assert reused.status_code == 400
        assert "That code no longer works" in reused.text
        assert PORTAL_SESSION_COOKIE not in reused.headers.get("set-cookie", "")


def test_an_expired_code_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with portal_client() as http:
        page = ask_code(http, MARIA)
        code = newest_code(MARIA)
        late = datetime.now(UTC) + CODE_LIFETIME + timedelta(seconds=1)
        monkeypatch.setattr(parent_signin, "_now", lambda: late)
        expired = verify(http, page, MARIA, code)
        assert expired.status_code == 400 and "That code no longer works" in expired.text
        assert http.get("/requests").status_code == 303


def test_five_wrong_codes_end_the_code() -> None:
    with portal_client() as http:
        page = ask_code(http, MARIA)
        code = newest_code(MARIA)
        wrong = f"{(int(code) + 1) % 10 ** 8:08d}"
        for _ in range(4):
            refused = verify(http, page, MARIA, wrong)
            assert refused.status_code == 400 and "That code is not right" in refused.text
        fifth = verify(http, page, MARIA, wrong)
        assert fifth.status_code == 400 and "That code no longer works" in fifth.text
        right_too_late = verify(http, page, MARIA, code)
        assert right_too_late.status_code == 400
        assert "That code no longer works" in right_too_late.text
        assert http.get("/requests").status_code == 303


def test_known_and_unknown_addresses_get_the_same_answer_and_a_code() -> None:
    with portal_client() as http:
        known = ask_code(http, MARIA)
        unknown = ask_code(http, UNKNOWN)
    assert unknown.replace(UNKNOWN, "X") == known.replace(MARIA, "X")
    assert "A code was sent to" in known and "If this address is known" not in known
    newest_code(MARIA)  # mailed after the answer: here once each is
    newest_code(UNKNOWN)
    assert _sent_to(MARIA) == 1 and _sent_to(UNKNOWN) == 1
    mails = {m["To"]: m for m in outbox_messages(context.settings().outbox_dir)}
    assert mails[MARIA]["Subject"] == mails[UNKNOWN]["Subject"]
    body = mails[UNKNOWN].get_payload(decode=True).decode()
    assert "If you did not ask for it, ignore this message" in body
    # The limit of three codes in fifteen minutes holds for any address alike.
    with portal_client() as http:
        for address in (MARIA, UNKNOWN):
            for _ in range(2):
                ask_code(http, address)
            form = token(http.get("/signin").text)
            fourth = http.post("/signin/code", data={"csrf": form, "email": address})
            assert fourth.status_code == 400 and "Three codes were sent" in fourth.text


def test_a_new_address_signs_in_to_no_requests() -> None:
    with portal_client() as http:
        sign_in_parent(http, UNKNOWN)
        mine = http.get("/requests")
        assert mine.status_code == 200
        assert "No request of yours is on file yet" in mine.text
        assert 'href="/apply"' in mine.text
        for request_id in (DOCUMENTS_ID, DENIED_ID, WAITLISTED_ID, THEIRS_ID, ROSTER_ID):
            assert request_id not in mine.text
            assert http.get(f"/requests/{request_id}").status_code == 404


@pytest.mark.parametrize("address", ["not an address", "no-domain@", "two@at@example.org",
                                     "nodot@localhost"])
def test_a_malformed_address_gets_no_code(address: str) -> None:
    """Only an address a request's form takes (models/people.py): a parent who signs in can
    apply."""
    with portal_client() as http:
        form = token(http.get("/signin").text)
        refused = http.post("/signin/code", data={"csrf": form, "email": address})
        assert refused.status_code == 400 and "Enter your email address." in refused.text
    assert not outbox_messages(context.settings().outbox_dir)


def test_a_roster_guardian_signs_in_and_sees_the_students_requests() -> None:
    with portal_client() as http:
        sign_in_parent(http, GUARDIAN)  # the roster writes it in mixed case
        mine = http.get("/requests")
        assert ROSTER_ID in mine.text and DOCUMENTS_ID not in mine.text
        offer = http.get(f"/requests/{ROSTER_ID}")
        assert offer.status_code == 200
        assert "A seat is offered" in offer.text and "3 days left" in offer.text
        # The district's letters about the student, as sent to the parent who filed the
        # request; the staff's own are nobody's here.
        assert OFFER in offer.text and STAFF_ONLY not in offer.text


def test_the_status_page_says_what_the_parent_was_told_and_what_runs() -> None:
    with portal_client() as http:
        sign_in_parent(http, MARIA)
        page = http.get(f"/requests/{DOCUMENTS_ID}").text
        assert "Escrow papers or a lease" in page  # still missing, by when
        assert "10 days left" in page and "Send them by" in page
        assert RECEIPT in page and "Sent" in page  # the notice as sent, and its delivery
        assert STAFF_ONLY not in page  # a staff notice is not the parent's
        assert "why 1" not in page and "avalos" not in page  # no staff note, no actor
        assert "Mar 1, 2027" in page  # the timeline, in the district's time zone
        denied = http.get(f"/requests/{DENIED_ID}").text
        assert "How to appeal" in denied and "25 days left" in denied
        assert "County Office of Education" in denied
        assert later(25).strftime("%B") in denied and str(later(25).year) in denied
        waitlisted = http.get(f"/requests/{WAITLISTED_ID}").text
        assert re.search(r'id="waitlist">4<', waitlisted)


def test_another_familys_request_is_not_found_as_a_missing_one() -> None:
    theirs = not_found_alike("/requests/{id}", THEIRS_ID)
    assert "Zed" not in theirs and OTHER not in theirs


def test_student_data_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with portal_client() as http:
        sign_in_parent(http, MARIA)
        http.get(f"/requests/{DOCUMENTS_ID}")
        http.get(f"/requests/{THEIRS_ID}")
    logged = caplog.text
    for private in ("Ana", "Lopez", "Zed", MARIA, OTHER):
        assert private not in logged


def test_a_staff_session_is_no_parents_nor_the_reverse() -> None:
    with signed_in(AVALOS) as console:
        staff_token = console.cookies.get(SESSION_COOKIE)
    assert staff_token
    with portal_client() as http:
        http.cookies.set(PORTAL_SESSION_COOKIE, staff_token, domain="testserver.local")
        assert http.get("/requests").status_code == 303
        assert http.get(f"/requests/{DOCUMENTS_ID}").status_code == 303
    with portal_client() as http:
        sign_in_parent(http, MARIA)
        parent_token = http.cookies.get(PORTAL_SESSION_COOKIE)
    assert parent_token and parent_token != staff_token
    with client() as console:
        console.cookies.set(SESSION_COOKIE, parent_token, domain="testserver.local")
        assert console.get("/").status_code == 303  # to sign in: no staff member


def test_every_post_without_its_token_is_refused_and_does_nothing() -> None:
    with portal_client() as http:
        http.get("/signin")
        without = http.post("/signin/code", data={"email": MARIA})
        forged = http.post("/signin/code", data={"email": MARIA, "csrf": "0" * 64})
        assert without.status_code == forged.status_code == 403
        assert _sent_to(MARIA) == 0
        sign_in_parent(http, MARIA)
        assert http.post("/signout", data={}).status_code == 403
        assert http.get("/requests").status_code == 200  # still signed in
        out = http.post("/signout", data={"csrf": token(http.get("/requests").text)})
        assert out.status_code == 303
        assert http.get("/requests").status_code == 303


def test_the_pages_speak_spanish() -> None:
    assert "es" in LANGUAGES
    with portal_client() as http:
        http.headers["accept-language"] = "es-MX,es;q=0.9"
        sign_in_parent(http, MARIA)
        mine = http.get("/requests").text
        assert "Mis solicitudes" in mine and "Esperando sus documentos" in mine
        status = http.get(f"/requests/{DENIED_ID}").text
        assert "Cómo apelar" in status and "Quedan 25 días" in status


def test_sign_in_steps_from_one_client_are_limited() -> None:
    with portal_client() as http:
        form = token(http.get("/signin").text)
        answers = [http.post("/signin/verify", data={"csrf": form, "email": MARIA,
                                                     "code": "00000000"}).status_code
                   for _ in range(21)]
    assert answers[:20] == [400] * 20 and answers[20] == 429


def test_a_notices_link_leads_to_its_request_after_sign_in() -> None:
    """A notice links to /requests/<id> on the portal: sign in first, then that page."""
    with portal_client() as http:
        first = http.get(f"/requests/{DOCUMENTS_ID}")
        assert first.status_code == 303
        signin = http.get(first.headers["location"])
        assert f'name="next" value="/requests/{DOCUMENTS_ID}"' in signin.text
        sent = http.post("/signin/code", data={"csrf": token(signin.text), "email": MARIA,
                                               "next": f"/requests/{DOCUMENTS_ID}"})
        done = http.post("/signin/verify", data={
            "csrf": token(sent.text), "email": MARIA, "code": newest_code(MARIA),
            "next": f"/requests/{DOCUMENTS_ID}"})
        assert done.headers["location"] == f"/requests/{DOCUMENTS_ID}"
        assert http.get(done.headers["location"]).status_code == 200
        # Never another site.
        page = ask_code(http, MARIA)
        away = http.post("/signin/verify", data={"csrf": token(page), "email": MARIA,
                                                 "code": newest_code(MARIA, after=1),
                                                 "next": "//evil.example/"})
        assert away.headers["location"] == "/requests"
