"""The lottery page in the console (in process, Millard's shipped file, a lottery record in
the records store as the workflow keeps it): who sees what, the seat setter offered no
certification and refused it, a forged POST refused with nothing changed, a refusal of the
application layer shown with its reason, and verification's outcome. Certification through
the workflow itself is the browser test's (tests/web/test_browser_lottery.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import context
from models.lottery_record import (
    LotteryRecord,
    LotteryStage,
    RecordedApplicant,
    SeatCount,
    seed_commitment,
)
from models.within_district import Applicant, Program, Residency, SeatKey
from rules.lottery import draw, random_number
from rules.lottery_audit import recorded_tier
from store import lotteries
from tests.support.console import signed_in, token, use_own_store

OLSEN = "olsen@millard.example.org"  # student services and the seat setter
TRAN = "tran@millard.example.org"  # student services and the lottery certifier
KOWALSKI = "kowalski@millard.example.org"  # the superintendent's designee
AVALOS = "avalos@paramount.example.org"  # Paramount's: no within-district lottery
YEAR = "2027-2028"
LOTTERY = f"lottery-millard-{YEAR}"
SEED = "d3b07384-d9a0-4c9b-8b2e-5f1e0c3a7e11"
NORRIS_K = SeatKey(school="norris-elementary", program=Program.montessori, grade=0)
# 5:00 p.m. in Omaha (Central Standard Time) on February 15.
CLOSES = datetime(2027, 2, 15, 23, 0, tzinfo=UTC)
PAGE = f"/lottery?district=millard&year={YEAR}"
CERTIFY = "/lottery/actions/lottery.certify"
WHICH = {"district": "millard", "year": YEAR}


@pytest.fixture
def own_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)


def _applicant(n: int, residency: Residency) -> RecordedApplicant:
    applicant = Applicant(
        application_id=f"millard-{YEAR}-next-{n:04d}", student_id=f"M{n:04d}",
        school=NORRIS_K.school, program=NORRIS_K.program, grade=NORRIS_K.grade,
        residency=residency, current_school="bell-elementary")
    recorded = RecordedApplicant(applicant=applicant, tier=None,
                                 random_number=random_number(SEED, applicant.student_id),
                                 entered_at=CLOSES - timedelta(days=n + 1))
    recorded.tier = recorded_tier(recorded)
    return recorded


def _drawn(seats: int = 2) -> LotteryRecord:
    """Five applications for two seats, drawn at the close: a preview awaiting certification."""
    applicants = [_applicant(n, Residency.option_enrollment if n < 2
                             else Residency.other_resident) for n in range(5)]
    seat_counts = [SeatCount(key=NORRIS_K, seats=seats)]
    return LotteryRecord(
        id=LOTTERY, district_id="millard", school_year=YEAR, seed=SEED,
        seed_commitment=seed_commitment(SEED), stage=LotteryStage.preview,
        window_closes=CLOSES, applicants=applicants, seats=seat_counts,
        result=draw([a.applicant for a in applicants], {NORRIS_K: seats}, SEED),
        drawn_at=CLOSES, seats_set_by="olsen")


def _stored() -> LotteryRecord:
    found = lotteries.get_lottery(context.engine(), LOTTERY)
    assert found is not None
    return found


def test_each_role_sees_the_lottery_and_only_the_certifier_who_set_no_seats_may_certify(
    own_store: None,
) -> None:
    lotteries.save_lottery(context.engine(), _drawn())
    with signed_in(TRAN) as http:
        page = http.get("/lottery").text  # Millard's coming school year by default
        assert "Drawn, awaiting certification" in page
        assert "Norris Elementary" in page and "5 applications in the draw" in page
        assert SEED in page and seed_commitment(SEED) in page
        assert "5:00:00\u202fPM" in page or "5:00:00 PM" in page  # Omaha's clock, not UTC
        assert "No parent is told until a second staff member certifies" in page
        assert f'action="{CERTIFY}"' in page
        assert "Add seats" not in page  # not a seat setter
        assert 'aria-current="page"' in page and ">Lottery</a>" in page
    with signed_in(OLSEN) as http:
        page = http.get(PAGE).text
        assert f'action="{CERTIFY}"' not in page
        assert "who did not set the seats (olsen) certifies the draw" in page
        # Adding seats while the draw awaits certification is the workflow's refusal; the
        # form is not offered now.
        assert "actions/lottery.add_seats" not in page
    with signed_in(KOWALSKI) as http:
        page = http.get(PAGE).text
        assert "Drawn, awaiting certification" in page and f'action="{CERTIFY}"' not in page
    with signed_in(AVALOS) as http:
        assert http.get("/lottery").status_code == 404
        assert http.get(PAGE).status_code == 404
    with signed_in(TRAN) as http:
        assert http.get("/lottery?district=paramount").status_code == 404
        assert http.get("/lottery?district=millard&year=1999-2000").status_code == 404


def test_before_the_draw_the_seed_is_sealed_and_its_commitment_shown(own_store: None) -> None:
    drawn = _drawn()
    collecting = drawn.model_copy(update={"stage": LotteryStage.collecting, "result": None,
                                          "drawn_at": None}).published()
    lotteries.save_lottery(context.engine(), collecting)
    with signed_in(OLSEN) as http:
        page = http.get(PAGE).text
        assert "Collecting applications" in page
        assert seed_commitment(SEED) in page and SEED not in page
        assert "Run a practice draw" in page
        assert "actions/lottery.add_seats" in page  # the seat setter, before the draw
        # The application layer's refusal, with its reason: nothing drawn to verify.
        refused = http.get(f"/lottery/verify?district=millard&year={YEAR}")
        assert refused.status_code == 409
        assert "Refused: Verify the draw." in refused.text
        assert f"no drawn record of {LOTTERY}" in refused.text


def test_a_forged_or_unconfirmed_certification_changes_nothing(own_store: None) -> None:
    lotteries.save_lottery(context.engine(), _drawn())
    with signed_in(TRAN) as http:
        page = http.get(PAGE).text
        assert http.post(CERTIFY, data={**WHICH, "confirm": "yes"}).status_code == 403
        wrong = {**WHICH, "confirm": "yes", "csrf": "f" * 64}
        assert http.post(CERTIFY, data=wrong).status_code == 403
        asked = http.post(CERTIFY, data={**WHICH, "csrf": token(page), "all_paper_entered": "yes"})
        assert asked.status_code == 200
        assert "Nothing is done until you confirm" in asked.text
        assert "Confirm: Certify the draw" in asked.text
        assert 'name="all_paper_entered" value="yes"' in asked.text
    with signed_in(OLSEN) as http:
        page = http.get(PAGE).text
        forged = http.post(CERTIFY, data={**WHICH, "csrf": token(page), "confirm": "yes"})
        assert forged.status_code == 403
        assert "olsen set the seats and may not also certify the draw" in forged.text
        adding = http.post("/lottery/actions/lottery.add_seats",
                           data={**WHICH, "csrf": token(page), "school": "norris-elementary",
                                 "program": "montessori", "grade": "0", "seats": "1",
                                 "confirm": "yes"})
        assert adding.status_code == 403 and "lottery-millard-2027-2028 is preview" in adding.text
    with signed_in(KOWALSKI) as http:
        page = http.get(PAGE).text
        forged = http.post(CERTIFY, data={**WHICH, "csrf": token(page), "confirm": "yes"})
        assert forged.status_code == 403
        assert "may not certify the draw: needs lottery_certifier" in forged.text
    stored = _stored()
    assert stored.stage is LotteryStage.preview and not stored.certified
    assert [e.event for e in stored.history] == []


def test_a_certifier_who_set_seats_is_not_offered_certification_and_is_refused_it(
    own_store: None,
) -> None:
    """Whoever added seats counts as having set them (docs/lottery.md "Certification"), a
    certifier too: the page offers them no certification and refuses a forged one."""
    lotteries.save_lottery(context.engine(),
                           _drawn().model_copy(update={"seats_set_by": "olsen, tran"}))
    with signed_in(TRAN) as http:
        page = http.get(PAGE).text
        assert f'action="{CERTIFY}"' not in page
        assert "who did not set the seats (olsen, tran) certifies the draw" in page
        forged = http.post(CERTIFY, data={**WHICH, "csrf": token(page), "confirm": "yes"})
        assert forged.status_code == 403
        assert "tran set the seats and may not also certify the draw" in forged.text
    assert not _stored().certified


def test_verification_says_the_draw_holds_up(own_store: None) -> None:
    lotteries.save_lottery(context.engine(), _drawn())
    with signed_in(TRAN) as http:
        page = http.get(f"/lottery/verify?district=millard&year={YEAR}")
        assert page.status_code == 200
        assert ("Verified: re-running the draw from the record gives the same result for its "
                "5 applications.") in page.text
        assert "does not hold up" not in page.text


def test_verification_names_each_difference_of_a_tampered_record(own_store: None) -> None:
    tampered = _drawn()
    assert tampered.result is not None
    placed = next(e for e in tampered.result.entries if e.outcome.value == "placed")
    placed.random_number = (placed.random_number or 0) + 1  # a number the seed does not give
    lotteries.save_lottery(context.engine(), tampered)
    with signed_in(TRAN) as http:
        shown = http.get(f"/lottery/verify?district=millard&year={YEAR}").text
        assert "The record does not hold up" in shown and "Verified:" not in shown
        assert placed.application_id in shown


def test_the_page_speaks_spanish(own_store: None) -> None:
    lotteries.save_lottery(context.engine(), _drawn())
    with signed_in(TRAN) as http:
        page = http.get(PAGE, headers={"Accept-Language": "es"}).text
        assert '<html lang="es">' in page
        assert "Sorteado, en espera de certificación" in page
        assert "Certificar el sorteo" in page


def test_the_page_shows_the_in_person_close_beside_the_online_one(own_store: None) -> None:
    """VIII.A.2: a lottery taking applications online until the end of February 15 also
    shows that forms delivered in person closed at 5:00 p.m.; one with a single close (the
    5:00 p.m. of the records above) shows only that."""
    midnight = _drawn().model_copy(update={
        "window_closes": datetime(2027, 2, 16, 6, 0, tzinfo=UTC)})  # 00:00 in Omaha
    lotteries.save_lottery(context.engine(), midnight)
    with signed_in(TRAN) as http:
        both = " ".join(http.get(PAGE).text.split())
    assert "<dt>Applications online close</dt><dd>Feb 16, 2027, 12:00:00" in both
    assert "<dt>Forms delivered in person close</dt><dd>Feb 15, 2027, 5:00:00" in both
    lotteries.save_lottery(context.engine(), _drawn())
    with signed_in(TRAN) as http:
        one = " ".join(http.get(PAGE).text.split())
    assert "<dt>Applications close</dt><dd>Feb 15, 2027, 5:00:00" in one
    assert "in person" not in one
