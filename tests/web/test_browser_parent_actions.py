"""Parents acting on the portal in a real browser (Debian's Chromium through Playwright;
docs/portal.md "Parents acting") against a real stack: the Temporal dev server and a worker
as processes, a request submitted as staff enter one, `transfers portal` on a free port. The
parent signs in with the code from the outbox, hands in the two documents the request misses
(a PDF and a phone photo) and sees it move on to review; axe-core finds no violation on any
page. (An offer answered is tests/web/test_parent_actions.py's: a lottery's offer needs its
window to close first, minutes of a real clock.)"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.browser import (
    EXPECT_TIMEOUT,
    chromium,
    console_environment,
    no_violations,
    outbox_code,
)
from tests.support.e2e import BIN, Stack
from tests.support.ports import free_port, is_open
from tests.support.servers import stop_process
from tests.support.waiting import until

pytestmark = pytest.mark.e2e
MARIA = "maria@example.com"  # tests/support/factories.py's parent
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


@dataclass
class Portal:
    stack: Stack
    address: str


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium()
    expect.set_options(timeout=EXPECT_TIMEOUT)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture()
def portal(tmp_path: Path) -> Iterator[Portal]:
    """A stack for the test district, and `transfers portal` on it (codes to the outbox)."""
    with Stack.of_test_district(tmp_path) as stack:
        port = free_port()
        log = tmp_path / "portal.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [str(BIN / "transfers"), "portal", "--port", str(port)],
                env=console_environment(stack.env), stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)

        def listening() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"transfers portal exited ({process.returncode}): "
                                     f"{log.read_text(errors='replace')[-3000:]}")
            return is_open(port)

        try:
            until("the portal to listen", listening, every=0.1)
            yield Portal(stack, f"http://127.0.0.1:{port}")
        finally:
            stop_process(process)


def _sign_in(page: Page, portal: Portal) -> None:
    page.goto(f"{portal.address}/requests")
    no_violations(page)
    page.get_by_label(re.compile("email", re.IGNORECASE)).fill(MARIA)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.locator("#code").fill(outbox_code(portal.stack.tmp / "data", MARIA))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    no_violations(page)


def test_a_parent_sends_two_documents_and_the_request_goes_to_review(
        browser: Browser, portal: Portal) -> None:
    request_id = portal.stack.submit("P7001", reason="parent_employment")
    page = browser.new_context().new_page()
    _sign_in(page, portal)
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
