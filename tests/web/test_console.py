"""The staff console in process, without a browser (Starlette's TestClient): cookies, CSRF,
what each person sees, languages and dates. The browser tests (test_browser.py) drive the
same pages against a real stack."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.routing import APIRoute

from app import context, requests
from districts import load_within_district
from models.within_district import Program, SeatKey
from models.within_request import (
    RecommendationKind,
    WithinHistoryEntry,
    WithinKind,
    WithinRequestState,
    WithinStage,
)
from store import records
from tests.support import within as w
from tests.support.console import (
    LEASE,
    MILLARD_ID,
    PARAMOUNT_ID,
    client,
    sign_in,
    signed_in,
    token,
    use_own_store,
    write_requests,
)
from tests.support.factories import T0, state_at
from tests.support.signin import code_in, outbox_messages
from web.app import create_app
from web.security import SESSION_COOKIE

AVALOS, NGUYEN = "avalos@paramount.example.org", "nguyen@paramount.example.org"


@pytest.fixture(autouse=True)
def own_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)


def _cookie_header(response, name: str) -> str:
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[0]


def test_the_session_cookie_is_httponly_secure_samesite_and_ends_with_the_session() -> None:
    with client() as http:
        form = token(http.get("/signin").text)
        sent = http.post("/signin/code", data={"csrf": form, "email": AVALOS, "next": "/"})
        code = code_in(outbox_messages(context.settings().outbox_dir), AVALOS)
        done = http.post("/signin/verify", data={"csrf": token(sent.text), "email": AVALOS,
                                                 "code": code, "next": "/"})
        assert done.status_code == 303 and done.headers["location"] == "/"
        cookie = _cookie_header(done, SESSION_COOKIE).lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
        max_age = int(cookie.split("max-age=")[1].split(";")[0])
        assert 11.9 * 3600 < max_age <= 12 * 3600  # the session's twelve hours, not forever
        assert http.get("/").status_code == 200


def test_sign_out_ends_the_session_even_for_a_kept_cookie() -> None:
    with signed_in(AVALOS) as http:
        kept = http.cookies.get(SESSION_COOKIE)
        page = http.get("/").text
        out = http.post("/signout", data={"csrf": token(page)})
        assert out.status_code == 303 and out.headers["location"] == "/signin"
        assert http.get("/").status_code == 303  # to sign in
    with client() as replay:
        replay.cookies.set(SESSION_COOKIE, kept)
        assert replay.get("/").status_code == 303


def _routes(routes: list) -> list[APIRoute]:
    """Every route of the console, those of included routers too."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and hasattr(inner, "routes"):
            found += _routes(inner.routes)
    return found


def _post_routes() -> list[str]:
    return [route.path for route in _routes(create_app().routes) if "POST" in route.methods]


def test_every_post_without_its_token_or_from_another_site_is_refused_and_does_nothing() -> None:
    write_requests()
    posts = _post_routes()
    assert {"/signin/code", "/signin/verify", "/signout",
            "/requests/{request_id}/actions/{action}"} <= set(posts)
    with signed_in(NGUYEN) as http:
        good = token(http.get(f"/requests/{PARAMOUNT_ID}").text)
        for path in posts:
            url = path.format(request_id=PARAMOUNT_ID, permit_id=f"PERMIT-{PARAMOUNT_ID}",
                              action="decide")
            fields = {"outcome": "approve", "confirm": "yes", "email": AVALOS}
            assert http.post(url, data=fields).status_code == 403, url
            assert http.post(url, data={**fields, "csrf": "0" * 64}).status_code == 403, url
            # The right token, but sent by another site's page.
            forged = http.post(url, data={**fields, "csrf": good},
                               headers={"Origin": "https://evil.example",
                                        "Sec-Fetch-Site": "cross-site"})
            assert forged.status_code == 403, url
        # Nothing happened: still signed in, no code sent, the request as it was.
        assert http.get("/").status_code == 200
        assert len(list(context.settings().outbox_dir.glob("sign-in-*.eml"))) == 1  # nguyen's
        assert requests.get(PARAMOUNT_ID).stage.value == "under_review"


def test_another_districts_request_and_its_documents_are_not_found() -> None:
    lease = write_requests()
    with signed_in(AVALOS) as http:
        ours = http.get(f"/requests/{PARAMOUNT_ID}")
        assert ours.status_code == 200 and "Ana" in ours.text and "Lopez" in ours.text
        assert lease.sha256 in ours.text  # the sha256 shown
        download = http.get(f"/requests/{PARAMOUNT_ID}/documents/{lease.sha256}")
        assert download.status_code == 200 and download.content == LEASE
        assert "attachment" in download.headers["content-disposition"]
        theirs = http.get(f"/requests/{MILLARD_ID}")
        assert theirs.status_code == 404 and "Zed" not in theirs.text
        assert f"no request {MILLARD_ID!r}" in theirs.text.replace("&#39;", "'")
        # The same answer as an id that does not exist: nothing learned from it.
        assert http.get("/requests/paramount-none").status_code == 404
        assert http.get(f"/requests/{MILLARD_ID}/documents/{lease.sha256}").status_code == 404
        assert http.get(f"/requests/{MILLARD_ID}/timeline").status_code == 404
        home = http.get("/").text
        assert PARAMOUNT_ID in home and MILLARD_ID not in home


def test_pupil_services_sees_no_decision_and_a_forged_one_is_refused() -> None:
    write_requests()
    with signed_in(AVALOS) as http:
        page = http.get(f"/requests/{PARAMOUNT_ID}").text
        assert '/actions/decide"' not in page
        assert f"/requests/{PARAMOUNT_ID}/actions/withdraw" in page  # theirs to take
        refused = http.post(f"/requests/{PARAMOUNT_ID}/actions/decide",
                            data={"csrf": token(page), "outcome": "approve", "confirm": "yes"})
        assert refused.status_code == 403
        assert "avalos may not decide" in refused.text
    assert requests.get(PARAMOUNT_ID).stage.value == "under_review"


def test_a_director_decides_only_after_confirming() -> None:
    write_requests()
    with signed_in(NGUYEN) as http:
        page = http.get(f"/requests/{PARAMOUNT_ID}").text
        assert f"/requests/{PARAMOUNT_ID}/actions/decide" in page
        asked = http.post(f"/requests/{PARAMOUNT_ID}/actions/decide",
                          data={"csrf": token(page), "outcome": "deny",
                                "reasons": ["no_space", "overcrowding"]})
        assert asked.status_code == 200
        assert 'name="confirm" value="yes"' in asked.text
        assert asked.text.count('name="reasons"') == 2  # carried to the confirmation
        assert "Lack of space" in asked.text  # in words, not codes
        assert "<dt>Decision</dt>" in asked.text and "<dd>Deny</dd>" in asked.text
    assert requests.get(PARAMOUNT_ID).stage.value == "under_review"  # nothing sent yet


def test_the_language_is_the_persons_choice_or_their_browsers() -> None:
    write_requests()
    with signed_in(AVALOS) as http:
        spanish = http.get(f"/requests/{PARAMOUNT_ID}",
                           headers={"Accept-Language": "es-MX,en;q=0.5"})
        assert '<html lang="es">' in spanish.text and "Plazos" in spanish.text
        chosen = http.get(f"/language/en?next=/requests/{PARAMOUNT_ID}")
        assert chosen.status_code == 303
        assert chosen.headers["location"] == f"/requests/{PARAMOUNT_ID}"
        english = http.get(f"/requests/{PARAMOUNT_ID}", headers={"Accept-Language": "es"})
        assert '<html lang="en">' in english.text and "Deadlines" in english.text
        # Never a redirect to another site.
        assert http.get("/language/es?next=//evil.example/x").headers["location"] == "/"
        assert http.get("/language/es?next=https://evil.example").headers["location"] == "/"


def test_only_the_deadlines_that_run_are_shown_with_the_days_left() -> None:
    write_requests()
    decided = state_at(4, "paramount-2027-2028-out-web4",
                       decision_due=(T0 + timedelta(days=30)).date())  # approved
    records.record_events(context.engine(), decided, decided.history)
    with signed_in(AVALOS) as http:
        pending = http.get(f"/requests/{PARAMOUNT_ID}").text
        assert "Decision due" in pending and "March 31, 2027" in pending
        days = (date(2027, 3, 31) - datetime.now(ZoneInfo("America/Los_Angeles")).date()).days
        assert f"{days} days left" in pending
        done = http.get(f"/requests/{decided.id}").text
        assert "No deadline is running." in done and "Decision due" not in done


def test_times_are_the_districts() -> None:
    write_requests()
    with signed_in(AVALOS) as http:
        page = http.get(f"/requests/{PARAMOUNT_ID}").text
    # The first entry was at 18:00 UTC on March 1, 2027: 10:00 in Los Angeles (PST).
    assert "Mar 1, 2027, 10:00:00" in page
    assert "6:00:00" not in page


def test_the_web_keeps_the_code_limits() -> None:
    with client() as http:
        for _ in range(3):
            sent = http.post("/signin/code", data={"csrf": token(http.get("/signin").text),
                                                   "email": AVALOS})
            assert sent.status_code == 200
        fourth = http.post("/signin/code", data={"csrf": token(http.get("/signin").text),
                                                 "email": AVALOS})
        assert fourth.status_code == 400 and "3 codes were sent" in fourth.text
        for _ in range(5):
            wrong = http.post("/signin/verify", data={"csrf": token(fourth.text),
                                                      "email": AVALOS, "code": "00000000"})
            assert wrong.status_code == 400
        assert "too many wrong codes" in wrong.text
        assert http.get("/").status_code == 303  # not signed in


def test_sign_in_attempts_from_one_address_are_limited() -> None:
    with client() as http:
        answers = [
            http.post("/signin/verify", data={"csrf": token(http.get("/signin").text),
                                              "email": "nobody@example.org", "code": "1"})
            .status_code for _ in range(21)
        ]
    assert answers[:20] == [400] * 20 and answers[20] == 429


def test_a_roster_address_only_and_then_back_where_one_was_going() -> None:
    write_requests()
    with client() as http:
        to_signin = http.get(f"/requests/{PARAMOUNT_ID}")
        assert to_signin.status_code == 303
        assert to_signin.headers["location"] == f"/signin?next=/requests/{PARAMOUNT_ID}"
        refused = http.post("/signin/code", data={"csrf": token(http.get("/signin").text),
                                                  "email": "stranger@example.org"})
        assert refused.status_code == 400 and "not a staff address" in refused.text
        sign_in(http, AVALOS)
        assert http.get(f"/requests/{PARAMOUNT_ID}").status_code == 200


def test_a_within_district_request_offers_each_person_their_recommendation() -> None:
    key = SeatKey(school="norris-elementary", program=Program.montessori, grade=0)
    now = datetime.now(UTC)
    stage = WithinStage.awaiting_recommendation
    state = WithinRequestState(
        id="millard-2027-2028-within-web3",
        request=w.request(load_within_district("millard"), 7, key), kind=WithinKind.next_year,
        timezone="America/Chicago", stage=stage, received_at=now,
        flags=[RecommendationKind.special_education],
        history=[WithinHistoryEntry(seq=1, at=now, stage=stage, event="submitted",
                                    actor="olsen")])
    records.record_events(context.engine(), state, state.history)
    page_of = f"/requests/{state.id}"
    with signed_in("rivera@millard.example.org") as http:
        page = http.get(page_of).text
        assert "Student7 Tester" in page and "norris-elementary" in page
        assert f"{page_of}/actions/within.recommend.special_education" in page
        assert f"{page_of}/actions/within.withdraw" not in page  # student services'
    with signed_in("olsen@millard.example.org") as http:
        page = http.get(page_of).text
        assert f"{page_of}/actions/within.withdraw" in page
        assert "within.recommend" not in page


def test_the_home_page_is_the_worklist_with_its_filters_and_counts() -> None:
    write_requests()
    with signed_in(NGUYEN) as http:
        page = http.get("/").text
        assert "Worklist" in page and PARAMOUNT_ID in page and MILLARD_ID not in page
        assert "Under review (1)" in page  # the stage filter with its count
        assert http.get("/?process=within").text.count(PARAMOUNT_ID) == 0
        assert http.get("/?process=nonsense").status_code == 400
        mine = http.get("/?mine=yes").text  # a director decides: the decision is theirs
        assert PARAMOUNT_ID in mine
    with signed_in(AVALOS) as http:  # pupil services do not decide
        assert PARAMOUNT_ID not in http.get("/?mine=yes").text


def test_search_finds_a_student_by_name_accents_and_case_ignored() -> None:
    write_requests()
    student = requests.get(PARAMOUNT_ID).request.student
    with signed_in(AVALOS) as http:
        folded = student.last_name.lower().replace("é", "e").replace("á", "a")
        found = http.get("/search", params={"q": folded}).text
        assert PARAMOUNT_ID in found and f"{student.first_name}" in found
        assert MILLARD_ID not in http.get("/search", params={"q": "Zed"}).text  # Millard's
        refused = http.get("/search", params={"q": "a\x00b"})
        assert refused.status_code == 400 and 'role="alert"' in refused.text
