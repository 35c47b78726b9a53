"""Who may ask for a within-district transfer, and what is refused or flagged at intake
(seed 004, Rule 5110.1 I, II, III, IV.G, VI.C, VII)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from models.within_district import Applicant, Program, Residency, SeatKey, SpecialIssue
from rules.errors import PolicyError
from rules.tiers import tier_label

# Review flags: not refusals, but a decision waits for the named person's recommendation.
FLAG_EXTENSIVE_RECORD = "extensive_disciplinary_record"  # III.A: considered only if in the
#   best interests of the student or the school, which staff determine
FLAG_SPECIAL_EDUCATION = "special_education_director_recommendation"  # III.C
FLAG_ENGLISH_LEARNER = "superintendent_designee_recommendation"  # III.D


def check_enrolled(currently_enrolled: bool, grade: int) -> None:
    """I.A: a parent of a K-12 student currently enrolled in the District may ask."""
    if not 0 <= grade <= 12:
        raise PolicyError(f"grade {grade} is not K-12 (I.A)")
    if not currently_enrolled:
        raise PolicyError("the student is not currently enrolled in the District (I.A)")


def check_residency(residency: Residency | str, extenuating: bool = False) -> None:
    """II: residents (II.A) and option-enrollment students (II.B) are eligible. Any other
    non-resident is refused unless the Superintendent allows it for extenuating
    circumstances (X.A); that is how VIII.C.4 ("all other non-resident students") is
    reached."""
    if Residency(residency) is Residency.non_resident and not extenuating:
        raise PolicyError(
            "only students whose parents reside in the District (II.A) or who attend under "
            "option enrollment (II.B) may ask for a within-district transfer"
        )


def check_residency_matches(residency: Residency | str, home_school: str, school: str) -> None:
    """VIII.C: residency is relative to the school applied to. A resident is an
    attendance-area student exactly when the school applied to is the home school (the
    school of the attendance area the family lives in)."""
    residency = Residency(residency)
    if residency is Residency.attendance_area and home_school != school:
        raise PolicyError(
            f"residency attendance_area means living in the attendance area of {school}, "
            f"but the home school is {home_school}: the student is an other_resident there"
        )
    if residency is Residency.other_resident and home_school == school:
        raise PolicyError(
            f"{school} is the student's home school: residency there is attendance_area, "
            "not other_resident"
        )


def check_discipline(suspended: bool, expelled: bool, extensive_record: bool = False) -> list[str]:
    """III.A: refused during a suspension or an expulsion; an extensive disciplinary record
    is flagged for review, not refused. Returns the review flags."""
    if expelled:
        raise PolicyError("students may not transfer during an expulsion (III.A)")
    if suspended:
        raise PolicyError("students may not transfer during a suspension (III.A)")
    return [FLAG_EXTENSIVE_RECORD] if extensive_record else []


def review_flags(
    extensive_record: bool = False, special_education: bool = False, english_learner: bool = False
) -> list[str]:
    """III.A, III.C, III.D: what must be weighed, and by whom, before a decision."""
    flags = []
    if extensive_record:
        flags.append(FLAG_EXTENSIVE_RECORD)
    if special_education:
        flags.append(FLAG_SPECIAL_EDUCATION)
    if english_learner:
        flags.append(FLAG_ENGLISH_LEARNER)
    return flags


def check_one_open_request(student_id: str, open_request_ids: Collection[str]) -> None:
    """VI.C: only one request form at any given time for a student."""
    if open_request_ids:
        ids = ", ".join(sorted(open_request_ids))
        raise PolicyError(
            f"student {student_id} already has an open within-district request ({ids}); "
            "only one may be open at a time (VI.C)"
        )


def check_one_transfer_per_year(
    transfers_this_year: int, special_issue: SpecialIssue | str | None = None
) -> None:
    """IV.G: no more than one transfer per school year unless special safety, health or
    program issues are involved."""
    if transfers_this_year < 0:
        raise PolicyError("transfers_this_year cannot be negative")
    if special_issue is not None:
        special_issue = SpecialIssue(special_issue)  # an unknown issue is an error, not a pass
    if transfers_this_year >= 1 and special_issue is None:
        raise PolicyError(
            "the student has already transferred this school year; a second transfer needs "
            "a safety, health or program issue (IV.G)"
        )


def check_open(key: SeatKey, seats: Mapping[SeatKey, int]) -> None:
    """VII: only the schools, programs and grades the superintendent's designee declared
    open (with at least one seat) take within-district transfers."""
    if seats.get(key, 0) <= 0:
        raise PolicyError(f"{key.describe()} is not open to within-district transfers (VII)")


def check_needs_transfer(applicant: Applicant, current_program: Program | str) -> None:
    """I.A: a request is for "a different school or special program". An attendance-area
    student asking for their own school's regular program (VIII.C.1, see rules.tiers), or a
    student asking for the school and program they already attend, needs no transfer."""
    tier_label(applicant, applicant.program)
    if applicant.current_school == applicant.school and Program(current_program) is (
        applicant.program
    ):
        raise PolicyError(
            f"student {applicant.student_id} already attends the {applicant.program.value} "
            f"program at {applicant.school}: ask for a different school or program (I.A)"
        )
