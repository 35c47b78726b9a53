"""What a signed-in staff member may see and do in a front that shows requests (the staff
console): their own districts' requests only, and the actions their roster roles allow at the
request's stage. The workflows check every action again and have the last word; this is what
a front offers, and what it refuses before anything is sent.

A request of another district is "no request", as one that does not exist: a staff member
learns nothing from an id that is not theirs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app import context, requests
from app.errors import Refused
from app.principal import Principal
from app.requests import AnyState
from app.signin import roster_entries
from models.documents import DocumentRecord
from models.permits import PermitStage, PermitState
from models.stages import APPEALABLE_STAGES, DECIDABLE_STAGES, Stage
from models.state import RequestState
from models.within_request import WithinKind, WithinRequestState, WithinStage
from rules.roles import ACTION_ROLES

# The interdistrict actions a front offers, by their Update's name (rules/roles.py's keys).
RELEASE, DECIDE, FILE_APPEAL, APPEAL_OUTCOME, WITHDRAW = (
    "record_release", "decide", "file_appeal", "record_appeal_outcome", "withdraw")
WITHIN_DECIDE, WITHIN_WITHDRAW, WITHIN_RECOMMEND = (
    "within.decide", "within.withdraw", "within.recommend.")
# A parent's answer to an offer, given to staff (by telephone, at the counter): the lottery's.
ANSWER_OFFER = "lottery.answer_offer"


def roles_by_district(principal: Principal) -> dict[str, frozenset[str]]:
    """The principal's roles in each district whose roster has their address."""
    return {entry.district.id: frozenset(entry.member.roles)
            for entry in roster_entries(principal.email)} if principal.email else {}


def districts(principal: Principal) -> list[str]:
    return sorted(roles_by_district(principal))


def visible(principal: Principal, request_id: str) -> AnyState:
    """The request with its audit trail, when it is of one of the principal's districts;
    refused as "no request" otherwise, as one that does not exist."""
    try:
        state = requests.get(request_id)
    except Refused:
        raise Refused(f"no request {request_id!r}") from None
    if state.request.district not in roles_by_district(principal):
        raise Refused(f"no request {request_id!r}")
    return requests.with_history(state)


def _released(state: RequestState) -> bool:
    return any(entry.event.startswith("release_") for entry in state.history)


def _interdistrict_actions(state: RequestState) -> list[str]:
    stage = state.stage
    found = []
    if (state.request.direction.value == "into" and not _released(state)
            and stage in {Stage.submitted, Stage.awaiting_documents, Stage.awaiting_release}):
        found.append(RELEASE)
    if stage in DECIDABLE_STAGES:
        found.append(DECIDE)
    if stage in APPEALABLE_STAGES:
        found.append(FILE_APPEAL)
    if stage is Stage.appeal_pending:
        found.append(APPEAL_OUTCOME)
    if state.is_open:
        found.append(WITHDRAW)
    return found


def _within_actions(state: WithinRequestState) -> list[str]:
    found = []
    if state.stage is WithinStage.awaiting_recommendation:
        found += [WITHIN_RECOMMEND + kind.value for kind in state.pending_recommendations()]
    if state.stage is WithinStage.under_review and state.kind is WithinKind.current_year:
        found.append(WITHIN_DECIDE)
    if state.stage is WithinStage.offered:
        found.append(ANSWER_OFFER)
    if state.is_open:
        found.append(WITHIN_WITHDRAW)
    return found


def actions(principal: Principal, state: AnyState) -> list[str]:
    """The actions (rules/roles.py's keys) the principal may take on the request now: those
    its stage admits and the principal's roles in its district allow."""
    roles = roles_by_district(principal).get(state.request.district, frozenset())
    possible = (_within_actions(state) if isinstance(state, WithinRequestState)
                else _interdistrict_actions(state))
    return [name for name in possible if ACTION_ROLES[name].roles & roles]


def check_action(principal: Principal, state: AnyState, action: str) -> None:
    """Refuse an action the principal may not take on the request now, saying why."""
    if action in actions(principal, state):
        return
    authority = ACTION_ROLES.get(action)
    roles = sorted(roles_by_district(principal).get(state.request.district, frozenset()))
    if authority is not None and not authority.roles & set(roles):
        raise Refused(f"{principal.name} may not {authority.what}: needs "
                      f"{' or '.join(sorted(authority.roles))} (has {', '.join(roles) or 'none'})")
    stage = state.stage.value
    raise Refused(f"request {state.id} is {stage}: that action is not open to it now")


@dataclass(frozen=True)
class DocumentFile:
    record: DocumentRecord
    path: Path


def document(principal: Principal, request_id: str, sha256: str) -> DocumentFile:
    """A document of a request the principal may see, and where its content is."""
    state = visible(principal, request_id)
    records = state.documents if isinstance(state, RequestState) else []
    record = next((d for d in records if d.sha256 == sha256), None)
    path = context.documents().path_of(sha256) if record else None
    if record is None or path is None or not path.is_file():
        raise Refused(f"request {request_id} has no document {sha256[:12]}…")
    return DocumentFile(record, path)


# ---- permits ------------------------------------------------------------------------------

PERMIT_REVOKE, PERMIT_RENEW = "permit.revoke", "permit.act"


def permit_actions(principal: Principal, permit: PermitState) -> list[str]:
    """What the principal may do to the permit now (rules/roles.py's keys): revoke an active
    permit (a director or the designee), record its renewal while it is due (permit staff)."""
    if not permit.is_active:
        return []
    roles = roles_by_district(principal).get(permit.district, frozenset())
    possible = [PERMIT_REVOKE]
    if permit.stage is PermitStage.renewal_due:
        possible.append(PERMIT_RENEW)
    return [name for name in possible if ACTION_ROLES[name].roles & roles]


def check_permit_action(principal: Principal, permit: PermitState, action: str) -> None:
    """Refuse an action on the permit the principal may not take now, saying why."""
    if action in permit_actions(principal, permit):
        return
    authority = ACTION_ROLES.get(action)
    if authority is None or not permit.is_active:
        raise Refused(f"permit {permit.id} is {permit.stage.value}: that action is not open "
                      "to it now")
    raise Refused(f"{principal.name} may not {authority.what}: needs "
                  f"{' or '.join(sorted(authority.roles))}")
