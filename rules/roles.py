"""Which staff role may take which action, in every process (docs/interdistrict.md "Staff
roles"): the interdistrict request (seed 000), the within-district request and its lottery
(Rule 5110.1) and the permit they issue. The roles of a named actor come from the district
configuration (`[[staff]]`); their names are `models.roles`, re-exported here.

Interdistrict actions are keyed by their Update's name (the CLI checks ``submit`` before
anything starts); the other processes' by ``process.action``."""

from __future__ import annotations

from dataclasses import dataclass

from models.roles import (
    COUNTY_OFFICE,
    DIRECTOR,
    PARENT,
    PUPIL_SERVICES,
    ROLE_DIRECTOR_SPECIAL_EDUCATION,
    ROLE_LOTTERY_CERTIFIER,
    ROLE_SEAT_SETTER,
    ROLE_STUDENT_SERVICES,
    ROLE_SUPERINTENDENT_DESIGNEE,
    SUPERINTENDENT_DESIGNEE,
    WITHIN_ROLES,
)
from rules.errors import PolicyError

__all__ = [
    "ACTION_ROLES", "COUNTY_OFFICE", "DIRECTOR", "PARENT", "PUPIL_SERVICES",
    "ROLE_DIRECTOR_SPECIAL_EDUCATION", "ROLE_LOTTERY_CERTIFIER", "ROLE_SEAT_SETTER",
    "ROLE_STUDENT_SERVICES", "ROLE_SUPERINTENDENT_DESIGNEE", "SUPERINTENDENT_DESIGNEE",
    "WITHIN_ROLES", "Authority", "check_role",
]


@dataclass(frozen=True)
class Authority:
    """Who may take one action, and how a refusal names the action."""

    roles: frozenset[str]
    what: str
    # A refusal names the actor's own roles too; the permit's refusals never did ("avalos may
    # not revoke a permit: needs ..."), and staff know them so.
    names_roles: bool = True


def _may(what: str, *roles: str, names_roles: bool = True) -> Authority:
    return Authority(frozenset(roles), what, names_roles)


# Any staff member who keeps a permit's facts (a move, a transfer, a renewal, IV.A).
_PERMIT_STAFF = (PUPIL_SERVICES, ROLE_STUDENT_SERVICES, DIRECTOR, SUPERINTENDENT_DESIGNEE)

ACTION_ROLES: dict[str, Authority] = {
    # Seed 000: the interdistrict permit request.
    # A parent applies for their own student in the portal (EC 46600.1: only a parent may
    # request; Rule 5110.1 VIII.A.2: "completed by the parent"): these two actions only.
    "submit": _may("submit", PUPIL_SERVICES, PARENT),
    # A parent (the portal's proofs only) hands in documents, withdraws, answers an offer:
    # nothing else, and only on their own requests (app/parent_actions.py checks which).
    "add_document": _may("add document", PUPIL_SERVICES, PARENT),
    "record_release": _may("record release", PUPIL_SERVICES),
    "decide": _may("decide", DIRECTOR, SUPERINTENDENT_DESIGNEE),
    "file_appeal": _may("file appeal", PUPIL_SERVICES, COUNTY_OFFICE),
    "record_appeal_outcome": _may("record appeal outcome", COUNTY_OFFICE),
    "extend_appeal": _may("extend appeal", COUNTY_OFFICE),
    "withdraw": _may("withdraw", PUPIL_SERVICES, PARENT),
    "start_provisional": _may("record provisional attendance", PUPIL_SERVICES, DIRECTOR),
    # Rule 5110.1: the within-district request. III.A, III.C, III.D: who gives each
    # recommendation (keyed by `RecommendationKind`); IX.B: the designee decides.
    "within.recommend.discipline": _may(
        "give the discipline recommendation", ROLE_SUPERINTENDENT_DESIGNEE
    ),
    "within.recommend.special_education": _may(
        "give the special_education recommendation", ROLE_DIRECTOR_SPECIAL_EDUCATION
    ),
    "within.recommend.english_learner": _may(
        "give the english_learner recommendation", ROLE_SUPERINTENDENT_DESIGNEE
    ),
    "within.submit": _may("submit a within-district request", ROLE_STUDENT_SERVICES, PARENT),
    "within.decide": _may("decide (IX.B)", ROLE_SUPERINTENDENT_DESIGNEE),
    "within.withdraw": _may("withdraw a request", ROLE_STUDENT_SERVICES, PARENT),
    # Rule 5110.1 VII, VIII: the lottery. The seat setter may not also certify: that rule is
    # by name (the lottery's ``seats_set_by``), not by role, and stays in the lottery.
    "lottery.certify": _may("certify the draw", ROLE_LOTTERY_CERTIFIER),
    "lottery.add_seats": _may("add seats", ROLE_SEAT_SETTER),
    "lottery.answer_offer": _may(
        "record a parent's answer to an offer", ROLE_STUDENT_SERVICES, PARENT
    ),
    # The permit (seed 000 "rescinded, or revoked"; seed 004 IV).
    "permit.act": _may("act on permits", *_PERMIT_STAFF, names_roles=False),
    "permit.revoke": _may(
        "revoke a permit", DIRECTOR, SUPERINTENDENT_DESIGNEE, names_roles=False
    ),
    # Exports of student records (docs/cross-cutting.md "Exports and the dashboard"): the
    # staff who keep requests and permits; not the county office, nor a role for one task.
    "reports.export": _may("export student records", *_PERMIT_STAFF),
    # The district's roster from its SIS (docs/cross-cutting.md "Roster"): the same staff.
    "roster.import": _may("import the roster", *_PERMIT_STAFF),
}


def check_role(action: str, actor_name: str, actor_roles: list[str]) -> None:
    """Refuse (PolicyError) an actor none of whose roles may take ``action``."""
    authority = ACTION_ROLES[action]
    if authority.roles.intersection(actor_roles):
        return
    who = actor_name
    if authority.names_roles:
        who += f" ({', '.join(actor_roles) or 'no role'})"
    # Staff are told the staff roles: the parent's is the portal's, never a district file's.
    need = " or ".join(sorted(authority.roles - {PARENT} or authority.roles))
    raise PolicyError(f"{who} may not {authority.what}: needs {need}")
