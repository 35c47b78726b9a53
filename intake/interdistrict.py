"""Submitting a request: parse, check against the policy, start its workflow.

Every check runs before anything is started or written, so a refused request changes
nothing. Used by the `transfers submit` command and by the tests."""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.district import DistrictConfig, DistrictPolicy
from models.requests import InterdistrictRequest
from models.stages import Stage
from rules import eligibility
from rules.errors import PolicyError
from store import records
from workflows.common.attributes import at_start
from workflows.interdistrict_permit import InterdistrictPermitWorkflow, PermitRequestInput

M = TypeVar("M", bound=BaseModel)


def parse_request_file(path: Path) -> InterdistrictRequest:
    """A request from a .json or .toml file; the error names the file and the field."""
    return parse_request(read_form(path), path.name)


def read_form(path: Path) -> object:
    """The fields of a request form in a .json or .toml file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"cannot read request file {path}: {error}") from error
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except ValueError as error:  # the decoders' errors, and an integer of over 4300 digits
        raise PolicyError(f"request file {path.name} is malformed: {error}") from error
    except RecursionError:
        raise PolicyError(f"request file {path.name} is malformed: nested too deeply") from None
    return data


def parse_request(data: object, source: str = "request") -> InterdistrictRequest:
    return validate_form(InterdistrictRequest, data, source)


def validate_form(model: type[M], data: object, source: str = "request") -> M:
    """``data`` as ``model``; the error names every field that is wrong."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source} must be an object with the request's fields")
    # Pydantic ignores keys it does not know: a misspelled optional field (a preferred
    # school, a sibling) would be dropped without a word. The form is refused instead.
    unknown = unknown_fields(model, data)
    if unknown:
        raise PolicyError(
            f"{source} is invalid: "
            + "; ".join(f"{name}: not a field of the form" for name in unknown)
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
            for e in error.errors()
        )
        raise PolicyError(f"{source} is invalid: {problems}") from None


def unknown_fields(model: type[BaseModel], data: dict[Any, Any], at: str = "") -> list[str]:
    """The keys of ``data`` (and of its nested forms) that ``model`` has no field for,
    dotted like pydantic's error locations."""
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    unknown: list[str] = []
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            unknown.append(f"{at}{key}")
            continue
        nested = _form_model(field.annotation)
        if nested is not None and isinstance(value, dict):
            unknown += unknown_fields(nested, value, f"{at}{key}.")
    return unknown


def _form_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``Student``, ``Parent | None``), if it holds one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _form_model(argument)
        if found is not None:
            return found
    return None


def policy_for(config: DistrictConfig, school_year: str) -> DistrictPolicy:
    if config.interdistrict is None:
        raise PolicyError(f"district {config.id} does not take interdistrict permit requests")
    year = config.calendar.get(school_year)
    if year is None:
        known = ", ".join(sorted(config.calendar))
        raise PolicyError(
            f"school year {school_year} is not in {config.id}'s calendar (known: {known})"
        )
    return DistrictPolicy(
        district_id=config.id,
        district_name=config.name,
        timezone=config.timezone,
        contact=config.contact,
        first_day=year.first_day,
        notices_from=config.notices_from,
        staff_notices_to=list(config.staff_notices_to),
        schools={s.id: s.name for s in config.schools},
        settings=config.interdistrict,
    )


def base_request_id(request: InterdistrictRequest) -> str:
    return request_id_base(
        request.district, request.school_year, request.direction.value, request.student.id
    )


def request_id_base(district: str, school_year: str, process: str, student_id: str) -> str:
    """Derived from district, student, process and school year, so a duplicate cannot
    start; the student's id enters only as a hash, keeping it out of workflow ids (FERPA)."""
    student = hashlib.sha256(f"{district}:{student_id}".encode()).hexdigest()
    return f"{district}-{school_year}-{process}-{student[:12]}"


def next_free_id(engine: Engine, base: str) -> str:
    """``base``, or ``base-N`` after the closed earlier requests of the same student and year."""
    taken = set(records.request_ids_like(engine, base))
    request_id, n = base, 1
    while request_id in taken:
        n += 1
        request_id = f"{base}-{n}"
    return request_id


def prepare(
    request: InterdistrictRequest,
    config: DistrictConfig,
    today: date,
    engine: Engine,
    submitted_by: str,
) -> PermitRequestInput:
    if request.district != config.id:
        raise PolicyError(f"request is for district {request.district!r}, not {config.id!r}")
    eligibility.check_requester(request.parent.relationship)
    if request.preferred_school and config.school(request.preferred_school) is None:
        raise PolicyError(f"unknown school {request.preferred_school!r} in {config.id}")
    eligibility.school_year_start(request.school_year)
    policy = policy_for(config, request.school_year)
    year = config.calendar[request.school_year]
    settings = policy.settings
    eligibility.check_submission_date(
        request.school_year, year.first_day, year.last_day, today,
        settings.opens_month, settings.opens_day,
    )
    existing = records.find_open_request(
        engine, request.district, request.student.id, request.school_year
    )
    if existing:
        raise PolicyError(
            f"student {request.student.id} already has an open request for "
            f"{request.school_year}: {existing}"
        )
    request_id = next_free_id(engine, base_request_id(request))
    return PermitRequestInput(
        id=request_id, request=request, policy=policy, submitted_by=submitted_by
    )


async def start(client: Client, inp: PermitRequestInput, task_queue: str) -> WorkflowHandle:
    attributes = at_start(
        Stage.submitted, inp.request.district, inp.request.school_year
    )
    return await start_request(
        client, InterdistrictPermitWorkflow.run, inp, inp.id, task_queue, attributes
    )


async def start_request(
    client: Client,
    run: Any,
    inp: BaseModel,
    request_id: str,
    task_queue: str,
    attributes: TypedSearchAttributes,
) -> WorkflowHandle:
    """Start a request's workflow once: its id is derived, so a second start is refused."""
    try:
        return await client.start_workflow(
            run,
            inp,
            id=request_id,
            task_queue=task_queue,
            search_attributes=attributes,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    except WorkflowAlreadyStartedError:
        raise PolicyError(f"request {request_id} already exists") from None
