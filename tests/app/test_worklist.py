"""app/worklist.py: what waits in a staff member's district(s), overdue first then soonest,
across both request processes, permits due for renewal and lotteries awaiting
certification; filters, counts and "mine"; the district's time zone at the day's edge."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.errors import Refused
from app.principal import Principal
from app.worklist import Filters, Item, worklist
from districts import SHIPPED_DIR
from models.lottery_record import LotteryRecord, LotteryStage
from models.permits import (
    PermitCondition,
    PermitHolder,
    PermitProcess,
    PermitStage,
    PermitState,
)
from models.stages import Stage
from models.within_request import RecommendationKind, WithinKind, WithinStage
from store.lotteries import save_lottery
from store.permits import save_permit
from tests.support.app_store import app_store, write
from tests.support.read_models import interdistrict, within, within_request

__all__ = ["app_store"]  # the fixture

NGUYEN = Principal("nguyen", "code:nguyen@paramount.example.org", "nguyen@paramount.example.org")
AVALOS = Principal("avalos", "code:avalos@paramount.example.org", "avalos@paramount.example.org")
LACOE = Principal("lacoe", "code:appeals@lacoe.example.org", "appeals@lacoe.example.org")
TRAN = Principal("tran")
OLSEN = Principal("olsen")
RIVERA = Principal("rivera")
# 11 p.m. in Los Angeles on March 9 (07:00 UTC March 10); 1 a.m. in Chicago on March 10.
NOW = datetime(2027, 3, 10, 7, 0, tzinfo=UTC)


def pid(n: int, direction: str = "out") -> str:
    return f"paramount-2027-2028-{direction}-t{n:04d}"


def seed(engine: Engine) -> None:
    """Paramount: documents (3/12), review (3/9 promise, 4/20 statute), denied (appeal
    3/20), county (3/8: passed), closed, another year's review; Millard: a recommendation,
    an offer (3/9: passed in Chicago), one in the lottery; a permit due for renewal; a
    lottery awaiting certification."""
    write(engine, interdistrict(Stage.awaiting_documents, pid(1), documents_due=date(2027, 3, 12)))
    write(engine, interdistrict(Stage.under_review, pid(2), decision_due=date(2027, 3, 9),
                                statutory_due=date(2027, 4, 20),
                                request={"preferred_school": "gaines-elementary"}))
    write(engine, interdistrict(Stage.denied, pid(3), appeal_deadline=date(2027, 3, 20)))
    write(engine, interdistrict(Stage.appeal_pending, pid(4), appeal_decision_due=date(2027, 3, 8)))
    write(engine, interdistrict(Stage.approved, pid(5), decision_due=date(2027, 3, 1)))
    write(engine, interdistrict(Stage.under_review, pid(6, "into"), decision_due=date(2027, 5, 1),
                                statutory_due=date(2027, 5, 1),
                                request={"school_year": "2028-2029", "direction": "into"}))
    write(engine, within(WithinStage.awaiting_recommendation, "millard-2027-2028-within-t0001",
                         flags=[RecommendationKind.special_education]))
    write(engine, within(WithinStage.offered, "millard-2027-2028-within-t0002",
                         offer_deadline=date(2027, 3, 9),
                         request=within_request(student_id="S00002")))
    write(engine, within(WithinStage.in_lottery, "millard-2027-2028-within-t0003",
                         request=within_request(student_id="S00003")))
    save_permit(engine, PermitState(
        id="PERMIT-paramount-2026-2027-into-t0009", request_id="paramount-2026-2027-into-t0009",
        district="paramount", process=PermitProcess.interdistrict,
        holder=PermitHolder(student_id="S9", student_name="Rita Renewal", parent_name="P",
                            parent_email="p@example.org"),
        school="hollydale-elementary", school_name="Hollydale",
        condition=PermitCondition.reapply_annually, school_year="2026-2027", grade=3,
        level_last_grade=5, stage=PermitStage.renewal_due,
    ))
    save_lottery(engine, LotteryRecord(
        id="lottery-millard-2027-2028", district_id="millard", school_year="2027-2028",
        seed="s", stage=LotteryStage.preview, window_closes=datetime(2027, 2, 15, 23, tzinfo=UTC),
        seats_set_by="olsen",
    ))


def shape(items: list[Item]) -> list[tuple[str, str, int | None, bool]]:
    return [(i.id, i.kind.value, i.days_left, i.overdue) for i in items]


def test_paramount_staff_see_their_district_overdue_first_then_soonest(
    app_store: Engine,
) -> None:
    seed(app_store)
    found = worklist(NGUYEN, now=NOW)
    assert shape(found.items) == [
        (pid(4), "county", -1, True),
        (pid(2), "decision", 0, False),  # its last day is today in Los Angeles
        (pid(1), "documents", 3, False),
        (pid(3), "appeal", 11, False),
        ("PERMIT-paramount-2026-2027-into-t0009", "renewal", 22, False),
        (pid(6, "into"), "statutory", 53, False),
    ]
    assert found.total == 6
    assert found.items[1].student_name == "Ana Lopez" and found.items[1].school == (
        "gaines-elementary")
    assert [i.waits_on.value for i in found.items] == [
        "county", "staff", "parent", "parent", "parent", "staff"]


def test_an_hour_later_the_last_day_has_passed_in_los_angeles(app_store: Engine) -> None:
    seed(app_store)
    found = worklist(NGUYEN, now=NOW + timedelta(hours=1))
    assert shape(found.items)[:2] == [(pid(4), "county", -2, True), (pid(2), "decision", -1, True)]


def test_millard_staff_see_theirs_undated_waits_last(app_store: Engine) -> None:
    seed(app_store)
    found = worklist(TRAN, now=NOW)
    assert shape(found.items) == [
        ("lottery-millard-2027-2028", "certification", -9, True),
        ("millard-2027-2028-within-t0002", "offer", -1, True),  # 1 a.m. in Chicago
        ("millard-2027-2028-within-t0001", "recommendation", None, False),
    ]
    assert found.items[0].mine and found.items[1].mine and not found.items[2].mine


def test_the_seat_setter_may_not_certify_so_the_draw_is_not_theirs(app_store: Engine) -> None:
    seed(app_store)
    found = worklist(OLSEN, Filters(mine=True), now=NOW)
    assert [i.id for i in found.items] == ["millard-2027-2028-within-t0002"]
    assert worklist(RIVERA, Filters(mine=True), now=NOW).items[0].action == (
        "within.recommend.special_education")


@pytest.mark.parametrize(("who", "mine"), [
    # A director decides, and keeps a permit's facts (its renewal) too.
    (NGUYEN, [pid(2), "PERMIT-paramount-2026-2027-into-t0009", pid(6, "into")]),
    (AVALOS, [pid(1), pid(3), "PERMIT-paramount-2026-2027-into-t0009"]),
    (LACOE, [pid(4), pid(3)]),  # the county's outcome; an appeal may be filed by it too
])
def test_mine_is_what_the_persons_roles_may_act_on(
    app_store: Engine, who: Principal, mine: list[str],
) -> None:
    seed(app_store)
    found = worklist(who, Filters(mine=True), now=NOW)
    assert [i.id for i in found.items] == mine
    assert found.mine == len(mine) == found.total
    assert worklist(who, now=NOW).mine == len(mine)


def test_filters_and_their_counts(app_store: Engine) -> None:
    seed(app_store)
    found = worklist(NGUYEN, Filters(stage="under_review"), now=NOW)
    assert [i.id for i in found.items] == [pid(2), pid(6, "into")]
    # Each facet is counted under the other filters: the stages of everything, the years
    # of the requests under review.
    assert found.counts["stage"] == {"awaiting_documents": 1, "under_review": 2, "denied": 1,
                                     "appeal_pending": 1, "renewal_due": 1}
    assert found.counts["school_year"] == {"2027-2028": 1, "2028-2029": 1}
    assert found.counts["process"] == {"interdistrict": 2}
    assert found.counts["school"] == {"gaines-elementary": 1, "": 1}
    assert [i.id for i in worklist(NGUYEN, Filters(school_year="2028-2029"), now=NOW).items] == [
        pid(6, "into")]
    assert [i.id for i in worklist(NGUYEN, Filters(school="gaines-elementary"), now=NOW).items
            ] == [pid(2)]
    assert [i.id for i in worklist(NGUYEN, Filters(process="permit"), now=NOW).items] == [
        "PERMIT-paramount-2026-2027-into-t0009"]
    assert worklist(NGUYEN, Filters(process="within"), now=NOW).items == []
    assert worklist(TRAN, Filters(process="lottery"), now=NOW).total == 1


def test_the_limit_keeps_the_soonest_and_the_total_counts_all(app_store: Engine) -> None:
    seed(app_store)
    found = worklist(NGUYEN, limit=2, now=NOW)
    assert [i.id for i in found.items] == [pid(4), pid(2)] and found.total == 6


@pytest.mark.parametrize(("filters", "limit", "message"), [
    (Filters(process="carrier-pigeon"), 10, "unknown process 'carrier-pigeon'"),
    (Filters(stage="under\x00review"), 10, "stage filter"),
    (Filters(school=""), 10, "school filter"),
    (Filters(), 0, "limit 0: from 1 to 1000"),
    (Filters(), 1001, "limit 1001"),
])
def test_bad_filters_are_refused(
    app_store: Engine, filters: Filters, limit: int, message: str,
) -> None:
    with pytest.raises(Refused, match=message):
        worklist(NGUYEN, filters, limit=limit)


def test_someone_on_no_roster_is_refused(app_store: Engine) -> None:
    with pytest.raises(Refused, match="not on any district's roster"):
        worklist(Principal("mallory", email="mallory@example.org"))


def test_a_within_current_year_review_waits_on_the_designee(app_store: Engine) -> None:
    write(app_store, within(WithinStage.under_review, "millard-2027-2028-within-t0004",
                            kind=WithinKind.current_year))
    (item,) = worklist(Principal("kowalski"), Filters(mine=True), now=NOW).items
    assert (item.kind.value, item.due, item.action) == ("decision", None, "within.decide")


def test_a_roster_changed_on_disk_is_read_anew(
    app_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """District files are kept parsed while unchanged; a changed one counts at once
    (docs/cross-cutting.md "Staff roster read at each action")."""
    seed(app_store)
    folder = tmp_path / "districts"
    folder.mkdir()
    shipped = (SHIPPED_DIR / "paramount.toml").read_text()
    file = folder / "paramount.toml"
    file.write_text(shipped)
    monkeypatch.setenv("TRANSFERS_DISTRICTS_DIR", str(folder))
    assert worklist(NGUYEN, Filters(mine=True), now=NOW).mine == 3
    file.write_text(shipped.replace('roles = ["director"]', 'roles = ["county_office"]', 1))
    later = file.stat().st_mtime_ns + 1_000_000_000
    os.utime(file, ns=(later, later))
    assert [i.id for i in worklist(NGUYEN, Filters(mine=True), now=NOW).items] == [
        pid(4), pid(3)]
