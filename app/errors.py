"""How an operation says no. A front shows the message as it is: it names the problem."""

from __future__ import annotations

from rules.errors import PolicyError
from store.migrate import DatabaseNotCurrent
from store.records import StoreUnusable


class Refused(Exception):
    """An action refused before or by the workflow; the message says why."""


REFUSALS: tuple[type[Exception], ...] = (Refused, PolicyError, DatabaseNotCurrent, StoreUnusable)
"""Every refusal an operation raises: a front turns each into its message."""
