"""Requests, policies and actors for tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from districts import load_district
from intake.interdistrict import policy_for
from models.actions import AddDocument
from models.district import DistrictPolicy
from models.documents import DocumentKind
from models.people import Actor
from models.requests import InterdistrictRequest
from models.stages import Stage
from models.state import HistoryEntry, RequestState
from workflows.interdistrict_permit import PermitRequestInput

CLERK = Actor(name="avalos", roles=["pupil_services"])
DIRECTOR = Actor(name="nguyen", roles=["director"])
COUNTY = Actor(name="lacoe", roles=["county_office"])
NOBODY = Actor(name="visitor", roles=[])
SHA = "ab" * 32


def request_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "district": "paramount",
        "student": {"id": "S1001", "first_name": "Ana", "last_name": "Lopez", "grade": 4},
        "parent": {
            "name": "Maria Lopez",
            "email": "maria@example.com",
            "relationship": "natural_parent",
        },
        "direction": "out",
        "reason": "moving",
        "school_year": "2027-2028",
        "other_district": "Downey Unified School District",
        "preferred_school": None,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def make_request(**overrides: Any) -> InterdistrictRequest:
    return InterdistrictRequest.model_validate(request_data(**overrides))


def make_policy(first_day: date, **settings: Any) -> DistrictPolicy:
    policy = policy_for(load_district("paramount"), "2027-2028")
    return policy.model_copy(
        update={
            "first_day": first_day,
            "settings": policy.settings.model_copy(update=settings),
        }
    )


def make_input(
    request_id: str, first_day: date, request: InterdistrictRequest | None = None, **settings: Any
) -> PermitRequestInput:
    return PermitRequestInput(
        id=request_id,
        request=request or make_request(),
        policy=make_policy(first_day, **settings),
        submitted_by="avalos",
    )


def document(kind: DocumentKind, actor: Actor = CLERK) -> AddDocument:
    return AddDocument(actor=actor, kind=kind, name=f"{kind.value}.pdf", sha256=SHA, size=10)


# ---- a request as the records store holds it ---------------------------------------------

T0 = datetime(2027, 3, 1, 17, 0, tzinfo=UTC)

STAGES = [Stage.submitted, Stage.awaiting_documents, Stage.under_review, Stage.approved]


def state_at(
    seq: int,
    request_id: str = "PUSD-2027-0001",
    stages: list[Stage] | None = None,
    **fields: object,
) -> RequestState:
    """The request's state after ``seq`` recorded events; the i-th event enters stages[i]."""
    stages = stages or STAGES
    request = fields.pop("request", None) or make_request()
    history = [
        HistoryEntry(
            seq=i,
            at=T0 + timedelta(hours=i),
            stage=stages[min(i, len(stages)) - 1],
            event=f"event-{i}",
            actor="avalos" if i % 2 else "system",
            reason=f"why {i}",
        )
        for i in range(1, seq + 1)
    ]
    return RequestState(
        id=request_id,
        request=request,
        timezone="America/Los_Angeles",
        stage=history[-1].stage if history else Stage.submitted,
        received_at=T0,
        history=history,
        **fields,
    )


def as_utc(instant: datetime) -> datetime:
    """A column read back: SQLite returns the UTC reading without an offset."""
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
