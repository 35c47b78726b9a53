"""Decisions, appeals and their reasons (seed 000)."""

from __future__ import annotations

from enum import StrEnum


class DenialReason(StrEnum):
    """Seed 000, "An interdistrict permit may be denied for one or more of the following"."""

    no_space = "no_space"
    overcrowding = "overcrowding"
    cost_exceeds_funding = "cost_exceeds_funding"
    unlikely_to_meet_terms = "unlikely_to_meet_terms"
    disciplinary_or_expelled = "disciplinary_or_expelled"
    false_information = "false_information"


DENIAL_REASON_TEXT: dict[DenialReason, str] = {
    DenialReason.no_space: "Lack of space availability (grade level or specialized program)",
    DenialReason.overcrowding: "Overcrowding (class size reduction, negotiated class size limits)",
    DenialReason.cost_exceeds_funding: (
        "The additional cost of educating the student would exceed the funding received "
        "as a result of the transfer"
    ),
    DenialReason.unlikely_to_meet_terms: (
        "The student is unlikely to meet the terms of the agreement based on previous "
        "attendance, academic or behavior record"
    ),
    DenialReason.disciplinary_or_expelled: (
        "The student is pending disciplinary action or is currently expelled"
    ),
    DenialReason.false_information: (
        "False or misleading information was provided on the permit application"
    ),
}


class Outcome(StrEnum):
    approve = "approve"
    deny = "deny"


class ExtensionCircumstance(StrEnum):
    """Why a county board extends its decision past 30 days: the circumstances EC 46601
    allows (as amended by SB 413, Stats. 2023, ch. 606), in a class 1 or class 2 county only
    (`rules.deadlines.extension_refusal`)."""

    party_delay = "party_delay"  # the parent, guardian, rights holder or a district was late
    hearing_availability = "hearing_availability"  # no date the parties could all attend
    parent_asked_delay = "parent_asked_delay"  # the parent asked to delay, or could not attend
    window_closed = "window_closed"  # the district has closed its annual application window


class AppealOutcome(StrEnum):
    upheld = "upheld"  # the county upholds the denial: final
    granted = "granted"  # the county overturns it: the permit issues
