"""Parents on the portal in a real browser (Debian's Chromium through Playwright;
docs/portal.md "Parents signing in"): `transfers portal` as its own process on a records
store the test wrote, a parent signing in by keyboard alone with the code the outbox
received, their request's status with its deadlines, in Spanish on a phone's 375 px screen,
and axe-core on every page."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app import context
from tests.support.browser import EXPECT_TIMEOUT, chromium, no_violations, outbox_code
from tests.support.console import use_own_store
from tests.support.e2e import BIN
from tests.support.parents import DENIED_ID, DOCUMENTS_ID, MARIA, write_families
from tests.support.ports import free_port, is_open
from tests.support.servers import stop_process
from tests.support.waiting import until

pytestmark = pytest.mark.e2e
PHONE = {"width": 375, "height": 740}


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
def portal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """`transfers portal` on a free port, on this test's records store and outbox (the
    families of tests/support/parents.py); its address."""
    use_own_store(monkeypatch, tmp_path)
    write_families()
    port = free_port()
    log = tmp_path / "portal.log"
    with log.open("w") as output:
        process = subprocess.Popen([str(BIN / "transfers"), "portal", "--port", str(port)],
                                   env=dict(os.environ), stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)

    def listening() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"transfers portal exited ({process.returncode}): "
                                 f"{log.read_text(errors='replace')[-3000:]}")
        return is_open(port)

    try:
        until("the portal to listen", listening, every=0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def _tab_to(page: Page, selector: str) -> None:
    """Tab until ``selector`` has the focus (as a keyboard user would), at most 30 times."""
    for _ in range(30):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width} px"


def _data_dir() -> Path:
    return context.settings().data_dir


def test_a_parent_signs_in_by_keyboard_and_reads_the_status_on_a_phone(
        browser: Browser, portal: str) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{portal}/requests")
    expect(page).to_have_url(re.compile(r"/signin\?next=/requests$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to follow your requests")
    no_violations(page)

    # Keyboard only: Tab to each field, type, Enter.
    _tab_to(page, "#email")
    page.keyboard.type(MARIA)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("If this address is known")
    no_violations(page)
    _tab_to(page, "#code")
    page.keyboard.type(outbox_code(_data_dir(), MARIA))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    no_violations(page)

    _tab_to(page, f'a[href="/requests/{DOCUMENTS_ID}"]')
    page.keyboard.press("Enter")
    expect(page.locator(".stage")).to_have_text("Waiting for your documents")
    deadlines = page.locator("section[aria-labelledby=deadlines]")
    expect(deadlines).to_contain_text("Send the missing documents")
    expect(deadlines).to_contain_text("10 days left")
    expect(page.locator("section[aria-labelledby=documents]")).to_contain_text(
        "Escrow papers or a lease")
    no_violations(page)


def test_in_spanish_on_a_375_px_screen(browser: Browser, portal: str) -> None:
    page = browser.new_context(viewport=PHONE, locale="es-MX").new_page()
    page.goto(f"{portal}/signin")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Inicie sesión para seguir sus solicitudes")
    _fits(page)
    no_violations(page)
    page.get_by_label("Su correo electrónico").fill(MARIA)
    page.get_by_role("button", name="Enviarme un código").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Escriba su código")
    _fits(page)
    no_violations(page)
    page.get_by_label("El código de ocho dígitos").fill(outbox_code(_data_dir(), MARIA))
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis solicitudes")
    _fits(page)
    no_violations(page)

    page.locator(f'a[href="/requests/{DENIED_ID}"]').click()
    appeal = page.locator("section[aria-labelledby=appeal]")
    expect(appeal).to_contain_text("Cómo apelar")
    expect(appeal).to_contain_text("Quedan 25 días")
    expect(page.locator("section[aria-labelledby=deadlines]")).to_contain_text(
        "Último día para apelar ante el condado")
    _fits(page)
    no_violations(page)
