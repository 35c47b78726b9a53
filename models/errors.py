"""The error a policy refusal raises. Models validate with it too (a model's validator may
refuse a value for a policy reason), so it lives at the bottom layer; ``rules.errors``
re-exports it for the rules and everything above them."""

from __future__ import annotations


class PolicyError(ValueError):
    """An action or a request that the policy refuses; the message names the problem."""
