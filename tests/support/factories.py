"""Requests, policies and actors for tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from districts import load_district
from intake.interdistrict import policy_for
from models.actions import AddDocument
from models.district import DistrictPolicy
from models.documents import DocumentKind
from models.people import Actor
from models.requests import InterdistrictRequest
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
