"""The districts a staff member works in and their roles there, from the districts'
rosters (as `app.signin.roster_entries` finds them), and what each district's files say that
the read models need: its today. A district's file is parsed again only
when it changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TypeVar

from app import context
from app.errors import Refused
from app.principal import Principal
from districts import UnknownDistrictError, list_districts, load_config
from models.district import DistrictBase
from rules import calendar
from rules.roles import ACTION_ROLES

C = TypeVar("C", bound=DistrictBase)


@dataclass(frozen=True)
class StaffDistrict:
    """A district the person is on the roster of, and their roles there."""

    config: DistrictBase
    roles: frozenset[str]

    @cached_property  # asked for every row of a worklist
    def actions(self) -> frozenset[str]:
        """The `rules.roles.ACTION_ROLES` keys these roles may take."""
        return frozenset(a for a, authority in ACTION_ROLES.items()
                         if authority.roles & self.roles)


def district_config(district_id: str, model: type[C]) -> C:
    """`districts.load_config` from the settings' folder (kept there while its file is
    unchanged: a worklist reads every district's roster)."""
    return load_config(district_id, model, context.settings().districts_dir)


def staff_districts(principal: Principal) -> list[StaffDistrict]:
    """The districts whose roster has the principal (by address, case ignored, as
    `app.signin.roster_entries`; by name when the principal has none, as in-process callers
    name a roster member), with their roles in each."""
    found = []
    for district_id in sorted(list_districts(context.settings().districts_dir)):
        try:
            config = district_config(district_id, DistrictBase)
        except (ValueError, UnknownDistrictError):
            continue  # a district file that does not load is refused where it is used
        if principal.email:
            members = [m for m in config.staff if m.email.lower() == principal.email.lower()]
        else:
            members = [m for m in [config.staff_member(principal.name)] if m is not None]
        found += [StaffDistrict(config, frozenset(m.roles)) for m in members]
    if not found:
        raise Refused(f"{principal.email or principal.name!r} is not on any district's roster")
    return found


def district_today(district_id: str, now: datetime | None = None) -> date:
    """Today in the district's time zone (UTC for a district no file names)."""
    try:
        config = district_config(district_id, DistrictBase)
    except (ValueError, UnknownDistrictError):
        return (now or datetime.now(UTC)).astimezone(UTC).date()
    return calendar.local_date(now or datetime.now(UTC), config.timezone)

