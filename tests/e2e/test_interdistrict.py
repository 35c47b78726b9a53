"""End to end: the real `transfers` CLI and the real worker as processes, against a real
Temporal dev server, with notices delivered to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.support.e2e import BIN, Stack, local_today, text_of
from tests.support.factories import request_data
from tests.support.waiting import until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.of_test_district(tmp_path_factory.mktemp("e2e")) as stack:
        yield stack


def test_submit_documents_decide_show(stack: Stack) -> None:
    request_id = stack.submit("E2E-APPROVE")
    state = stack.add_lease(request_id, b"%PDF-1.4 lease agreement")
    assert state["missing_documents"] == []
    today = local_today()
    # Received after the first day of school: EC 46600.2 gives 30 days from receipt.
    assert state["decision_due"] == (today + timedelta(days=30)).isoformat()

    approved = stack.json("decide", request_id, "--approve", "--actor", "director")
    assert approved["stage"] == "approved"
    shown = stack.json("show", request_id)
    assert shown["id"] == request_id and shown["stage"] == "approved"
    events = [(h["event"], h["actor"]) for h in shown["history"]]
    assert ("document_added", "clerk") in events and ("approved", "director") in events


def test_a_packet_of_documents_is_one_command(stack: Stack) -> None:
    """`documents add` with several files: one --kind each, in order; an entry each."""
    request_id = stack.submit("E2E-PACKET")
    files = []
    for kind in ("escrow_or_lease", "report_card"):
        path = stack.tmp / f"{kind}-{request_id}.pdf"
        path.write_bytes(f"%PDF-1.4 {kind}".encode())
        files.append(str(path))
    mismatch = stack.run("documents", "add", request_id, *files, "--kind", "escrow_or_lease",
                         "--actor", "clerk", check=False)
    assert mismatch.returncode != 0
    assert "2 file(s) but 1 --kind" in mismatch.stderr
    assert stack.json("show", request_id)["documents"] == []
    state = stack.json("documents", "add", request_id, *files, "--kind", "escrow_or_lease",
                       "--kind", "report_card", "--actor", "clerk")
    assert [d["kind"] for d in state["documents"]] == ["escrow_or_lease", "report_card"]
    added = [e["reason"].split(":")[0] for e in state["history"]
             if e["event"] == "document_added"]
    assert added == ["escrow_or_lease", "report_card"]
    stack.wait_for(request_id, lambda s: s["stage"] == "under_review")


def test_refused_action_exits_nonzero_and_changes_nothing(stack: Stack) -> None:
    request_id = stack.submit("E2E-REFUSED")
    before = stack.json("show", request_id)
    result = stack.run("decide", request_id, "--approve", "--actor", "clerk", check=False)
    assert result.returncode == 1
    assert "may not decide" in result.stderr
    result = stack.run("decide", request_id, "--approve", "--actor", "director", check=False)
    assert result.returncode == 1 and "awaiting_documents" in result.stderr
    assert stack.json("show", request_id) == before
    duplicate = stack.tmp / "E2E-REFUSED.json"
    result = stack.run("submit", str(duplicate), "--actor", "clerk", check=False)
    assert result.returncode == 1 and "already has an open request" in result.stderr


def _all_sent(stack: Stack, request_id: str, count: int) -> list[dict] | None:
    notices = stack.json("notices", request_id)
    done = len(notices) == count and all(n["status"] == "sent" for n in notices)
    return notices if done else None


def test_denial_notices_arrive_once_each_by_smtp(stack: Stack) -> None:
    request_id = stack.submit("E2E-DENY")
    stack.add_lease(request_id, b"%PDF-1.4 another lease")
    denied = stack.json("decide", request_id, "--deny", "--reason", "no_space",
                        "--reason", "overcrowding", "--actor", "director")
    last_day = local_today() + timedelta(days=30)
    assert denied["appeal_deadline"] == last_day.isoformat()

    # The decision returns as soon as it is recorded; its notice follows.
    notices = until("the denial notice", lambda: _all_sent(stack, request_id, 4), 30)
    # The file-complete notice is not waited for: it may be recorded after the denial.
    assert sorted(n["kind"] for n in notices) == ["denied", "file_complete",
                                                  "missing_documents", "receipt"]
    mine = [m for m in stack.inbox.messages if request_id in m["Subject"] or
            request_id in text_of(m)]
    counts = Counter(m["Message-ID"] for m in mine)
    assert len(counts) == 4 and set(counts.values()) == {1}
    denial = next(m for m in mine if m["Subject"].startswith("Interdistrict permit denied"))
    body = text_of(denial)
    assert "Lack of space availability" in body and "Overcrowding" in body
    assert f"{last_day:%B} {last_day.day}, {last_day.year}" in body


def test_into_and_out_at_the_same_moment_open_one_request(stack: Stack) -> None:
    """Finding 8 of the trust issue: the same student submitted into and out of the district
    in parallel opened two requests (1 pair in 5). Three pairs, each two processes at once."""
    for n in range(3):
        student = f"E2E-RACE-{n}"
        paths = []
        for direction in ("into", "out"):
            path = stack.tmp / f"{student}-{direction}.json"
            path.write_text(json.dumps(request_data(
                district="testdistrict", school_year=stack.year, direction=direction,
                student={"id": student})))
            paths.append(path)
        runs = [subprocess.Popen([str(BIN / "transfers"), "submit", str(path), "--actor",
                                  "clerk", "--json"], env=stack.env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for path in paths]
        results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 1], results
        (refusal,) = [err for code, _, err in results if code == 1]
        assert f"student {student} already has an open request" in refusal
        (started,) = [json.loads(out)["id"] for code, out, _ in results if code == 0]
        assert started in refusal  # the refusal names the request that holds the student
