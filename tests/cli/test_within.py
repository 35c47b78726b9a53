"""The within-district commands of `transfers` (cli/within.py, starter.py) where they refuse
or answer without a Temporal server: bad and unknown forms (alone and in a batch), staff
roles, requests of the wrong kind or stage, the IX.B factors, the waitlist position when the
lottery cannot be reached, and `lottery verify` of good and tampered record files.

TEMPORAL_ADDRESS points at a closed port, so a command that reached for Temporal would say
"cannot reach Temporal". The records store is SQLite in tmp_path, and also PostgreSQL (a
schema of its own) when TRANSFERS_TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

from cli.main import app
from districts import load_within_district
from intake.interdistrict import parse_request
from models.lottery_record import LotteryRecord, LotteryStage, RecordedApplicant, SeatCount
from models.within_district import Applicant, Program, Residency, SeatKey
from models.within_request import (
    WithinHistoryEntry,
    WithinKind,
    WithinRequest,
    WithinRequestState,
    WithinStage,
)
from rules.lottery import draw, random_number
from rules.lottery_audit import recorded_tier
from store import records
from store.engine import engine_for
from store.schema import RequestRow
from tests.support import within as w
from tests.support.databases import backends, postgres_url, throwaway_schema, with_search_path
from tests.support.factories import request_data
from tests.support.ports import closed_port
from tests.support.signin import sign_in_roster

MILLARD = load_within_district("millard")
YEAR = "2027-2028"
NORRIS_K = SeatKey(school="norris-elementary", program=Program.montessori, grade=0)
runner = CliRunner()


@pytest.fixture(params=backends())
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The environment the CLI reads, and the records store it uses."""
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{closed_port()}")
    monkeypatch.delenv("TRANSFERS_DISTRICTS_DIR", raising=False)
    monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRANSFERS_SMTP_HOST", raising=False)
    if request.param == "sqlite":
        sign_in_roster(os.environ)  # the shipped districts' staff, each with their own code
        yield engine_for(f"sqlite:///{tmp_path / 'data' / 'records.sqlite3'}")
        return
    with throwaway_schema("cli") as schema:
        url = with_search_path(str(postgres_url()), schema)
        monkeypatch.setenv("TRANSFERS_DATABASE_URL", url)
        engine = engine_for(url)
        sign_in_roster(os.environ)
        yield engine
        engine.dispose()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def refused(result: Result, *fragments: str) -> str:
    """Exit 1 with every fragment in the message on stderr, and no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert "cannot reach Temporal" not in result.stderr
    return result.stderr


def form(n: int = 1, key: SeatKey = NORRIS_K, **student: Any) -> dict[str, Any]:
    request = w.request(MILLARD, n, key, **student).model_copy(update={"school_year": YEAR})
    return request.model_dump(mode="json", exclude_none=True)


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def stored(
    engine: Engine, stage: WithinStage, kind: WithinKind = WithinKind.next_year, n: int = 1,
    **fields: Any,
) -> str:
    """A within-district request of Millard in ``stage``, written to the records store."""
    request = WithinRequest.model_validate(form(n))
    request_id = f"millard-{YEAR}-within-test{n:04d}"
    now = datetime.now(UTC)
    state = WithinRequestState(
        id=request_id, request=request, kind=kind, timezone="America/Chicago", stage=stage,
        received_at=now,
        lottery_id=None if kind is WithinKind.current_year else f"lottery-millard-{YEAR}",
        history=[WithinHistoryEntry(seq=1, at=now, stage=stage, event="test", actor="olsen")],
        **fields,
    )
    records.record_event(engine, state, state.history[-1])
    return request_id


def request_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(RequestRow)).scalar_one()


# ---- unknown requests and the wrong kind of request --------------------------------------


def test_unknown_request_id_is_refused_by_every_command(store: Engine) -> None:
    for args in (
        ["show", "nope"],
        ["decide", "nope", "--approve", "--actor", "kowalski"],
        ["withdraw", "nope", "--actor", "olsen"],
        ["leave-program", "nope", "--actor", "olsen"],
        ["recommend", "nope", "--kind", "discipline", "--for", "--reasoning", "x",
         "--actor", "kowalski"],
        ["offers", "accept", "nope", "--actor", "tran"],
        ["offers", "decline", "nope", "--actor", "tran"],
    ):
        refused(run(*args), "no request 'nope'")


def test_commands_for_one_process_refuse_the_other(store: Engine) -> None:
    permit = parse_request(request_data(), "test")
    now = datetime.now(UTC)
    from models.state import HistoryEntry, RequestState

    state = RequestState(id="paramount-permit-1", request=permit, timezone="America/Los_Angeles",
                         received_at=now)
    records.record_event(store, state, HistoryEntry(seq=1, at=now, stage=state.stage,
                                                     event="received", actor="avalos"))
    refused(run("leave-program", "paramount-permit-1", "--actor", "olsen"),
            "interdistrict permit, not a within-district request")
    refused(run("offers", "accept", "paramount-permit-1", "--actor", "tran"),
            "interdistrict permit")
    refused(run("decide", "paramount-permit-1", "--approve", "--actor", "nguyen",
                "--weighed-reasons", "x"), "--weighed-reasons", "within-district requests")

    within = stored(store, WithinStage.in_lottery)
    refused(run("release", within, "--actor", "avalos"), "is a within-district request")
    refused(run("appeal", within, "--actor", "avalos"), "is a within-district request")


# ---- submitting -------------------------------------------------------------------------


def test_form_with_a_bad_field_is_refused_naming_it(store: Engine, tmp_path: Path) -> None:
    data = form()
    data["student"]["grade"] = 13
    data["program"] = "ballet"
    path = write(tmp_path / "bad.json", data)
    message = refused(run("submit", str(path), "--actor", "olsen"), "bad.json is invalid")
    assert "student.grade" in message and "program" in message
    assert request_count(store) == 0


def test_form_for_an_unknown_school_is_refused(store: Engine, tmp_path: Path) -> None:
    data = form()
    data["school"] = "nowhere-elementary"
    path = write(tmp_path / "unknown.json", data)
    refused(run("submit", str(path), "--actor", "olsen"),
            "school: unknown school 'nowhere-elementary' in millard")
    data = form(home_school="atlantis-elementary")
    path = write(tmp_path / "unknown-home.json", data)
    refused(run("submit", str(path), "--actor", "olsen"), "home_school: unknown school")
    assert request_count(store) == 0


def test_form_outside_what_the_district_opened_is_refused(store: Engine, tmp_path: Path) -> None:
    # Norris offers Montessori only in grades K-5; Abbott has no Montessori program.
    data = form(key=SeatKey(school="abbott-elementary", program=Program.montessori, grade=0))
    refused(run("submit", str(write(tmp_path / "p.json", data)), "--actor", "olsen"),
            "has no montessori program")
    data = form(residency=Residency.non_resident)
    refused(run("submit", str(write(tmp_path / "r.json", data)), "--actor", "olsen"), "(II.A)")
    data = form(suspended=True)
    refused(run("submit", str(write(tmp_path / "s.json", data)), "--actor", "olsen"),
            "during a suspension (III.A)")


def test_a_paper_forms_receipt_is_refused_when_bad_and_nothing_starts(
    store: Engine, tmp_path: Path
) -> None:
    """--received-at and --received-by (a paper form): both, a time the district's zone can
    read, a roster name, not in the future, within paper_entry_days; refused before Temporal
    is reached, and nothing is stored."""
    path = str(write(tmp_path / "form.json", form()))
    paper = ("submit", path, "--actor", "olsen")
    refused(run(*paper, "--received-at", "2027-02-15 16:50"), "gives both", "--received-by")
    refused(run(*paper, "--received-by", "olsen"), "gives both", "--received-at")
    refused(run(*paper, "--received-at", "at five", "--received-by", "olsen"),
            "not a date and time")
    refused(run(*paper, "--received-at", "2027-02-15 16:50", "--received-by", "smith"),
            "received by 'smith': not a staff member of millard")
    refused(run(*paper, "--received-at", "2999-02-15 16:50", "--received-by", "olsen"),
            "is in the future")
    refused(run(*paper, "--received-at", "2020-02-15 16:50", "--received-by", "olsen"),
            "had to be entered by the end of 2020-02-18", "paper_entry_days")
    assert request_count(store) == 0


def test_submit_needs_a_student_services_staff_member(store: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "form.json", form())
    refused(run("submit", str(path), "--actor", "kowalski"),
            "kowalski (superintendent_designee) may not submit a within-district request",
            "needs student_services")
    refused(run("submit", str(path), "--actor", "avalos"), "'avalos' is not a staff member")
    assert request_count(store) == 0


def test_interdistrict_forms_still_go_their_own_way(store: Engine, tmp_path: Path) -> None:
    """A form with a `direction`, or a district without within-district settings, is an
    interdistrict permit request: its own checks and roles apply."""
    permit = request_data(parent={"relationship": "grandparent"})
    refused(run("submit", str(write(tmp_path / "permit.json", permit)), "--actor", "avalos"),
            "grandparent")
    refused(run("submit", "--district", "paramount", "--student-id", "S1", "--first-name", "A",
                "--last-name", "B", "--grade", "3", "--parent-name", "P", "--parent-email",
                "p@example.org", "--relationship", "grandparent", "--direction", "out",
                "--reason", "moving", "--school-year", YEAR, "--other-district", "Downey",
                "--actor", "avalos"), "grandparent")
    no_direction = {k: v for k, v in request_data().items() if k != "direction"}
    refused(run("submit", str(write(tmp_path / "nodir.json", no_direction)), "--actor", "avalos"),
            "direction: Field required")
    within = form()
    refused(run("submit", str(write(tmp_path / "within.json", within)), "--actor", "avalos"),
            "'avalos' is not a staff member of millard")


def test_form_for_an_unknown_district_is_refused(store: Engine, tmp_path: Path) -> None:
    data = form()
    data["district"] = "springfield"
    refused(run("submit", str(write(tmp_path / "d.json", data)), "--actor", "olsen"),
            "unknown district 'springfield'")


def test_batch_reports_each_refused_form_by_file_and_goes_on(
    store: Engine, tmp_path: Path
) -> None:
    bad = form(1)
    bad["student"]["grade"] = -1
    unknown = form(2)
    unknown["school"] = "nowhere-elementary"
    files = [
        write(tmp_path / "first-bad.json", bad),
        write(tmp_path / "second-malformed.json", "{not json"),
        write(tmp_path / "third-unknown.toml", "district = 'millard'\n[[x]]\n"),
        write(tmp_path / "fourth-unknown-school.json", unknown),
    ]
    result = run("submit", *map(str, files), "--actor", "olsen", "--json")
    message = refused(result, "first-bad.json", "second-malformed.json",
                      "third-unknown.toml", "fourth-unknown-school.json: ",
                      "4 of 4 forms refused")
    assert "unknown school 'nowhere-elementary'" in message
    listed = json.loads(result.stdout)
    assert [Path(e["file"]).name for e in listed] == [f.name for f in files]
    assert all("error" in e and "id" not in e for e in listed)
    assert request_count(store) == 0


def test_same_student_twice_in_one_batch_is_refused_before_anything_starts(
    store: Engine, tmp_path: Path
) -> None:
    """Both copies pass the store's check (nothing is stored yet); the batch itself notices
    the second. With no server the first then fails to connect, so the batch stops there."""
    one = write(tmp_path / "one.json", form(7))
    result = run("submit", str(one), str(one), "--actor", "olsen")
    assert result.exit_code == 1 and "cannot reach Temporal" in result.stderr
    assert request_count(store) == 0


# ---- staff actions on a stored request -------------------------------------------------


def test_decide_needs_the_four_ix_b_factors(store: Engine) -> None:
    request_id = stored(store, WithinStage.under_review, WithinKind.current_year)
    refused(run("decide", request_id, "--approve", "--actor", "kowalski"),
            "four IX.B factors", "--weighed-reasons", "--weighed-time-of-year",
            "--weighed-capacity", "--weighed-program")
    message = refused(
        run("decide", request_id, "--deny", "--actor", "kowalski",
            "--weighed-reasons", "closer to work", "--weighed-time-of-year", "  ",
            "--weighed-capacity", "full"),
        "missing: --weighed-time-of-year, --weighed-program",
    )
    assert "--weighed-reasons" not in message.split("missing:")[1]
    refused(run("decide", request_id, "--deny", "--actor", "kowalski", "--reason", "no_space"),
            "--reason, --school and --note are for interdistrict permits")
    before = records.get_request(store, request_id)
    assert before is not None and before.stage is WithinStage.under_review


def test_next_year_requests_are_decided_by_the_lottery(store: Engine) -> None:
    request_id = stored(store, WithinStage.in_lottery)
    refused(
        run("decide", request_id, "--approve", "--actor", "kowalski",
            "--weighed-reasons", "a", "--weighed-time-of-year", "b", "--weighed-capacity", "c",
            "--weighed-program", "d"),
        "next_year request: the lottery decides it (VIII.B)",
    )


def test_closed_requests_refuse_actions(store: Engine) -> None:
    denied = stored(store, WithinStage.denied, n=2, reason="no")
    refused(run("withdraw", denied, "--actor", "olsen"), "is denied: nothing to withdraw")
    refused(run("recommend", denied, "--kind", "discipline", "--against", "--reasoning", "x",
                "--actor", "kowalski"), "is closed (denied)")
    refused(run("leave-program", denied, "--actor", "olsen"), "is denied, not a placement")
    waiting = stored(store, WithinStage.in_lottery, n=3)
    refused(run("withdraw", waiting, "--actor", "nobody"), "not signed in as nobody")
    refused(run("leave-program", waiting, "--actor", "olsen"),
            "is in_lottery, not a placement")


def test_offers_need_a_lottery_request_and_a_staff_member(store: Engine) -> None:
    current = stored(store, WithinStage.under_review, WithinKind.current_year, n=4)
    refused(run("offers", "accept", current, "--actor", "tran"),
            "current_year request: it was in no lottery")
    offered = stored(store, WithinStage.offered, n=5)
    refused(run("offers", "decline", offered, "--actor", "parent"),
            "not signed in as parent")


# ---- show -------------------------------------------------------------------------------


def test_show_waitlisted_falls_back_to_the_stored_position(store: Engine) -> None:
    request_id = stored(store, WithinStage.waitlisted, n=6, waitlist_position=3)
    result = run("show", request_id, "--json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["stage"] == "waitlisted" and shown["kind"] == "next_year"
    assert shown["waitlist_position"] == 3
    assert shown["waitlist_position_source"] == "stored"
    assert [h["event"] for h in shown["history"]] == ["test"]
    human = run("show", request_id)
    assert human.exit_code == 0
    assert "waitlist position: 3 (as last recorded)" in human.stdout
    assert "grade K" not in human.stdout and "kindergarten of the montessori program at " \
        "norris-elementary" in human.stdout


# ---- the lottery ------------------------------------------------------------------------


def lottery_record(applicants: int = 12, seats: int = 3) -> LotteryRecord:
    """A drawn record built the way the lottery workflow builds it."""
    seed = "test-seed-5110"
    entered = datetime(2027, 2, 1, 12, tzinfo=UTC)
    people = []
    for n in range(applicants):
        applicant = Applicant(
            application_id=f"app-{n:03d}", student_id=f"S{n:05d}", school=NORRIS_K.school,
            program=NORRIS_K.program, grade=NORRIS_K.grade,
            residency=[Residency.other_resident, Residency.option_enrollment,
                       Residency.attendance_area][n % 3],
            resident_sibling=n % 5 == 0, current_school="abbott-elementary",
        )
        recorded = RecordedApplicant(applicant=applicant, tier=None,
                                     random_number=random_number(seed, applicant.student_id),
                                     entered_at=entered)
        recorded.tier = recorded_tier(recorded)
        people.append(recorded)
    seat_counts = [SeatCount(key=NORRIS_K, seats=seats)]
    record = LotteryRecord(
        id=f"lottery-millard-{YEAR}", district_id="millard", school_year=YEAR, seed=seed,
        stage=LotteryStage.preview, window_closes=datetime(2027, 2, 15, 23, tzinfo=UTC),
        applicants=people, seats=seat_counts, seats_set_by="olsen",
    )
    record.result = draw([p.applicant for p in people], record.seat_map(), seed)
    return record


def test_verify_a_good_record_file(store: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "record.json", lottery_record().model_dump_json(indent=2))
    result = run("lottery", "verify", "--file", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "verified: 12 applications, same result"
    data = json.loads(run("lottery", "verify", "--file", str(path), "--json").stdout)
    assert data == {"id": f"lottery-millard-{YEAR}", "verified": True, "applications": 12,
                    "differences": []}


def test_verify_a_tampered_record_file_names_the_difference(
    store: Engine, tmp_path: Path
) -> None:
    record = lottery_record()
    assert record.result is not None
    placed = next(e for e in record.result.entries if e.outcome.value == "placed")
    waiting = next(e for e in record.result.entries if e.outcome.value == "waitlisted")
    # Swap a placed and a waitlisted student's outcomes, as a hand edit would.
    placed.outcome, waiting.outcome = waiting.outcome, placed.outcome
    placed.waitlist_position, waiting.waitlist_position = waiting.waitlist_position, None
    path = write(tmp_path / "tampered.json", record.model_dump_json())
    result = run("lottery", "verify", "--file", str(path))
    refused(result, "does not hold up")
    assert f"application {placed.application_id}: outcome recorded 'waitlisted', re-run " \
        "gives 'placed'" in result.stdout
    assert f"application {waiting.application_id}: outcome recorded 'placed'" in result.stdout

    record = lottery_record()
    record.applicants[0].random_number += 1
    path = write(tmp_path / "number.json", record.model_dump_json())
    result = run("lottery", "verify", "--file", str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["verified"] is False
    assert any("app-000: recorded random number" in d for d in data["differences"])

    record = lottery_record()
    record.seats = [SeatCount(key=NORRIS_K, seats=4)]  # one more seat than was drawn
    path = write(tmp_path / "seats.json", record.model_dump_json())
    result = run("lottery", "verify", "--file", str(path))
    refused(result, "does not hold up")
    assert "re-run gives 'placed'" in result.stdout


def test_verify_refuses_what_is_not_a_drawn_record(store: Engine, tmp_path: Path) -> None:
    undrawn = lottery_record().model_copy(update={"result": None})
    path = write(tmp_path / "undrawn.json", undrawn.model_dump_json())
    result = run("lottery", "verify", "--file", str(path))
    refused(result)
    assert "the record holds no result to verify" in result.stdout
    refused(run("lottery", "verify", "--file", str(write(tmp_path / "x.json", "[1, 2]"))),
            "x.json is not a lottery record")
    refused(run("lottery", "verify", "--file", str(tmp_path / "missing.json")), "cannot read")
    refused(run("lottery", "verify", "millard", YEAR),
            f"no drawn record of lottery-millard-{YEAR} in the records store")
    refused(run("lottery", "verify"), "give DISTRICT SCHOOL_YEAR, or --file PATH")
    refused(run("lottery", "verify", "millard", YEAR, "--file", str(path)), "not both")


def test_lottery_staff_actions_need_a_staff_member(store: Engine) -> None:
    refused(run("lottery", "certify", "millard", YEAR, "--actor", "nobody"),
            "not signed in as nobody")
    refused(run("lottery", "add-seats", "millard", YEAR, "--school", "norris-elementary",
                "--program", "montessori", "--grade", "0", "--seats", "2", "--actor", "nobody"),
            "not signed in as nobody")
    refused(run("lottery", "certify", "paramount", YEAR, "--actor", "nguyen"),
            "paramount does not take within-district requests")


def test_lottery_show_without_a_record_or_a_server_says_so(store: Engine) -> None:
    result = run("lottery", "show", "millard", YEAR)
    assert result.exit_code == 1 and "cannot reach Temporal" in result.stderr
