"""A submitted interdistrict permit request (seed 000)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.base import Model
from models.people import Parent, Student
from models.roster import RosterCheck
from models.text import Line, Text


class Direction(StrEnum):
    into = "into"  # we are the district of enrollment; the district of residence releases first
    out = "out"  # we are the district of residence; our approval is the permit


class TransferReason(StrEnum):
    """The reasons seed 000 lists, each with its own evidence (see rules.documents)."""

    bullying = "bullying"
    parent_employment = "parent_employment"
    child_care = "child_care"
    moving = "moving"
    continuing_enrollment = "continuing_enrollment"
    sibling = "sibling"
    specific_program = "specific_program"


class InterdistrictRequest(Model):
    """What a parent (or staff on their behalf) submits."""

    district: Line = Field(min_length=1, max_length=64)
    student: Student
    parent: Parent
    direction: Direction
    reason: TransferReason
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$", description="e.g. 2027-2028")
    other_district: Line = Field(
        min_length=1,
        max_length=200,
        description="the district of residence (into) or of enrollment (out)",
    )
    preferred_school: Line | None = Field(
        default=None,
        max_length=100,
        description="recorded, not guaranteed: the district assigns where space allows",
    )
    self_employed: bool = Field(
        default=False, description="for parent_employment: the self-employed evidence applies"
    )
    reapply_annually: bool = False
    details: Text = Field(default="", max_length=4000)
    # What intake found in the district's roster (intake/roster_facts.py), never the form's.
    roster: RosterCheck | None = None
