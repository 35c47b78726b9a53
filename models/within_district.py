"""Within-district transfers (seed 004, Rule 5110.1): the lottery's inputs and its result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field

from models.base import Model


class Level(StrEnum):
    """IV.C, IV.D: a transfer holds for one educational level."""

    elementary = "elementary"
    middle = "middle"
    high = "high"


class Residency(StrEnum):
    """Where the student stands relative to the school applied to (VIII.C groups)."""

    attendance_area = "attendance_area"  # lives in the attendance area of the school applied to
    other_resident = "other_resident"  # lives in the district, another school's area
    option_enrollment = "option_enrollment"  # non-resident attending under option enrollment
    non_resident = "non_resident"  # any other non-resident


class Program(StrEnum):
    regular = "regular"
    core = "core"
    montessori = "montessori"
    ib = "ib"


# XI: "Special programs shall mean the District's Core Program, Montessori Program, and
# International Baccalaureate Programmes."
SPECIAL_PROGRAMS = frozenset({Program.core, Program.montessori, Program.ib})


def is_special(program: Program | str) -> bool:
    return Program(program) in SPECIAL_PROGRAMS


class SpecialIssue(StrEnum):
    """IV.G: the issues that allow a second transfer in one school year."""

    safety = "safety"
    health = "health"
    program = "program"


class SeatKey(Model):
    """VII: seats are designated by school, program and grade (0 is kindergarten)."""

    model_config = ConfigDict(frozen=True)

    school: str = Field(min_length=1)
    program: Program
    grade: int = Field(ge=0, le=12)

    def sort_key(self) -> tuple[str, str, int]:
        return (self.school, self.program.value, self.grade)

    def describe(self) -> str:
        grade = "kindergarten" if self.grade == 0 else f"grade {self.grade}"
        return f"{grade} of the {self.program.value} program at {self.school}"


class Applicant(Model):
    """One application in a lottery: a student asking for one seat key."""

    model_config = ConfigDict(frozen=True)

    application_id: str = Field(min_length=1)
    student_id: str = Field(min_length=1)
    school: str = Field(min_length=1)
    program: Program
    grade: int = Field(ge=0, le=12)
    residency: Residency
    resident_sibling: bool = False  # VIII.C.2.a: a sibling attends the school applied to
    current_school: str = ""  # X.B: the school the student attends now
    # A paper form: when it was received and by whom (the window counts its receipt, Rule
    # 5110.1 VIII.A.2, "received no later than 5:00 p.m."); None: received as it is entered.
    received_at: datetime | None = None
    received_by: str | None = None

    @property
    def seat_key(self) -> SeatKey:
        return SeatKey(school=self.school, program=self.program, grade=self.grade)


class Outcome(StrEnum):
    placed = "placed"
    waitlisted = "waitlisted"
    denied = "denied"


class Method(StrEnum):
    lottery = "lottery"  # VIII.B.2: random drawing in the order of VIII.C
    first_come_first_served = "first_come_first_served"  # VIII.A.3: the reopened window


@dataclass(slots=True)
class LotteryEntry:
    """What happened to one application, with what decided it, so anyone can check it.

    A plain dataclass, not a model: a draw builds one per application (100,000 in the
    benchmark) and validating each would double the draw's time; ``LotteryResult`` still
    validates them when a record is read back from JSON."""

    application_id: str
    student_id: str
    seat_key: SeatKey
    outcome: Outcome
    tier: str | None = None  # VIII.C label ("1", "2a", ...), None when denied before ranking
    overcrowding_relief: bool = False  # X.B: put at the front of its tier
    random_number: int | None = None  # lottery only
    received_at: datetime | None = None  # first come, first served only
    waitlist_position: int | None = None  # 1 is offered the next seat that frees
    reason: str = ""  # why denied


class LotteryResult(Model):
    """The whole outcome, in a canonical order: by seat key, then as drawn."""

    method: Method
    seed: str | None = None
    entries: list[LotteryEntry]

    def for_application(self, application_id: str) -> LotteryEntry | None:
        return next((e for e in self.entries if e.application_id == application_id), None)

    def placed(self, key: SeatKey) -> list[LotteryEntry]:
        return [e for e in self.entries if e.seat_key == key and e.outcome is Outcome.placed]

    def waitlist(self, key: SeatKey) -> list[LotteryEntry]:
        """In drawn order; position 1 is offered the next seat that frees."""
        found = [e for e in self.entries if e.seat_key == key and e.outcome is Outcome.waitlisted]
        return sorted(found, key=lambda e: e.waitlist_position or 0)

    def denied(self) -> list[LotteryEntry]:
        return [e for e in self.entries if e.outcome is Outcome.denied]
