"""The portal's public pages in a real browser (Debian's Chromium through Playwright) against
`transfers portal` as its own process on a records store of this module's: axe-core on the
policy page in both languages, on permit verification and on a released lottery, and those
pages on a phone's 375 px wide screen without sideways scrolling."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from app import context, permit_codes
from models.lottery_record import LotteryStage
from store import lotteries
from store.engine import make_engine
from tests.support.browser import PHONE, no_violations, portal
from tests.support.public import SEED, YEAR, lottery_record, stored_permit

pytestmark = pytest.mark.e2e

PHONE_WIDTH = PHONE["width"]


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A records store of this module's, in this process (to write a permit) and the portal's."""
    folder = tmp_path_factory.mktemp("portal-public")
    url = f"sqlite:///{folder / 'records.sqlite3'}"
    make_engine(url).dispose()  # made and migrated, as `transfers db upgrade` would
    mine = {"TRANSFERS_DATA_DIR": str(folder / "data"), "TRANSFERS_DATABASE_URL": url}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in mine.items():
            patch.setenv(name, value)
        for name in ("TRANSFERS_DISTRICTS_DIR", "TRANSFERS_SMTP_HOST"):
            patch.delenv(name, raising=False)
        yield dict(os.environ)


@pytest.fixture(scope="module")
def address(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[str]:
    """`transfers portal` on a free port until the module ends."""
    log = tmp_path_factory.mktemp("portal-log") / "portal.log"
    with portal(environment, log) as running:
        yield running


@pytest.mark.parametrize(("language", "heading"), [
    ("en", "Transfer policy: Paramount Unified School District"),
    ("es", "Política de traslados: Paramount Unified School District"),
])
def test_the_policy_page_has_no_accessibility_violations(
        browser: Browser, address: str, language: str, heading: str) -> None:
    context = browser.new_context(locale=language,
                                  extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    for district in ("paramount", "millard"):
        page.goto(f"{address}/policy/{district}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        no_violations(page)
    page.goto(f"{address}/policy/paramount")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    context.close()


def test_verify_a_permit_with_no_accessibility_violations(
        browser: Browser, address: str, environment: dict[str, str]) -> None:
    code = permit_codes.permit_code(stored_permit(7))
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{address}/")
    page.get_by_role("link", name="Verify a permit").click()
    expect(page.get_by_role("heading", name="Verify a permit")).to_be_visible()
    no_violations(page)
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Valid (active)")).to_be_visible()
    no_violations(page)
    page.get_by_label("Verification code").fill("ABCD-EFGH-JKLM-NPQR")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("No permit has this code")).to_be_visible()
    no_violations(page)
    context.close()


def test_the_policy_page_fits_a_phone(browser: Browser, address: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 800})
    page = context.new_page()
    for district in ("paramount", "millard"):
        page.goto(f"{address}/policy/{district}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        shot = tmp_path / f"policy-{district}-{PHONE_WIDTH}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{district}: the page scrolls sideways ({width} px)"
    context.close()


def test_a_certified_lottery_page_has_no_violations_and_fits_a_phone(
        browser: Browser, address: str, environment: dict[str, str]) -> None:
    lotteries.save_lottery(context.engine(), lottery_record(LotteryStage.certified))
    for language in ("en", "es"):
        page = browser.new_context(
            viewport={"width": PHONE_WIDTH, "height": 800},
            extra_http_headers={"Accept-Language": language}).new_page()
        page.goto(f"{address}/lottery/millard/{YEAR}")
        expect(page.locator(".seed")).to_have_text(SEED)
        no_violations(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"the lottery page scrolls sideways ({width} px)"
        page.context.close()
