"""The order of approval for next-year within-district transfers (seed 004, Rule 5110.1
VIII.C), with the superintendent's overcrowding priority (X.B).

How the tiers are read:

- ``Residency`` is relative to the school applied to: a student living in that school's
  attendance area is an "attendance-area student" there and an "other district resident"
  everywhere else in the district.
- Tier 1, "School Attendance Area Students — a. Special Programs by Grade", lists only special
  programs because an attendance-area student is already assigned to the regular program of
  their own school: asking for it needs no transfer, so such an application is refused
  (``NoTransferNeeded``) rather than ranked.
- Tier 2a, "Millard Resident Siblings", is for other district residents with a sibling at the
  school applied to, whatever the program; it comes before 2b and 2c. VIII.C gives sibling
  priority to residents only: an option-enrollment or other non-resident sibling is ranked by
  program like any other student of their group, and an attendance-area sibling is already
  in tier 1 (special) or needs no transfer (regular).
- Special programs are Core, Montessori and IB (XI); "by grade" is the seat key (school,
  program, grade) that each lottery is drawn for.
- X.B: when the switch is on, an applicant whose current school is one of the named
  overcrowded schools goes to the front of their own tier (never into a higher tier).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from models.within_district import Applicant, Program, Residency, is_special
from rules.errors import PolicyError

TIER_LABELS = ("1", "2a", "2b", "2c", "3a", "3b", "4a", "4b")  # VIII.C, first to last


class NoTransferNeeded(PolicyError):
    """An attendance-area student asking for the regular program of their own school."""


class TierKey(NamedTuple):
    """Sorts first-served first: by VIII.C tier, then X.B relief ahead of the rest."""

    order: int  # index in TIER_LABELS
    relief: int  # 0: relieves an overcrowded school (X.B), 1: otherwise
    label: str

    @property
    def overcrowding_relief(self) -> bool:
        return self.relief == 0


def tier_label(applicant: Applicant, seat_key_program: Program | str) -> str:
    """VIII.C: the tier of an application to a seat key with program ``seat_key_program``."""
    special = is_special(seat_key_program)
    residency = applicant.residency
    if residency is Residency.attendance_area:
        if not special:
            raise NoTransferNeeded(
                f"student {applicant.student_id} lives in the attendance area of "
                f"{applicant.school}: its regular program needs no transfer (VIII.C.1)"
            )
        return "1"  # VIII.C.1.a
    if residency is Residency.other_resident:
        if applicant.resident_sibling:
            return "2a"  # VIII.C.2.a
        return "2b" if special else "2c"  # VIII.C.2.b, 2.c
    if residency is Residency.option_enrollment:
        return "3a" if special else "3b"  # VIII.C.3
    return "4a" if special else "4b"  # VIII.C.4


def tier_of(
    applicant: Applicant,
    seat_key_program: Program | str,
    overcrowded: Collection[str] = (),
) -> TierKey:
    """The sortable tier key; ``overcrowded`` holds the X.B schools, empty when the switch is
    off."""
    label = tier_label(applicant, seat_key_program)
    relief = bool(applicant.current_school) and applicant.current_school in overcrowded
    return TierKey(order=TIER_LABELS.index(label), relief=0 if relief else 1, label=label)
