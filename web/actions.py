"""The staff actions the request page offers, read from their forms and sent through the
application layer as the signed-in person (so the workflow receives the proof it verifies).
Each action's form fields are named here; a value the action's model refuses is a refusal,
shown on the page like the workflow's own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from pydantic import ValidationError

from app import lottery, requests, within
from app.errors import Refused
from app.principal import Principal
from models.decisions import AppealOutcome, DenialReason, Outcome
from models.within_request import CurrentYearFactors, RecommendationKind

Form = Mapping[str, Sequence[str]]
FACTORS = ("reasons", "time_of_year", "capacity_and_staffing", "educational_program")


def _one(form: Form, name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _choice(form: Form, name: str, allowed: Sequence[str]) -> str:
    value = _one(form, name)
    if value not in allowed:
        raise Refused(f"choose one of: {', '.join(allowed)}")
    return value


def _reasons(form: Form) -> list[DenialReason]:
    given = form.get("reasons") or []
    unknown = [r for r in given if r not in DenialReason.__members__]
    if unknown:
        raise Refused(f"unknown denial reason {unknown[0]!r}")
    return [DenialReason(r) for r in given]


async def perform(principal: Principal, request_id: str, action: str, form: Form) -> None:
    """Send ``action`` with the values of its form, as ``principal``; a refusal raises."""
    try:
        await _perform(principal, request_id, action, form)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in error.errors())
        raise Refused(problems) from None


async def _perform(principal: Principal, request_id: str, action: str, form: Form) -> None:
    note = _one(form, "note")
    if action == "record_release":
        granted = _choice(form, "granted", ("yes", "no")) == "yes"
        await requests.record_release(request_id, principal, granted, note)
    elif action == "decide":
        outcome = Outcome(_choice(form, "outcome", ("approve", "deny")))
        await requests.decide(request_id, principal, outcome, _reasons(form),
                              _one(form, "school") or None, note)
    elif action == "file_appeal":
        filed = _one(form, "filed_on")
        try:
            filed_on = date.fromisoformat(filed) if filed else None
        except ValueError:
            raise Refused(f"{filed!r} is not a date (YYYY-MM-DD)") from None
        await requests.file_appeal(request_id, principal, filed_on, note)
    elif action == "record_appeal_outcome":
        outcome_ = AppealOutcome(_choice(form, "outcome", ("upheld", "granted")))
        await requests.record_appeal_outcome(request_id, principal, outcome_, note)
    elif action == "withdraw":
        await requests.withdraw(request_id, principal, note)
    elif action == "within.withdraw":
        await within.withdraw(request_id, principal, note)
    elif action == "within.decide":
        approve = _choice(form, "outcome", ("approve", "deny")) == "approve"
        factors = CurrentYearFactors(**{name: _one(form, name) for name in FACTORS})
        await within.decide(request_id, principal, approve, factors)
    elif action == "lottery.answer_offer":  # the parent's answer, given to staff
        accept = _choice(form, "answer", ("accept", "decline")) == "accept"
        await lottery.answer_offer(request_id, principal, accept)
    elif action.startswith("within.recommend."):
        kind = RecommendationKind(action.removeprefix("within.recommend."))
        recommended = _choice(form, "recommended", ("for", "against")) == "for"
        await within.recommend(request_id, principal, kind, recommended, _one(form, "reasoning"))
    else:
        raise Refused(f"no action {action!r}")


def carried(form: Form) -> list[tuple[str, str]]:
    """The form's values to carry through the confirmation step (not its token)."""
    return [(name, value) for name, values in form.items() if name not in ("csrf", "confirm")
            for value in values]
