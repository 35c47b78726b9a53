"""The parent portal's public pages in process (Starlette's TestClient), without signing in:
the district's policy drawn from its file (so a changed file changes the page), a lottery's
seed sealed until certification, and a permit's verification code."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import districts
from app import context, permit_codes
from districts import load_district, load_within_district
from models.lottery_record import LotteryStage, seed_commitment
from models.permits import PermitStage
from rules.deadlines import STATUTE_AFTER_FIRST_DAY_DAYS
from rules.lottery import random_number
from store import lotteries
from tests.support.console import portal_client, signed_in, token, use_own_store
from tests.support.public import SEED, YEAR, lottery_applicants, lottery_record, stored_permit
from web.i18n import Speaker, today_in

ENGLISH, SPANISH = Speaker("en"), Speaker("es")


@pytest.fixture(autouse=True)
def own_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)


def _spanish(http: TestClient, path: str) -> str:
    return http.get(path, headers={"accept-language": "es"}).text


def _text(page: str) -> str:
    """The page's words, without its markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# ---- the policy page ----------------------------------------------------------------------

def test_the_policy_page_shows_the_district_files_dates_in_both_languages() -> None:
    config = load_district("paramount")
    settings = config.interdistrict
    assert settings is not None
    current = [y for y, d in config.calendar.items()
               if d.last_day >= today_in(config.timezone)]
    assert current, "the district file must have a school year not over yet"
    with portal_client() as http:
        english, spanish = http.get("/policy/paramount"), _spanish(http, "/policy/paramount")
    assert english.status_code == 200  # no sign-in
    for year in current:
        opens = date(int(year[:4]), settings.opens_month, settings.opens_day)
        first_day = config.calendar[year].first_day
        last = first_day + timedelta(days=STATUTE_AFTER_FIRST_DAY_DAYS)
        for says, page in ((ENGLISH, english.text), (SPANISH, spanish)):
            for day in (opens, first_day, last):
                assert says.day(day) in page, (year, day)
    words = _text(english.text)
    assert f"within {settings.decision_promise_days} calendar days" in words
    assert f"have {settings.document_deadline_days} calendar days to send it" in words
    assert "Investigation report showing the student is a victim of bullying" in words
    assert "grade 11 or above" in words  # EC 46600: no revocation in grades 11 and 12
    spanish_words = _text(spanish)
    assert f"{settings.decision_promise_days} días naturales" in spanish_words
    assert "Informe de investigación" in spanish_words
    assert '<html lang="es">' in spanish
    for code in ("no_space", "escrow_or_lease", "parent_employment"):
        assert code not in english.text and code not in spanish  # shown through catalogs



def test_the_policy_page_signs_with_the_contact_in_the_pages_language() -> None:
    """The district file's ``contact_es`` on Spanish pages, its ``contact`` on English ones
    (docs/portal.md "The signature in Spanish")."""
    config = load_district("paramount")
    assert config.contact_es and config.contact_es != config.contact
    with portal_client() as http:
        english, spanish = http.get("/policy/paramount").text, _spanish(http, "/policy/paramount")
    assert config.contact in english and config.contact_es not in english
    assert config.contact_es in spanish and config.contact not in spanish

def test_the_within_district_policy_shows_its_windows_tiers_and_lottery() -> None:
    config = load_within_district("millard")
    settings = config.within_district
    year = YEAR
    with portal_client() as http:
        english, spanish = http.get("/policy/millard").text, _spanish(http, "/policy/millard")
    for says, page in ((ENGLISH, english), (SPANISH, spanish)):
        notify = date(int(year[:4]), settings.notify_by_month, settings.notify_by_day)
        opens = date(int(year[:4]) - 1, settings.next_year_opens_month,
                     settings.next_year_opens_day)
        assert says.day(notify) in page and says.day(opens) in page
        assert f"/lottery/millard/{year}" in page
    # VIII.A.2's two closes: online through the end of February 15, in person until 5:00 p.m.
    assert "Online: from September 1, 2026 through the end of February 15, 2027. Delivered " \
        "in person: until Feb 15, 2027, 5:00:00 PM" in _text(english)
    assert "hasta el final del 15 de febrero de 2027" in _text(spanish)
    assert "Other district residents with a sibling at the school" in english
    assert "International Baccalaureate" in english
    assert f"has {settings.offer_accept_days} days to accept" in _text(english)
    assert "Bachillerato Internacional" in spanish
    assert "interdistrict" not in english.lower().split("<main")[1]  # Millard has none


def test_the_list_of_districts_and_an_unknown_district() -> None:
    with portal_client() as http:
        listing = http.get("/policy")
        assert listing.status_code == 200
        assert 'href="/policy/paramount"' in listing.text
        assert 'href="/policy/millard"' in listing.text
        assert http.get("/policy/no-such-district").status_code == 404
        home = http.get("/").text
        assert 'href="/policy"' in home and 'href="/verify"' in home


# ---- the lottery page -----------------------------------------------------------------------

def _numbers() -> list[str]:
    return [str(random_number(SEED, a.student_id)) for a in lottery_applicants()]


@pytest.mark.parametrize("stage", [LotteryStage.collecting, LotteryStage.preview])
def test_before_certification_only_the_commitment_is_shown(stage: LotteryStage) -> None:
    lotteries.save_lottery(context.engine(), lottery_record(stage))
    with portal_client() as http:
        page = http.get(f"/lottery/millard/{YEAR}")
        spanish = _spanish(http, f"/lottery/millard/{YEAR}")
    assert page.status_code == 200
    for shown in (page.text, spanish):
        assert seed_commitment(SEED) in shown
        assert SEED not in shown
        assert not any(number in shown for number in _numbers())  # the order would show
        assert "stu-" not in shown


def test_after_certification_the_seed_and_result_are_shown_and_verify() -> None:
    lotteries.save_lottery(context.engine(), lottery_record(LotteryStage.certified))
    with portal_client() as http:
        page = http.get(f"/lottery/millard/{YEAR}").text
    assert SEED in page and seed_commitment(SEED) in page
    assert "sha256:" + hashlib.sha256(SEED.encode()).hexdigest() in page
    assert all(number in page for number in _numbers())
    assert f"millard-{YEAR}-within-app0" in page
    assert "stu-" not in page  # no student id, no name
    assert f"transfers lottery verify millard {YEAR}" in page
    assert "gives the same result" in page
    assert page.count(">Placed<") == 2 and page.count(">Waitlisted<") == 3


def test_a_tampered_released_record_shows_its_differences() -> None:
    record = lottery_record(LotteryStage.certified)
    tampered = record.model_copy(update={"seed_commitment": seed_commitment("another seed")})
    lotteries.save_lottery(context.engine(), tampered)
    with portal_client() as http:
        page = http.get(f"/lottery/millard/{YEAR}").text
    assert "gives the same result" not in page
    assert "difference" in page


def test_a_district_without_the_lottery_is_not_found() -> None:
    with portal_client() as http:
        assert http.get(f"/lottery/no-such-district/{YEAR}").status_code == 404


# ---- permit verification --------------------------------------------------------------------

def _verify(http: TestClient, code: str) -> str:
    form = token(http.get("/verify").text)
    answer = http.post("/verify", data={"csrf": form, "code": code})
    assert answer.status_code == 200, answer.text
    return answer.text


def test_a_permits_code_verifies_and_shows_only_what_verification_needs() -> None:
    state = stored_permit(1)
    stored_permit(2)
    code = permit_codes.permit_code(state)
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", code)
    assert state.id not in code and "S1" not in code
    with portal_client() as http:
        page = _verify(http, code.lower().replace("-", " "))  # as someone might type it
    assert "Valid (active)" in page
    assert "Mark Keppel Elementary School" in page and YEAR in page
    assert "A.M.L." in page
    assert "Ana" not in page and "Lopez" not in page and state.id not in page


def test_a_wrong_or_altered_code_does_not_verify() -> None:
    code = permit_codes.permit_code(stored_permit(1))
    last = code[-1]
    altered = code[:-1] + ("A" if last != "A" else "B")
    with portal_client() as http:
        for typed in (altered, "ABCD-EFGH-JKLM-NPQR", "not a code"):
            page = _verify(http, typed)
            assert "No permit has this code" in page
            assert "Valid (active)" not in page


def test_a_revoked_permit_shows_revoked() -> None:
    code = permit_codes.permit_code(stored_permit(3, PermitStage.revoked))
    with portal_client() as http:
        page = _verify(http, code)
        spanish = http.post("/verify", headers={"accept-language": "es"},
                            data={"csrf": token(http.get("/verify").text), "code": code}).text
    assert "Revoked" in page and "Valid (active)" not in page
    assert "Revocado" in spanish


def test_the_verify_form_refuses_a_post_without_its_token() -> None:
    code = permit_codes.permit_code(stored_permit(1))
    with portal_client() as http:
        assert http.post("/verify", data={"code": code}).status_code == 403


def test_staff_see_the_code_to_print_on_the_permits_console_page() -> None:
    state = stored_permit(4)
    with signed_in("avalos@paramount.example.org") as console:
        page = console.get(f"/permits/{state.id}").text
    assert permit_codes.permit_code(state) in page


def test_a_changed_district_file_changes_the_policy_page(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shipped = (Path(districts.__file__).parent / "paramount.toml").read_text()
    changed = (shipped.replace("opens_day = 15", "opens_day = 20")
               .replace("decision_promise_days = 30", "decision_promise_days = 25")
               .replace("document_deadline_days = 14", "document_deadline_days = 12"))
    assert changed != shipped
    folder = tmp_path / "districts"
    folder.mkdir()
    (folder / "paramount.toml").write_text(changed)
    monkeypatch.setenv("TRANSFERS_DISTRICTS_DIR", str(folder))
    year = min(y for y, d in load_district("paramount", folder).calendar.items()
               if d.last_day >= today_in("America/Los_Angeles"))
    with portal_client() as http:
        words = _text(http.get("/policy/paramount").text)
    assert ENGLISH.day(date(int(year[:4]), 1, 20)) in words
    assert ENGLISH.day(date(int(year[:4]), 1, 15)) not in words
    assert "within 25 calendar days" in words and "have 12 calendar days" in words


def test_an_ended_permit_shows_expired() -> None:
    code = permit_codes.permit_code(stored_permit(5, PermitStage.lapsed))
    with portal_client() as http:
        page = _verify(http, code)
    assert "Expired: no longer valid" in page and "Valid (active)" not in page


def test_a_lottery_open_online_until_midnight_shows_both_closes() -> None:
    """VIII.A.2: online through the end of February 15, in person until 5:00 p.m.; a lottery
    that opened with one close (5:00 p.m. for both) shows that one."""
    midnight = lottery_record(LotteryStage.collecting).model_copy(
        update={"window_closes": datetime(2027, 2, 16, 6, 0, tzinfo=UTC)})  # 00:00 CST
    lotteries.save_lottery(context.engine(), midnight)
    with portal_client() as http:
        both = _text(http.get(f"/lottery/millard/{YEAR}").text)
        spanish = _text(_spanish(http, f"/lottery/millard/{YEAR}"))
    assert re.search(r"Applications online close Feb 16, 2027, 12:00:00\sAM ", both), both
    assert re.search(r"Forms delivered in person close Feb 15, 2027, 5:00:00\sPM ", both)
    assert "Cierre de formularios entregados en persona" in spanish
    lotteries.save_lottery(context.engine(), lottery_record(LotteryStage.collecting))
    with portal_client() as http:
        one = _text(http.get(f"/lottery/millard/{YEAR}").text)
    assert re.search(r"Applications close Feb 15, 2027, 5:00:00\sPM ", one), one
    assert "in person" not in one
