"""Parents applying in a real browser (Debian's Chromium through Playwright; docs/portal.md
"Parents applying"): `transfers portal` as its own process beside the Temporal dev server and
a worker (tests/support/e2e.py's stack), a roster guardian signing in with the code from the
outbox and applying out of the district for work by keyboard alone, landing on the request's
page; the same in Spanish on a 375 px screen; axe-core on every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from app import context
from store.schema import RosterLinkRow, RosterPersonRow
from tests.support.browser import PHONE, fits, no_violations, outbox_code, tab_to
from tests.support.browser import portal as portal_process
from tests.support.e2e import district_toml, local_today, running

pytestmark = pytest.mark.e2e
TODAY = local_today()
YEAR = f"{TODAY.year}-{TODAY.year + 1}"  # district_toml's current school year, open now
LUCIA, ELENA = "lucia.garcia@example.org", "elena.ruiz@example.org"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dev server, a worker and the portal on one records store, with testdistrict's
    roster: Lucia (Mateo, grade 10) and Elena (Sara, grade 9)."""
    tmp = tmp_path_factory.mktemp("apply")
    (tmp / "districts").mkdir()
    (tmp / "districts" / "testdistrict.toml").write_text(district_toml(TODAY))
    with running(tmp, None, persisted=False) as stack, pytest.MonkeyPatch.context() as patch:
        for name, value in stack.env.items():
            if name.startswith(("TRANSFERS_", "TEMPORAL_")):
                patch.setenv(name, value)
        _roster()
        with portal_process(stack.env, tmp / "portal.log") as address:
            yield address


def _roster() -> None:
    now = datetime.now(UTC)
    common = {"district": "testdistrict", "school_year": YEAR, "attendance_area": None,
              "active": True, "updated_at": now, "home_school_id": None}
    with Session(context.engine()) as session, session.begin():
        for guardian, given, email, student, child, grade in (
                ("g-lucia", "Lucia", LUCIA, "T-100", "Mateo", 10),
                ("g-elena", "Elena", ELENA, "T-200", "Sara", 9)):
            session.add(RosterPersonRow(
                sourced_id=guardian, kind="guardian", role="parent", identifier="",
                given_name=given, family_name="Garcia", email=email, email_key=email,
                grade=None, school_id=None, **common))
            session.add(RosterPersonRow(
                sourced_id=f"s-{student}", kind="student", role="student", identifier=student,
                given_name=child, family_name="Garcia", email=None, email_key=None,
                grade=grade, school_id="central-high", **common))
            session.add(RosterLinkRow(district="testdistrict", student=f"s-{student}",
                                      guardian=guardian))


def _data_dir() -> Path:
    return context.settings().data_dir


def _sign_in(page: Page, portal: str, address: str, email_label: str, send: str,
             code_label: str, enter: str) -> None:
    page.goto(f"{portal}/requests")
    page.get_by_label(email_label).fill(address)
    page.get_by_role("button", name=send).click()
    page.get_by_label(code_label).fill(outbox_code(_data_dir(), address))
    page.get_by_role("button", name=enter).click()


def test_a_parent_applies_out_for_work_by_keyboard_and_lands_on_the_status_page(
        browser: Browser, portal: str) -> None:
    page = browser.new_context().new_page()
    _sign_in(page, portal, LUCIA, "Your email address", "Send me a code",
             "The eight-digit code", "Sign in")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    no_violations(page)
    tab_to(page, 'a[href="/apply"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply for a transfer")
    no_violations(page)
    tab_to(page, 'a[href="/apply/testdistrict"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply for an interdistrict permit")
    no_violations(page)

    # Keyboard only: a radio group is one Tab stop; Space checks, an arrow moves and checks.
    tab_to(page, 'input[name="direction"][value="out"]')
    page.keyboard.press("Space")
    tab_to(page, 'input[name="reason"]')
    page.keyboard.press("Space")  # the first: bullying
    page.keyboard.press("ArrowDown")  # the second: a parent's place of employment
    checklist = page.locator("#checklist")
    expect(checklist).to_contain_text("pay stub")  # htmx refreshed it with the reason
    expect(checklist).not_to_contain_text("Investigation report")
    tab_to(page, 'input[name="student"]')
    page.keyboard.press("Space")  # Mateo, the roster's
    tab_to(page, 'input[name="parent.relationship"]')
    page.keyboard.press("Space")  # a natural parent
    tab_to(page, "#school_year")
    page.keyboard.type(YEAR[:4])
    tab_to(page, "#other_district")
    page.keyboard.type("Downey Unified")
    no_violations(page)
    page.keyboard.press("Enter")  # sends: the no-script checklist button is not the first

    expect(page).to_have_url(re.compile(r"/requests/testdistrict-"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mateo Garcia")
    no_violations(page)


def test_in_spanish_on_a_375_px_screen(browser: Browser, portal: str) -> None:
    page = browser.new_context(viewport=PHONE, locale="es-MX").new_page()
    _sign_in(page, portal, ELENA, "Su correo electrónico", "Enviarme un código",
             "El código de ocho dígitos", "Iniciar sesión")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis solicitudes")
    page.get_by_role("link", name="Solicitar un traslado").click()
    fits(page)
    no_violations(page)
    page.locator('a[href="/apply/testdistrict"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Solicitar un permiso entre distritos")
    fits(page)
    no_violations(page)
    page.get_by_label("Salir: mi hijo vive en este distrito y asistirá a otro", exact=True).check()
    page.get_by_label("El lugar de trabajo de uno de los padres", exact=True).check()
    expect(page.locator("#checklist")).to_contain_text("talón de pago")
    page.get_by_label("Sara Garcia", exact=True).check()
    page.get_by_label("Padre o madre (biológico)", exact=True).check()
    page.get_by_label("Año escolar", exact=True).select_option(YEAR)
    page.get_by_label("El otro distrito", exact=True).fill("Downey Unified")
    # A missing name first: the error beside its field, in the page's words around it.
    page.get_by_label("Su nombre completo", exact=True).fill("")
    page.get_by_role("button", name="Enviar la solicitud").click()
    expect(page.locator("#parent-name-error")).to_contain_text("parent.name")
    expect(page.locator("#parent-name-error")).to_contain_text(  # intake's, in Spanish
        "Debe tener al menos 1 carácter")
    expect(page.get_by_label("Su nombre completo", exact=True)).to_have_attribute(
        "aria-describedby", "parent-name-error")
    fits(page)
    no_violations(page)
    page.get_by_label("Su nombre completo", exact=True).fill("Elena Garcia")
    page.get_by_role("button", name="Enviar la solicitud").click()
    expect(page).to_have_url(re.compile(r"/requests/testdistrict-"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sara Garcia")
    fits(page)
    no_violations(page)
