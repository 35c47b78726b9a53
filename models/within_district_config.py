"""A district's within-district transfer configuration (seed 004, Rule 5110.1), as
`districts/<id>.toml` writes it (read by `districts.load_within_district`). Separate from
`models.district.DistrictConfig`; the shared top-level keys (id, name, timezone, calendar,
schools, staff) are written so that `districts.load_district` can read the same file too."""

from __future__ import annotations

from datetime import date, time

from pydantic import Field, model_validator

from models.base import Model
from models.district import DistrictBase, StaffMember
from models.roles import ROLE_LOTTERY_CERTIFIER, ROLE_SEAT_SETTER, WITHIN_ROLES
from models.within_district import Level, Program, SeatKey

LEVEL_GRADES = {  # the grades each educational level may hold (IV.D)
    Level.elementary: range(0, 6),
    Level.middle: range(6, 9),
    Level.high: range(9, 13),
}


class WithinSchool(Model):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    level: Level
    lowest_grade: int = Field(ge=0, le=12)
    highest_grade: int = Field(ge=0, le=12)
    attendance_area: str = Field(min_length=1)
    programs: list[Program] = Field(default_factory=lambda: [Program.regular])

    @model_validator(mode="after")
    def _grades(self) -> WithinSchool:
        if self.highest_grade < self.lowest_grade:
            raise ValueError(f"school {self.id}: highest_grade is below lowest_grade")
        allowed = LEVEL_GRADES[self.level]
        if self.lowest_grade not in allowed or self.highest_grade not in allowed:
            raise ValueError(f"school {self.id}: grades do not fit level {self.level.value}")
        if Program.regular not in self.programs:
            raise ValueError(f"school {self.id}: every school offers the regular program")
        return self

    def has_grade(self, grade: int) -> bool:
        return self.lowest_grade <= grade <= self.highest_grade


class OpenSeats(Model):
    """VII: the superintendent's designee designates what is open, and how many seats."""

    school_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    school: str
    program: Program
    grade: int = Field(ge=0, le=12)
    seats: int = Field(ge=0)

    @property
    def key(self) -> SeatKey:
        return SeatKey(school=self.school, program=self.program, grade=self.grade)


class Overcrowding(Model):
    """X.B: the superintendent may prioritise transfers that relieve overcrowding."""

    enabled: bool = False
    schools: list[str] = Field(default_factory=list)


class WithinDistrictSettings(Model):
    """The dates and numbers a district may set; defaults are the seed's."""

    next_year_opens_month: int = Field(default=9, ge=1, le=12)  # VIII.A.1: September 1
    next_year_opens_day: int = Field(default=1, ge=1, le=31)
    next_year_closes_month: int = Field(default=2, ge=1, le=12)  # VIII.A.2: February 15,
    next_year_closes_day: int = Field(default=15, ge=1, le=31)
    next_year_closes_time: time = time(17, 0)  # ... 5:00 p.m. local, that instant excluded
    # VIII.A.2 again: "submitted online by on or before February 15": online applications
    # (the portal's) are taken until the end of that day, forms delivered in person until
    # the clock time above. False: online ones close at that time too.
    online_until_end_of_day: bool = True
    notify_by_month: int = Field(default=3, ge=1, le=12)  # VIII: on or before March 1
    notify_by_day: int = Field(default=1, ge=1, le=31)
    current_year_closes_month: int = Field(default=1, ge=1, le=12)  # IX.A: prior to January 15
    current_year_closes_day: int = Field(default=15, ge=1, le=31)
    option_enrollment_complete: dict[str, date] = Field(default_factory=dict)  # VIII.A.3
    offer_accept_days: int = Field(default=10, ge=1)  # docs/lottery.md "Offers": 10 if unset
    certification_escalation_days_before: int = Field(default=7, ge=1)
    overcrowding: Overcrowding = Field(default_factory=Overcrowding)


def _day(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:  # February 29 in a common year
        return date(year, month + 1, 1)


class WithinDistrictConfig(DistrictBase):
    schools: list[WithinSchool] = Field(min_length=1)
    within_district: WithinDistrictSettings = Field(default_factory=WithinDistrictSettings)
    open_seats: list[OpenSeats] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> WithinDistrictConfig:
        ids = [s.id for s in self.schools]
        if len(ids) != len(set(ids)):
            raise ValueError("school ids must be unique")
        areas = [s.attendance_area for s in self.schools]
        if len(areas) != len(set(areas)):
            raise ValueError("each school has its own attendance area")
        settings = self.within_district
        # In a common year (February 29 read as March 1), notify_by the next year if earlier.
        closes = _day(2001, settings.next_year_closes_month, settings.next_year_closes_day)
        notify = _day(2001, settings.notify_by_month, settings.notify_by_day)
        if notify <= closes:
            notify = _day(2002, settings.notify_by_month, settings.notify_by_day)
        if (notify - closes).days <= self.paper_entry_days:
            raise ValueError(
                f"paper_entry_days ({self.paper_entry_days}) must end before parents are told "
                f"(notify_by {settings.notify_by_month}/{settings.notify_by_day}): the draw is "
                "certified only after paper forms received before the close are in"
            )
        for year in settings.option_enrollment_complete:
            if year not in self.calendar:
                raise ValueError(f"option_enrollment_complete names unknown school year {year}")
        for school_id in settings.overcrowding.schools:
            if self.school(school_id) is None:
                raise ValueError(f"overcrowding names unknown school {school_id!r}")
        seen: set[tuple[str, SeatKey]] = set()
        for entry in self.open_seats:
            school = self.school(entry.school)
            where = f"open_seats {entry.school_year} {entry.key.describe()}"
            if entry.school_year not in self.calendar:
                raise ValueError(f"{where}: unknown school year")
            if school is None:
                raise ValueError(f"{where}: unknown school")
            if entry.program not in school.programs:
                raise ValueError(f"{where}: the school does not offer the program")
            if not school.has_grade(entry.grade):
                raise ValueError(f"{where}: the school has no such grade")
            if (entry.school_year, entry.key) in seen:
                raise ValueError(f"{where}: listed twice")
            seen.add((entry.school_year, entry.key))
        for member in self.staff:
            unknown = set(member.roles) - WITHIN_ROLES
            if unknown:
                raise ValueError(f"staff {member.name}: unknown roles {sorted(unknown)}")
        setters = {m.name for m in self.staff if ROLE_SEAT_SETTER in m.roles}
        certifiers = {m.name for m in self.staff if ROLE_LOTTERY_CERTIFIER in m.roles}
        if (setters or certifiers) and not any(c != s for c in certifiers for s in setters):
            raise ValueError("a seat setter and a lottery certifier who is someone else are needed")
        return self

    def school(self, school_id: str) -> WithinSchool | None:
        return next((s for s in self.schools if s.id == school_id), None)

    def schools_at(self, level: Level) -> list[WithinSchool]:
        return [s for s in self.schools if s.level is level]

    def school_for_area(self, attendance_area: str) -> WithinSchool | None:
        return next((s for s in self.schools if s.attendance_area == attendance_area), None)

    def seats_for(self, school_year: str) -> dict[SeatKey, int]:
        """VII: the seats open to transfers in one school year; a key not listed has none."""
        return {e.key: e.seats for e in self.open_seats if e.school_year == school_year}

    def overcrowded_schools(self) -> frozenset[str]:
        """X.B: the schools whose students go first in their tier, if the switch is on."""
        overcrowding = self.within_district.overcrowding
        return frozenset(overcrowding.schools) if overcrowding.enabled else frozenset()

    def with_role(self, role: str) -> list[StaffMember]:
        return [m for m in self.staff if role in m.roles]

