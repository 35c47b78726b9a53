"""Parents on the portal in a real browser (Debian's Chromium through Playwright;
docs/portal.md "Parents signing in"): `transfers portal` as its own process on a records
store the test wrote, a parent signing in by keyboard alone with the code the outbox
received, their request's status with its deadlines, in Spanish on a phone's 375 px screen,
the approval received with the permit's PDF and the same PDF downloaded from the request's
page, and axe-core on every page."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from activities.notices import NoticeActivities
from app import context
from models.notices import Notice, NoticeKind
from models.stages import Stage
from store import records
from tests.support.browser import PHONE, fits, no_violations, outbox_code, tab_to
from tests.support.browser import portal as portal_process
from tests.support.console import use_own_store
from tests.support.e2e import attachments_of
from tests.support.notices import CASES, pdf_text, permit_code_in_store
from tests.support.parents import DENIED_ID, DOCUMENTS_ID, MARIA, write_families
from tests.support.read_models import interdistrict
from tests.support.signin import outbox_messages

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


APPROVED_ID = "paramount-2027-2028-out-fam6"


def _approve_and_notify() -> tuple[str, bytes]:
    """Maria's request approved as a worker records it, and its notice sent to the outbox
    as the worker sends it; the PDF attached to the mail she receives."""
    engine = context.engine()
    state = interdistrict(Stage.approved, APPROVED_ID, seq=2, permit_id=f"PERMIT-{APPROVED_ID}",
                          request={"student": {"first_name": "Inés", "last_name": "Muñoz"}})
    records.record_events(engine, state, state.history)
    settings = context.settings()
    NoticeActivities(engine, settings.outbox_dir, portal_url=settings.portal_url).send_notice(
        Notice(key=f"{APPROVED_ID}:approved:2", request_id=APPROVED_ID,
               kind=NoticeKind.approved, sender="pupil-services@paramount.example.org",
               to=[MARIA], facts={**CASES[NoticeKind.approved][0], "school": "",
                                  "request_id": APPROVED_ID, "permit_id": state.permit_id}))
    (mail,) = [m for m in outbox_messages(settings.outbox_dir)
               if m["To"] == MARIA and "approved" in m["Subject"]]
    media, pdf = attachments_of(mail)[f"PERMIT-{APPROVED_ID}.pdf"]
    assert media == "application/pdf"
    return str(state.permit_id), pdf


def test_a_parent_receives_the_approval_with_the_permit_pdf_and_downloads_it(
        browser: Browser, portal: str) -> None:
    permit_id, attached = _approve_and_notify()
    code = permit_code_in_store(context.engine(), "paramount", permit_id)
    assert code in pdf_text(attached) and "Inés Muñoz" in pdf_text(attached)

    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(f"{portal}/requests/{APPROVED_ID}")
    page.get_by_label("Your email address").fill(MARIA)
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("The eight-digit code").fill(outbox_code(_data_dir(), MARIA))
    page.get_by_role("button", name="Sign in").click()
    permit = page.locator("section[aria-labelledby=permit]")
    expect(permit).to_contain_text(permit_id)
    no_violations(page)
    with page.expect_download() as started:
        permit.get_by_role("link", name="Download the permit (PDF)").click()
    download = started.value
    assert download.suggested_filename == f"{permit_id}.pdf"
    downloaded = Path(download.path()).read_bytes()
    # The page's PDF is the mail's: the same permit, in the same language, byte for byte.
    assert downloaded == attached
