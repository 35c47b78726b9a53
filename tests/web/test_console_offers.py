"""A parent's answer to an offered seat, given to staff by telephone or at the counter, and
recorded on the console (docs/lottery.md "Offers"): student services
are offered the form while the seat is offered, the answer is confirmed in words first, and
it goes to the lottery signed for the staff member, as `transfers offers` sends it. The
lottery's own checks of the proof and the last day are tests/workflows/test_within_request.py's
and tests/workflows/test_proofs.py's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import temporal as app_temporal
from infra.proofs import ACTING
from tests.support.console import signed_in, token, use_own_store
from tests.support.parents import ROSTER_ID, WAITLISTED_ID, write_families
from workflows.lottery import LotteryWorkflow

OLSEN = "olsen@millard.example.org"  # student services
RIVERA = "rivera@millard.example.org"  # director of special education
ACTION = f"/requests/{ROSTER_ID}/actions/lottery.answer_offer"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, Any, Any, Any]]:
    """The Updates the console sends, with the proof's subject they are signed for."""
    use_own_store(monkeypatch, tmp_path)
    write_families()
    updates: list[tuple[str, Any, Any, Any]] = []

    async def update(workflow_id: str, update_: Any, action: Any, result_type: type) -> Any:
        updates.append((workflow_id, update_, action, ACTING.get()))
        return None

    monkeypatch.setattr(app_temporal, "update", update)
    return updates


@pytest.mark.parametrize(("answer", "words", "update"), [
    ("accept", "Accepts the seat", LotteryWorkflow.accept_offer),
    ("decline", "Declines the seat", LotteryWorkflow.decline_offer),
])
def test_student_services_record_a_parents_answer_after_confirming_it(
    sent: list[tuple[str, Any, Any, Any]], answer: str, words: str, update: Any,
) -> None:
    with signed_in(OLSEN) as http:
        page = http.get(f"/requests/{ROSTER_ID}").text
        assert f'action="{ACTION}"' in page and 'name="answer"' in page
        asked = http.post(ACTION, data={"csrf": token(page), "answer": answer})
        assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text
        assert f"<dd>{words}</dd>" in asked.text and sent == []  # nothing sent yet
        done = http.post(ACTION, data={"csrf": token(asked.text), "answer": answer,
                                       "confirm": "yes"})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/requests/{ROSTER_ID}?done=lottery.answer_offer"
    [(workflow_id, sent_update, offer_answer, acting)] = sent
    assert workflow_id == "lottery-millard-2027-2028" and sent_update == update
    assert offer_answer.application_id == ROSTER_ID
    # Signed for the staff member who took the call, with their roster roles: no parent's.
    assert (acting.subject, acting.name, acting.district) == (
        "code:olsen@millard.example.org", "olsen", "millard")
    assert "student_services" in acting.roles and "parent" not in acting.roles
    assert offer_answer.actor.name == acting.name


def test_no_answer_without_an_offer_or_the_role(sent: list[tuple[str, Any, Any, Any]]) -> None:
    with signed_in(OLSEN) as http:
        waiting = http.get(f"/requests/{WAITLISTED_ID}").text
        assert "lottery.answer_offer" not in waiting  # a waitlisted request has no offer
        refused = http.post(f"/requests/{WAITLISTED_ID}/actions/lottery.answer_offer",
                            data={"csrf": token(waiting), "answer": "accept", "confirm": "yes"})
        assert refused.status_code == 403 and "not open to it now" in refused.text
    with signed_in(RIVERA) as http:
        page = http.get(f"/requests/{ROSTER_ID}").text
        assert "lottery.answer_offer" not in page
        refused = http.post(ACTION, data={"csrf": token(page), "answer": "accept",
                                          "confirm": "yes"})
        assert refused.status_code == 403
        assert "rivera may not record a parent&#39;s answer to an offer" in refused.text
    with signed_in(OLSEN) as http:
        page = http.get(f"/requests/{ROSTER_ID}").text
        bogus = http.post(ACTION, data={"csrf": token(page), "answer": "maybe",
                                        "confirm": "yes"})
        assert bogus.status_code == 409 and "choose one of: accept, decline" in bogus.text
    assert sent == []
