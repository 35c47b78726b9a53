"""`transfers list`, `show` and `find` (cli/main.py, cli/reading.py) over a records store
written as the workflows write it: the student's name, every kind of deadline with its days
left in the district's time zone, the audit trail in local time, 80 columns, `--json`, a
permit's id pointed to `permit show`, and bad search text refused. No Temporal is needed
(TEMPORAL_ADDRESS is a closed port)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from app.staff_districts import district_today
from cli.main import app
from models.stages import Stage
from models.within_request import RecommendationKind, WithinStage
from store.engine import engine_for
from tests.support.app_store import write
from tests.support.databases import backends, postgres_url, throwaway_schema, with_search_path
from tests.support.ports import closed_port
from tests.support.read_models import interdistrict, within, within_request
from tests.support.signin import sign_in_roster

runner = CliRunner()
DOCS = "paramount-2027-2028-out-t0001"
REVIEW = "paramount-2027-2028-out-t0002"
COUNTY = "paramount-2027-2028-out-t0003"
OFFER = "millard-2027-2028-within-t0001"


@pytest.fixture(params=backends())
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{closed_port()}")
    for name in ("TRANSFERS_DISTRICTS_DIR", "TRANSFERS_DATABASE_URL", "TRANSFERS_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "sqlite":
        sign_in_roster(os.environ)
        yield engine_for(f"sqlite:///{tmp_path / 'data' / 'records.sqlite3'}")
        return
    with throwaway_schema("cli") as schema:
        url = with_search_path(str(postgres_url()), schema)
        monkeypatch.setenv("TRANSFERS_DATABASE_URL", url)
        engine = engine_for(url)
        sign_in_roster(os.environ)
        yield engine
        engine.dispose()


@pytest.fixture
def seeded(store: Engine) -> Engine:
    today = district_today("paramount")
    write(store, interdistrict(Stage.awaiting_documents, DOCS, 2,
                               documents_due=today + timedelta(days=3), request={
                                   "student": {"first_name": "José", "last_name": "García"}}))
    write(store, interdistrict(Stage.under_review, REVIEW, 3, decision_due=today,
                               statutory_due=today + timedelta(days=20), request={
                                   "student": {"id": "S2", "first_name": "Maximiliana-Guadalupe",
                                               "last_name": "Villaseñor-Castellanos"}}))
    write(store, interdistrict(Stage.appeal_pending, COUNTY, 4,
                               appeal_decision_due=today - timedelta(days=2),
                               request={"student": {"id": "S3", "first_name": "Ana"}}))
    write(store, within(WithinStage.offered, OFFER,
                        offer_deadline=district_today("millard") + timedelta(days=1),
                        request=within_request(first="Zoë", last="Ødegaard")))
    write(store, within(WithinStage.awaiting_recommendation, "millard-2027-2028-within-t0002",
                        flags=[RecommendationKind.english_learner],
                        request=within_request(student_id="S7")))
    return store


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result.stdout


def fits(text: str) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    assert not too_wide, too_wide


# ---- list -------------------------------------------------------------------------------


def test_list_gives_names_and_every_kind_of_deadline_soonest_first(seeded: Engine) -> None:
    text = ok(run("list", "--open"))
    fits(text)
    lines = text.splitlines()
    ids = [line.split()[0] for line in lines[::2]]
    assert ids[:3] == [COUNTY, REVIEW, OFFER]
    assert ids[3] == DOCS and ids[4] == "millard-2027-2028-within-t0002"
    for fragment in ("José García", "county ", "2 days overdue", "decision ", "last day today",
                     "offer ", "1 day left", "documents ", "3 days left",
                     "recommendation, no date set", "Zoë Ødegaard"):
        assert fragment in text, (fragment, text)


def test_list_json_carries_the_next_deadline(seeded: Engine) -> None:
    data = json.loads(ok(run("list", "--open", "--json")))
    first = data[0]
    assert first["id"] == COUNTY and first["student_name"] == "Ana Lopez"
    assert first["next_deadline"]["kind"] == "county"
    assert first["next_deadline"]["waits_on"] == "county"
    assert first["next_deadline"]["days_left"] == -2
    assert first["decision_due"] is None and "appeal_deadline" in first


def test_list_due_before_takes_the_next_deadline_of_any_kind(seeded: Engine) -> None:
    before = (district_today("paramount") + timedelta(days=1)).isoformat()
    data = json.loads(ok(run("list", "--due-before", before, "--json")))
    assert [r["id"] for r in data] == [COUNTY, REVIEW]


# ---- show -------------------------------------------------------------------------------


def test_show_names_the_student_and_every_deadline_in_local_time(seeded: Engine) -> None:
    text = ok(run("show", REVIEW))
    fits(text)
    for fragment in ("Maximiliana-Guadalupe Villaseñor-Castellanos (S2)", "Maria Lopez",
                     "due: decision", "last day today; waits on staff", "due: statutory",
                     "20 days left", "  3  2027-03-01 12:00 PST  under_review"):
        # The entry written (the third) was at 20:00 UTC.
        assert fragment in text, (fragment, text)
    assert "20:00" not in text  # not UTC
    data = json.loads(ok(run("show", REVIEW, "--json")))
    assert [(d["kind"], d["waits_on"], d["days_left"]) for d in data["deadlines"]] == [
        ("decision", "staff", 0), ("statutory", "staff", 20)]


def test_show_a_within_request_names_the_student_in_chicago_time(seeded: Engine) -> None:
    text = ok(run("show", OFFER))
    fits(text)
    for fragment in ("student: Zoë Ødegaard (S00001)", "due: offer", "1 day left",
                     "waits on parent", "2027-03-01 12:00 CST"):  # 18:00 UTC
        assert fragment in text, (fragment, text)
    data = json.loads(ok(run("show", OFFER, "--json")))
    assert data["deadlines"][0]["kind"] == "offer"


def test_show_of_a_permit_id_points_to_permit_show(seeded: Engine) -> None:
    result = run("show", f"PERMIT-{REVIEW}")
    assert result.exit_code == 1
    assert f"PERMIT-{REVIEW} is a permit, not a request: use `transfers permit show " \
        f"PERMIT-{REVIEW}`" in result.stderr


# ---- find -------------------------------------------------------------------------------


def test_find_by_name_accents_and_case_ignored(seeded: Engine) -> None:
    text = ok(run("find", "jose GARCIA", "--actor", "nguyen"))
    fits(text)
    assert DOCS in text and "José García (S1001)" in text and "documents" in text
    assert OFFER not in ok(run("find", "zoe", "--actor", "nguyen"))  # Millard's
    assert OFFER in ok(run("find", "zoe", "--actor", "tran"))
    data = json.loads(ok(run("find", "villasenor", "--json", "--actor", "avalos")))
    assert [(f["id"], f["next_deadline"]["kind"]) for f in data] == [(REVIEW, "decision")]
    assert "nothing found for 'nobody'" in ok(run("find", "nobody", "--actor", "nguyen"))


@pytest.mark.parametrize(("text", "message"), [
    ("", "nothing to search for"), ("jo\x07se", "control characters"),
    ("x" * 500, "500 characters long"),
])
def test_find_refuses_bad_search_text(seeded: Engine, text: str, message: str) -> None:
    result = run("find", text, "--actor", "nguyen")
    assert result.exit_code == 1 and message in result.stderr, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
