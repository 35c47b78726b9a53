"""The role ``parent`` is the portal's proofs' only (docs/portal.md "Parents acting"): a
district file that gives it to a staff member gives nothing, so a staff member's proof never
carries it."""

from __future__ import annotations

from app import context
from app.principal import Principal
from districts import load_district
from infra.proofs import ACTING
from models.district import StaffMember
from models.roles import PARENT


def test_a_district_file_cannot_make_staff_a_parent() -> None:
    config = load_district("paramount")
    member = StaffMember(name="mallory", email="mallory@paramount.example.org",
                         roles=["pupil_services", PARENT])
    config = config.model_copy(update={"staff": [*config.staff, member]})
    before = ACTING.set(None)
    try:  # the operation's context variable, set by `staff`: this test's only
        actor = context.staff(config, Principal("mallory", email=member.email))
        acting = ACTING.get()
    finally:
        ACTING.reset(before)
    assert actor.roles == ["pupil_services"]
    assert acting is not None and acting.roles == ("pupil_services",)
