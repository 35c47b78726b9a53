"""The role ``parent`` (docs/portal.md "Parents acting"): the portal's proofs give it, and
the role table lets it apply, hand in documents, withdraw and answer an offer, nothing
else."""

from __future__ import annotations

import pytest

from rules.errors import PolicyError
from rules.roles import ACTION_ROLES, PARENT, check_role

# Applying (docs/portal.md "Parents applying"), then acting on the request.
PARENTS_ACTIONS = {"submit", "within.submit", "add_document", "withdraw", "within.withdraw",
                   "lottery.answer_offer"}


def test_a_parent_may_take_only_the_portals_actions() -> None:
    assert {action for action, may in ACTION_ROLES.items() if PARENT in may.roles} \
        == PARENTS_ACTIONS


@pytest.mark.parametrize("action", sorted(set(ACTION_ROLES) - PARENTS_ACTIONS))
def test_every_other_action_is_refused_to_a_parent(action: str) -> None:
    with pytest.raises(PolicyError, match="may not"):
        check_role(action, "parent:maria@example.com", [PARENT])
