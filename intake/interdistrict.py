"""An interdistrict permit request at intake (seed 000): parsed, checked against the policy
(who may request, the school, the school year, the opening date, one open request per
student), and made into its workflow's input. Every check runs before anything starts, so a
refused request changes nothing; `app.submissions` starts it."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import Engine

from intake.forms import read_form, validate_form
from intake.ids import next_free_id, request_id_base
from intake.paper import check_paper
from models.district import DistrictConfig, DistrictPolicy
from models.requests import InterdistrictRequest
from rules import agreements, eligibility
from rules.calendar import at_local, local_date
from rules.errors import PolicyError
from store import records
from workflows.interdistrict_permit import PermitRequestInput


def parse_request_file(path: Path) -> InterdistrictRequest:
    """A request from a .json or .toml file; the error names the file and the field."""
    return parse_request(read_form(path), path.name)


def base_request_id(engine: Engine, request: InterdistrictRequest) -> str:
    return request_id_base(
        engine, request.district, request.school_year, request.direction.value,
        request.student.id,
    )


def parse_request(data: object, source: str = "request") -> InterdistrictRequest:
    return validate_form(InterdistrictRequest, data, source)


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
        last_day=year.last_day,
        non_instructional=list(year.non_instructional),
        notices_from=config.notices_from,
        staff_notices_to=list(config.staff_notices_to),
        schools={s.id: s.name for s in config.schools},
        settings=config.interdistrict,
    )


def with_agreement(
    request: InterdistrictRequest, policy: DistrictPolicy, config: DistrictConfig
) -> tuple[InterdistrictRequest, DistrictPolicy]:
    """EC 46600(a)(1)-(2): the request rests on the district's agreement with the district it
    names for its school year, and the permit takes the agreement's conditions: both are
    fixed with the request. A district that lists no agreements is not matched."""
    agreement = agreements.agreement_for(
        config.agreements, request.other_district, request.school_year
    )
    if agreement is None:
        return request, policy
    agreements.check_reapplication(agreement, request.reapply_annually)
    return (
        request.model_copy(update={"reapply_annually": agreement.reapply_annually}),
        policy.model_copy(update={"agreement": agreement}),
    )


def prepare(
    request: InterdistrictRequest,
    config: DistrictConfig,
    today: date,
    engine: Engine,
    submitted_by: str,
    received_at: datetime | None = None,
    received_by: str | None = None,
    now: datetime | None = None,
) -> PermitRequestInput:
    """Every intake check. ``today`` is the submitting machine's, for early feedback only: the
    workflow judges the dates again on its own clock (docs/cross-cutting.md "One clock for
    intake"). A paper form gives when (``received_at``) and by whom it was received: its
    dates are its receipt's."""
    if request.district != config.id:
        raise PolicyError(f"request is for district {request.district!r}, not {config.id!r}")
    eligibility.check_requester(request.parent.relationship)
    if request.preferred_school and config.school(request.preferred_school) is None:
        raise PolicyError(f"unknown school {request.preferred_school!r} in {config.id}")
    eligibility.school_year_start(request.school_year)
    if received_at is not None or received_by is not None:
        entered = now or at_local(today, time(12), config.timezone)
        check_paper(config, received_at, received_by, entered)
        assert received_at is not None
        today = local_date(received_at, config.timezone)
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
    request, policy = with_agreement(request, policy, config)
    request_id = next_free_id(engine, base_request_id(engine, request))
    return PermitRequestInput(
        id=request_id, request=request, policy=policy, submitted_by=submitted_by,
        received_at=received_at, received_by=received_by, last_day=year.last_day,
        paper_entry_days=config.paper_entry_days,
    )
