"""Parents on the portal in a real browser (Debian's Chromium through Playwright;
docs/portal.md "Parents signing in"): `transfers portal` as its own process on a records
store the test wrote, a parent signing in by keyboard alone with the code the outbox
received, their request's status with its deadlines, in Spanish on a phone's 375 px screen,
and axe-core on every page."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from app import context
from tests.support.browser import PHONE, fits, no_violations, outbox_code, tab_to
from tests.support.browser import portal as portal_process
from tests.support.console import use_own_store
from tests.support.parents import DENIED_ID, DOCUMENTS_ID, MARIA, write_families

pytestmark = pytest.mark.e2e


@pytest.fixture()
def portal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """`transfers portal` on a free port, on this test's records store and outbox (the
    families of tests/support/parents.py); its address."""
    use_own_store(monkeypatch, tmp_path)
    write_families()
    with portal_process(dict(os.environ), tmp_path / "portal.log") as address:
        yield address


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
    tab_to(page, "#email")
    page.keyboard.type(MARIA)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("A code was sent to")
    no_violations(page)
    tab_to(page, "#code")
    page.keyboard.type(outbox_code(_data_dir(), MARIA))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    no_violations(page)

    tab_to(page, f'a[href="/requests/{DOCUMENTS_ID}"]')
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
    fits(page)
    no_violations(page)
    page.get_by_label("Su correo electrónico").fill(MARIA)
    page.get_by_role("button", name="Enviarme un código").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Escriba su código")
    fits(page)
    no_violations(page)
    page.get_by_label("El código de ocho dígitos").fill(outbox_code(_data_dir(), MARIA))
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis solicitudes")
    fits(page)
    no_violations(page)

    page.locator(f'a[href="/requests/{DENIED_ID}"]').click()
    appeal = page.locator("section[aria-labelledby=appeal]")
    expect(appeal).to_contain_text("Cómo apelar")
    expect(appeal).to_contain_text("Quedan 25 días")
    expect(page.locator("section[aria-labelledby=deadlines]")).to_contain_text(
        "Último día para apelar ante el condado")
    fits(page)
    no_violations(page)
