"""Parents acting on the portal in a real browser (Debian's Chromium through Playwright;
docs/portal.md "Parents acting") against a real stack: the Temporal dev server and a worker
as processes, a request submitted as staff enter one, `transfers portal` on a free port. The
parent signs in with the code from the outbox, hands in the two documents the request misses
(a PDF and a phone photo) and sees it move on to review; axe-core finds no violation on any
page. A within-district parent accepts a seat offered after the draw (a window that closes
about a minute and a half after the stack starts, certified and a seat added by staff through
the CLI) by its last day, and the request is placed."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from models.lottery_record import LotteryRecord
from store import lotteries
from store.engine import make_engine
from tests.e2e.test_within import DISTRICT, SEATS, TZ, form, next_year_district
from tests.support.browser import no_violations, outbox_code
from tests.support.browser import portal as portal_process
from tests.support.e2e import BIN, Running, Stack, running
from tests.support.waiting import until

pytestmark = pytest.mark.e2e
MARIA = "maria@example.com"  # tests/support/factories.py's parent
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


@dataclass
class Portal:
    stack: Stack
    address: str


@pytest.fixture()
def portal(tmp_path: Path) -> Iterator[Portal]:
    """A stack for the test district, and `transfers portal` on it."""
    with Stack.of_test_district(tmp_path) as stack, \
            portal_process(stack.env, tmp_path / "portal.log") as address:
        yield Portal(stack, address)


def _sign_in(page: Page, address: str, data_dir: Path, email: str = MARIA) -> None:
    page.goto(f"{address}/requests")
    no_violations(page)
    page.get_by_label(re.compile("email", re.IGNORECASE)).fill(email)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.locator("#code").fill(outbox_code(data_dir, email))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    no_violations(page)


def test_a_parent_sends_two_documents_and_the_request_goes_to_review(
        browser: Browser, portal: Portal) -> None:
    request_id = portal.stack.submit("P7001", reason="parent_employment")
    page = browser.new_context().new_page()
    _sign_in(page, portal.address, portal.stack.tmp / "data")
    page.locator(f'a[href="/requests/{request_id}"]').click()
    expect(page.locator(".stage")).to_have_text("Waiting for your documents")
    send = page.locator("section[aria-labelledby=send]")
    expect(send).to_be_visible()
    no_violations(page)

    # A file that is not what its name says first: refused beside its field, nothing sent.
    page.get_by_label("Pay stub").set_input_files(
        files=[{"name": "stub.pdf", "mimeType": "application/pdf", "buffer": b"plain words"}])
    page.get_by_role("button", name="Send the documents").click()
    expect(page.locator("#document-pay_stub-error")).to_contain_text("is not a PDF or a photo")
    expect(page.get_by_label("Pay stub")).to_have_attribute("aria-invalid", "true")
    no_violations(page)

    page.get_by_label("Pay stub").set_input_files(
        files=[{"name": "stub.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.get_by_label(re.compile("employer", re.IGNORECASE)).set_input_files(
        files=[{"name": "letter.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    page.get_by_role("button", name="Send the documents").click()
    expect(page.get_by_role("status")).to_have_text("Thank you: your documents were received.")
    no_violations(page)

    def reviewed() -> bool:  # the stage moves on as the workflow writes the store
        page.reload()
        return page.locator(".stage").inner_text() == "The district is reviewing your request"

    until("the request to be under review", reviewed, every=0.5)
    expect(page.locator("section[aria-labelledby=send]")).to_have_count(0)
    no_violations(page)

    # Withdrawn after the confirmation, by keyboard.
    page.get_by_role("link", name="Withdraw this request").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Withdraw the request?")
    no_violations(page)
    page.get_by_role("button", name="Yes, withdraw the request").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Your request was withdrawn.")
    no_violations(page)


# ---- an offer -------------------------------------------------------------------------------

CLOSE_AFTER = 90  # seconds from the stack's start to the window's close (CI is loaded)
NORRIS_1 = [n for n in range(2, 60) if n % len(SEATS) == 1][:3]  # 3 forms for its 2 seats


def _cli(stack: Running, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BIN / "transfers"), *args], env=stack.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def _stored(stack: Running, lottery_id: str) -> LotteryRecord | None:
    engine = make_engine(f"sqlite:///{stack.tmp / 'data' / 'records.sqlite3'}")
    try:
        return lotteries.get_lottery(engine, lottery_id)
    finally:
        engine.dispose()


def test_a_within_district_parent_accepts_an_offered_seat(
        browser: Browser, tmp_path: Path) -> None:
    (tmp_path / "districts").mkdir()
    closes = datetime.now(TZ).replace(microsecond=0) + timedelta(seconds=CLOSE_AFTER)
    text, year = next_year_district(closes)
    (tmp_path / "districts" / f"{DISTRICT}.toml").write_text(text)
    lottery_id = f"lottery-{DISTRICT}-{year}"
    with running(tmp_path, None, persisted=False) as stack, \
            portal_process(stack.env, tmp_path / "portal.log") as address:
        files = []
        for n in NORRIS_1:
            path = tmp_path / f"form-{n}.json"
            path.write_text(json.dumps(form(n, year)))
            files.append(str(path))
        _cli(stack, "submit", *files, "--actor", "olsen", "--json")
        wait = (closes - datetime.now(TZ)).total_seconds() + 60
        until("the draw", lambda: (r := _stored(stack, lottery_id)) is not None
              and r.result is not None, wait, every=0.5)
        _cli(stack, "lottery", "certify", DISTRICT, year, "--actor", "tran",
             "--all-paper-entered")
        until("the released result", lambda: (r := _stored(stack, lottery_id)) is not None
              and r.certified and r.waitlists != [])
        school, program, grade, _ = SEATS[1]
        _cli(stack, "lottery", "add-seats", DISTRICT, year, "--school", school, "--program",
             program, "--grade", str(grade), "--seats", "1", "--actor", "olsen")
        record = until("the offer", lambda: (r := _stored(stack, lottery_id)) is not None
                       and r.offers and r, every=0.5)
        offered = record.offers[0].application_id
        n = int(record.offers[0].student_id.removeprefix("E2E"))  # tests/e2e/test_within.py
        parent = f"parent{n}@example.org"

        page = browser.new_context().new_page()
        _sign_in(page, address, tmp_path / "data", parent)
        page.locator(f'a[href="/requests/{offered}"]').click()

        def shown_offered() -> bool:  # the lottery's news reaches the request by a signal
            page.reload()
            return page.locator(".stage").inner_text() == "A seat is offered to your student"

        until("the offer on the request's page", shown_offered, every=0.5)
        expect(page.locator("section[aria-labelledby=offer]")).to_contain_text(
            "The last day to accept it is")
        no_violations(page)
        page.get_by_role("button", name="Accept the seat").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_have_text(
            "You accepted the seat. The district will confirm the placement.")
        no_violations(page)

        def placed() -> bool:
            page.reload()
            return page.locator(".stage").inner_text() == "Placed: your student has the seat"

        until("the request to be placed", placed, every=0.5)
        expect(page.get_by_role("button", name="Accept the seat")).to_have_count(0)
        no_violations(page)
