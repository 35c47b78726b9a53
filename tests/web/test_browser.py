"""The console in a real browser (Debian's Chromium through Playwright) against a real stack:
the Temporal dev server and a worker as processes (tests/support/e2e.py), `transfers web` on a
free port, staff signing in with the code the outbox received, and axe-core on every page."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from store.engine import make_engine

# The within-district e2e tests' district and forms (Millard's schools and staff).
from tests.e2e.test_within import CURRENT, TZ, current_year_district, form
from tests.support.browser import (
    console,
    no_violations,
    outbox_code,
)
from tests.support.e2e import Stack, district_toml, local_today
from tests.support.oidc import oidc_provider

pytestmark = pytest.mark.e2e

DIRECTOR, CLERK = "director@testdistrict.example.org", "clerk@testdistrict.example.org"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.of_test_district(tmp_path_factory.mktemp("web-stack")) as running:
        yield running


@pytest.fixture(scope="module")
def address(stack: Stack) -> Iterator[str]:
    with console(stack.env, stack.tmp / "web.log") as url:
        yield url


def _under_review(stack: Stack, student_id: str, first: str, last: str) -> str:
    request_id = stack.submit(student_id, student={"first_name": first, "last_name": last})
    stack.add_lease(request_id, b"%PDF-1.4 lease of " + student_id.encode())
    return request_id


def sign_in(page: Page, address: str, email: str, data_dir: Path) -> None:
    page.goto(f"{address}/")
    expect(page).to_have_url(re.compile(r"/signin\?next=/$"))
    no_violations(page)
    page.get_by_label("Your staff address").fill(email)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    no_violations(page)
    page.get_by_label("The eight-digit code").fill(outbox_code(data_dir, email))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()


def test_sign_in_open_a_request_approve_it_and_see_the_timeline(
        browser: Browser, stack: Stack, address: str) -> None:
    request_id = _under_review(stack, "S-WEB-1", "Esperanza", "Quintanilla")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, address, DIRECTOR, stack.tmp / "data")
    no_violations(page)

    page.get_by_role("link", name=request_id).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {request_id}")
    expect(page.locator("main")).to_contain_text("Esperanza Quintanilla")
    expect(page.locator(".stage")).to_have_text("Under review")
    expect(page.locator("section[aria-labelledby=deadlines]")).to_contain_text("Decision due")
    expect(page.locator("section[aria-labelledby=deadlines]")).to_contain_text("days left")
    expect(page.locator("section[aria-labelledby=documents]")).to_contain_text("escrow or lease")
    expect(page.locator("section[aria-labelledby=notices]")).to_contain_text("receipt")
    no_violations(page)

    # A denial without a reason: the application refuses it, and the page says why.
    decide = page.locator(f'form[action="/requests/{request_id}/actions/decide"]')
    decide.get_by_label("Deny").check()
    decide.get_by_role("button", name="Decide…").click()
    page.get_by_role("button", name="Confirm: Decide").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Refused: Decide.")
    expect(refusal).to_contain_text("reason")
    expect(page.locator(".stage")).to_have_text("Under review")
    no_violations(page)

    decide.get_by_label("Approve").check()
    decide.get_by_role("button", name="Decide…").click()
    expect(page.get_by_role("heading", name="Confirm: Decide")).to_be_visible()
    no_violations(page)
    page.get_by_role("button", name="Confirm: Decide").click()

    expect(page.get_by_role("status")).to_contain_text("Done: Decide.")
    # The timeline refreshes itself (htmx) until the records store has the decision.
    timeline = page.locator("#timeline + div")
    approved = timeline.locator("tr", has=page.get_by_role("cell", name="Approved", exact=True))
    expect(approved.first).to_contain_text("director")
    no_violations(page)
    assert stack.json("show", request_id)["stage"] == "approved"

    # Spanish, chosen by the link every page has, on the same page.
    page.get_by_role("link", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Plazos")).to_be_visible()
    no_violations(page)
    context.close()


def test_pupil_services_sees_no_approval_and_a_forged_one_is_refused(
        browser: Browser, stack: Stack, address: str) -> None:
    request_id = _under_review(stack, "S-WEB-2", "Tomas", "Ibarra")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, address, CLERK, stack.tmp / "data")
    page.goto(f"{address}/requests/{request_id}")
    expect(page.locator("main")).to_contain_text("Tomas Ibarra")
    expect(page.locator(f'form[action="/requests/{request_id}/actions/withdraw"]')).to_be_visible()
    expect(page.locator(f'form[action="/requests/{request_id}/actions/decide"]')).to_have_count(0)
    expect(page.get_by_role("radio", name="Approve")).to_have_count(0)
    no_violations(page)

    target = f"{address}/requests/{request_id}/actions/decide"
    fields = {"outcome": "approve", "confirm": "yes"}
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    # With this browser's cookies: no token, a wrong one, then the right one for an action
    # the clerk's role does not allow.
    assert context.request.post(target, form=fields).status == 403
    assert context.request.post(target, form={**fields, "csrf": "f" * 64}).status == 403
    refused = context.request.post(target, form={**fields, "csrf": token})
    assert refused.status == 403
    assert "clerk may not decide" in refused.text()
    # Nothing changed: the workflow never heard of it.
    assert stack.json("show", request_id)["stage"] == "under_review"
    history = stack.json("show", request_id)["history"]
    assert not [entry for entry in history if entry["event"] == "approved"]
    page.goto(target.replace("/actions/decide", ""))
    expect(page.locator(".stage")).to_have_text("Under review")
    # Not theirs, or not there: "not found", on a page as accessible as the others.
    page.goto(f"{address}/requests/otherdistrict-2026-2027-out-0000")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    no_violations(page)
    context.close()


def test_sign_in_with_the_districts_provider(browser: Browser, tmp_path: Path) -> None:
    (tmp_path / "districts").mkdir()
    (tmp_path / "districts" / "testdistrict.toml").write_text(district_toml(local_today()))
    records = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    make_engine(records).dispose()  # made and migrated, as `transfers db upgrade` would
    with oidc_provider() as provider:
        env = {
            **{k: v for k, v in os.environ.items()
               if not k.startswith(("TRANSFERS_", "TEMPORAL_"))},
            "TRANSFERS_DATA_DIR": str(tmp_path / "data"),
            "TRANSFERS_DATABASE_URL": records,
            "TRANSFERS_DISTRICTS_DIR": str(tmp_path / "districts"),
            "TRANSFERS_OIDC_ISSUER": provider.issuer,
            "TRANSFERS_OIDC_CLIENT_ID": "staff-console",
            "TRANSFERS_OIDC_CLIENT_SECRET": "the-consoles-secret",
        }
        # The provider's person, as the mock keeps them: a verified roster address.
        claims = {"email": DIRECTOR, "email_verified": True}
        assert httpx.put(f"{provider.issuer}/users/dir-1", json=claims).status_code == 204
        with console(env, tmp_path / "web.log") as address:
            page = browser.new_page()
            page.goto(f"{address}/signin")
            no_violations(page)
            page.get_by_role("link", name="Sign in with the district's account").click()
            page.locator('input[name="sub"]').fill("dir-1")
            page.locator('button:not([value="deny"])').first.click()
            expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
            expect(page.get_by_role("navigation", name="Account")).to_contain_text("director")
            no_violations(page)
            page.close()


def test_another_sites_page_cannot_act_for_a_signed_in_director(
        browser: Browser, stack: Stack, address: str) -> None:
    """Even with a valid token in hand, a form on another site's page gets nothing done: the
    browser leaves the SameSite session cookie off, and the console refuses the origin."""
    request_id = _under_review(stack, "S-WEB-3", "Lucia", "Ferrer")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, address, DIRECTOR, stack.tmp / "data")
    page.goto(f"{address}/requests/{request_id}")
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    target = f"{address}/requests/{request_id}/actions/decide"
    forged = (f'<html lang="en"><title>prize</title><form method="post" action="{target}">'
              f'<input type="hidden" name="csrf" value="{token}">'
              '<input type="hidden" name="outcome" value="approve">'
              '<input type="hidden" name="confirm" value="yes">'
              '<button type="submit">Claim your prize</button></form></html>')
    context.route("http://evil.example/**",
                  lambda route: route.fulfill(status=200, content_type="text/html",
                                              body=forged))
    page.goto("http://evil.example/prize")
    with page.expect_response(target) as answer:
        page.get_by_role("button", name="Claim your prize").click()
    assert answer.value.status == 403
    assert stack.json("show", request_id)["stage"] == "under_review"
    context.close()


def test_a_within_district_recommendation_then_the_designees_decision(
        browser: Browser, stack: Stack, address: str) -> None:
    """Rule 5110.1 in the console: the director of special education recommends (III.C),
    then the superintendent's designee decides the current-year request, writing down the
    four factors (IX.B); each through the application layer, as a workflow Update."""
    text, year = current_year_district(datetime.now(TZ).date())
    (stack.tmp / "districts" / f"{CURRENT}.toml").write_text(text)
    paper = stack.tmp / "web-current.json"
    paper.write_text(json.dumps(form(1, year, CURRENT)))  # a special-education student
    request_id = stack.json("submit", str(paper), "--actor", "tran")["id"]
    stack.wait_for(request_id, lambda s: s["stage"] == "awaiting_recommendation")
    page_of = f"{address}/requests/{request_id}"

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, address, "rivera@millard.example.org", stack.tmp / "data")
    page.goto(page_of)
    expect(page.locator(".stage")).to_have_text("Awaiting recommendation")
    no_violations(page)
    recommend = page.locator("form.action", has_text="special education recommendation")
    recommend.get_by_label("For the transfer").check()
    recommend.get_by_label("Why").fill("IEP services are offered there")
    recommend.get_by_role("button").click()
    no_violations(page)
    page.get_by_role("button", name=re.compile("^Confirm")).click()
    expect(page.get_by_role("status")).to_contain_text("Done")
    stack.wait_for(request_id, lambda s: s["stage"] == "under_review")
    context.close()

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, address, "kowalski@millard.example.org", stack.tmp / "data")
    page.goto(page_of)
    expect(page.locator(".stage")).to_have_text("Under review")
    decide = page.locator(f'form[action="/requests/{request_id}/actions/within.decide"]')
    decide.get_by_label("Approve").check()
    for label, why in (("The reasons for the request", "closer to a parent's work"),
                       ("The time of year", "a month into the year"),
                       ("Capacity and staffing", "two seats open, staffed"),
                       ("The educational program", "the program suits the student")):
        decide.get_by_label(label).fill(why)
    decide.get_by_role("button", name="Decide…").click()
    page.get_by_role("button", name="Confirm: Decide").click()
    expect(page.get_by_role("status")).to_contain_text("Done: Decide.")
    placed = stack.wait_for(request_id, lambda s: s["stage"] == "placed")
    assert placed["decided_by"] == "kowalski"
    assert placed["factors"]["capacity_and_staffing"] == "two seats open, staffed"
    page.reload()
    expect(page.locator(".stage")).to_have_text("Placed")
    no_violations(page)
    context.close()


def test_the_dashboard_exports_and_permits_with_their_charts_tables_and_downloads(
        browser: Browser, stack: Stack, address: str) -> None:
    _under_review(stack, "S-WEB-9", "Dolores", "Ibarra")
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    sign_in(page, address, CLERK, stack.tmp / "data")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator("svg[role=img]")).to_have_count(5)
    page.get_by_text("The figures as a table").first.click()
    expect(page.locator("table").first).to_contain_text("Under review")
    no_violations(page)
    page.get_by_role("link", name="Exports").click()
    no_violations(page)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"^Requests of ")).click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Dolores" in text and text.startswith("request_id,")
    page.get_by_role("link", name="Permits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Permits")
    no_violations(page)
    context.close()
