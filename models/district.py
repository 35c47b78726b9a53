"""A district's configuration, as `districts/<id>.toml` writes it."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator


class SchoolYear(BaseModel):
    first_day: date
    last_day: date

    @model_validator(mode="after")
    def _ordered(self) -> SchoolYear:
        if self.last_day <= self.first_day:
            raise ValueError("last_day must come after first_day")
        return self


class School(BaseModel):
    id: str
    name: str
    level: str = Field(pattern=r"^(elementary|middle|high)$")
    lowest_grade: int = Field(ge=0, le=12)
    highest_grade: int = Field(ge=0, le=12)


class StaffMember(BaseModel):
    name: str
    email: EmailStr
    roles: list[str]


class InterdistrictSettings(BaseModel):
    """Seed 000 timelines; the numbers a district may set are here, the law's are in rules/."""

    opens_month: int = Field(default=1, ge=1, le=12)  # "may be submitted beginning January 15"
    opens_day: int = Field(default=15, ge=1, le=31)
    decision_promise_days: int = Field(default=30, ge=1)  # "sent via email within 30 days"
    document_deadline_days: int = Field(default=14, ge=1)
    release_deadline_days: int = Field(default=30, ge=1)
    reminder_days_before_due: list[int] = Field(default_factory=lambda: [7, 2])
    appeal_body: str = "the County Office of Education"
    # The class of the county whose board hears the district's appeals (EC 46600.1(a): the
    # classes of Government Code 28020 ff., 1 the most populous): only a class 1 or 2
    # county may extend its decision to 60 days (EC 46601). None: not configured, no extension.
    county_class: int | None = Field(default=None, ge=1, le=58)
    # A permit renewed each year (seed 000: "reapply on an annual basis") is renewed from
    # January 15 (renewals open with new requests) through this day (the district's deadline).
    renewal_deadline_month: int = Field(default=3, ge=1, le=12)
    renewal_deadline_day: int = Field(default=31, ge=1, le=31)


class DistrictBase(BaseModel):
    """What every district file has, whichever processes the district runs."""

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    state: str
    timezone: str
    contact: str = ""
    notices_from: EmailStr
    staff_notices_to: list[EmailStr] = Field(min_length=1)
    calendar: dict[str, SchoolYear] = Field(min_length=1)
    staff: list[StaffMember] = Field(default_factory=list)
    # A paper form is entered within this many calendar days of the day it was received
    # (docs/cross-cutting.md "Paper forms"); 0 is the same day. The lottery waits this long
    # after its close before its draw may be certified.
    paper_entry_days: int = Field(default=3, ge=0, le=14)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    def staff_member(self, name: str) -> StaffMember | None:
        return next((s for s in self.staff if s.name == name), None)


class DistrictConfig(DistrictBase):
    schools: list[School]
    # Present when the district runs interdistrict permits (seed 000); absent otherwise.
    interdistrict: InterdistrictSettings | None = None

    def school(self, school_id: str) -> School | None:
        return next((s for s in self.schools if s.id == school_id), None)

class DistrictSnapshot(BaseModel):
    """What every workflow carries of its district, fixed when it starts (docs/cross-cutting.md
    "Settings fixed at submission"): who it is, its time zone, and who sends and receives
    its notices. What a request and a permit need besides extends it."""

    district_id: str
    district_name: str
    timezone: str
    contact: str
    notices_from: str
    staff_notices_to: list[str]


class DistrictPolicy(DistrictSnapshot):
    """The part of the configuration a request's workflow carries, fixed at submission:
    the rules in force when the request was received."""

    first_day: date
    schools: dict[str, str]  # id -> name
    settings: InterdistrictSettings
