"""Which staff role may take which action (docs/interdistrict.md "Staff roles"). The roles of
a named actor come from the district configuration (`[[staff]]`)."""

from __future__ import annotations

from rules.errors import PolicyError

PUPIL_SERVICES = "pupil_services"
DIRECTOR = "director"
SUPERINTENDENT_DESIGNEE = "superintendent_designee"
COUNTY_OFFICE = "county_office"

ACTION_ROLES: dict[str, frozenset[str]] = {
    "submit": frozenset({PUPIL_SERVICES}),
    "add_document": frozenset({PUPIL_SERVICES}),
    "record_release": frozenset({PUPIL_SERVICES}),
    "decide": frozenset({DIRECTOR, SUPERINTENDENT_DESIGNEE}),
    "file_appeal": frozenset({PUPIL_SERVICES, COUNTY_OFFICE}),
    "record_appeal_outcome": frozenset({COUNTY_OFFICE}),
    "extend_appeal": frozenset({COUNTY_OFFICE}),
    "withdraw": frozenset({PUPIL_SERVICES}),
}


def check_role(action: str, actor_name: str, actor_roles: list[str]) -> None:
    allowed = ACTION_ROLES[action]
    if not allowed.intersection(actor_roles):
        have = ", ".join(actor_roles) or "no role"
        need = " or ".join(sorted(allowed))
        raise PolicyError(f"{actor_name} ({have}) may not {action.replace('_', ' ')}: needs {need}")
