"""The verification code printed on a permit, which the other district's staff type into the
portal's public page to see whether the permit is valid (docs/portal.md "Permit
verification"). It is the HMAC-SHA-256 of the permit id under the district's own secret (made
on first use and kept in the records store, as request ids' key is: docs/cross-cutting.md
"Request ids"), cut to 80 bits and written in base32 in four groups of four: short enough to
type, too many to guess (2^80), and it says nothing of the permit id or the student."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date

from app import context
from app.errors import Refused
from districts import list_districts
from models.permits import PermitStage, PermitState
from rules.permit_codes import grouped, key_name, raw_code
from store import permits as permit_store
from store.secrets import secret

# Characters people mistake for base32 ones (base32 has no 0, 1 or 8).
LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})


def _key(district: str) -> bytes:
    return secret(context.engine(), key_name(district))


def permit_code(state: PermitState) -> str:
    """The code to print on ``state``'s permit, e.g. ``ABCD-EFGH-IJKL-MNOP``."""
    return grouped(raw_code(_key(state.district), state.id))


def normalized(typed: str) -> str:
    """What the person typed, as a code: case, spaces, dashes and look-alikes forgiven."""
    kept = "".join(ch for ch in typed.upper() if ch.isalnum())
    return kept.translate(LOOKALIKES)


@dataclass(frozen=True)
class PermitCheck:
    """What verification shows (no name, no id): enough to match the paper in hand."""

    status: str  # active, awaiting_endorsement, revoked or expired
    district: str  # the district's name
    school: str  # the school's name ("" for a permit to another district's school)
    school_year: str
    process: str
    initials: str
    grade: int
    ended_on: date | None


VALID_STAGES = frozenset({PermitStage.active, PermitStage.renewal_due})


def _status(state: PermitState) -> str:
    if state.stage is PermitStage.revoked:
        return "revoked"
    if state.stage is PermitStage.awaiting_endorsement:
        return "awaiting_endorsement"  # EC 46600(a)(3): valid once endorsed
    return "active" if state.stage in VALID_STAGES else "expired"


def _initials(name: str) -> str:
    return "".join(f"{part[0].upper()}." for part in name.split() if part[:1].isalpha())


def check(typed: str) -> PermitCheck | None:
    """The permit whose code was typed, or None. The code is compared with every permit's of
    every district (one HMAC each: a hundred thousand permits take a fraction of a second), in
    constant time, so the records store needs no column of codes."""
    code = normalized(typed)
    if len(code) != len(raw_code(b"", "")):
        return None
    engine = context.engine()
    for district in sorted(list_districts(context.settings().districts_dir)):
        key = _key(district)
        for permit_id in permit_store.permit_ids(engine, district):
            if hmac.compare_digest(raw_code(key, permit_id), code):
                state = permit_store.get_permit(engine, permit_id)
                if state is None:
                    return None
                return _checked(state)
    return None


def _checked(state: PermitState) -> PermitCheck:
    try:
        name = context.district(state.district).name
    except (Refused, ValueError):
        name = state.district
    return PermitCheck(status=_status(state), district=name, school=state.school_name,
                       school_year=state.school_year, process=state.process.value,
                       initials=_initials(state.holder.student_name), grade=state.grade,
                       ended_on=state.ended_on)
