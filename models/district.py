"""A district's configuration, as `districts/<id>.toml` writes it."""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import EmailStr, Field, field_validator, model_validator

from models.base import Model


class SchoolYear(Model):
    first_day: date
    last_day: date
    # Weekdays with no instruction (the holidays of EC 37220, breaks, staff days): school days
    # are counted without them (rules/provisional.py).
    non_instructional: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> SchoolYear:
        if self.last_day <= self.first_day:
            raise ValueError("last_day must come after first_day")
        outside = [d.isoformat() for d in self.non_instructional
                   if not self.first_day <= d <= self.last_day]
        if outside:
            raise ValueError("non_instructional days outside the school year: "
                             + ", ".join(outside))
        return self


class School(Model):
    id: str
    name: str
    level: str = Field(pattern=r"^(elementary|middle|high)$")
    lowest_grade: int = Field(ge=0, le=12)
    highest_grade: int = Field(ge=0, le=12)


class StaffMember(Model):
    name: str
    email: EmailStr
    roles: list[str]


class InterdistrictSettings(Model):
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
    # A permit out of the district is valid on the endorsement of the district of enrollment
    # (EC 46600(a)(3)): staff are reminded at 8 a.m. this many days before it is due, and the
    # due day is this many days after the permit is issued (district settings).
    endorsement_due_days: int = Field(default=30, ge=1)
    endorsement_reminder_days_before: int = Field(default=7, ge=0)
    # Staff are told this many days before an agreement's last school year ends (June 30).
    agreement_notice_days_before: int = Field(default=180, ge=1)


# California's county-district (CD) code: the first seven digits of the CDS code, two for the
# county and five for the district (CDE, "File Structure: Public Districts", CDCode). CALPADS
# SENR field 1.31 takes one (docs/cross-cutting.md "Exports and the dashboard").
CD_CODE = r"^\d{7}$"


# Seed 000's revocation reasons (models/permits.py::RevocationReason, which imports this
# module): the reasons an agreement may stipulate (EC 46600(a)(2)-(3)).
REVOCATION_REASONS = ("academic_effort", "attendance", "behavior", "false_information",
                      "continuance_inadvisable")


class Agreement(Model):
    """An agreement with another district for interdistrict attendance (EC 46600(a)(1)-(2)):
    its partner, its term (at most five school years: rules/agreements.py::check_term), and
    the conditions it states. A request names its other district; the agreement with that
    district covering its school year gives the permit its conditions."""

    partner: str = Field(min_length=1, max_length=200)  # the other district's name
    partner_id: str | None = Field(default=None, pattern=r"^[a-z0-9-]+$")  # a short name
    cd_code: str | None = Field(default=None, pattern=CD_CODE)  # for the CALPADS export
    first_school_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    last_school_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    # Standards for reapplication (EC 46600(a)(2)): True, the student reapplies each school
    # year; False, the statute's default (EC 46600(a)(1)): once enrolled, no reapplying.
    reapply_annually: bool = False
    # The seed's revocation reasons the agreement keeps (EC 46600(a)(2)-(3)); all by default.
    revocation_reasons: list[str] = Field(default_factory=lambda: list(REVOCATION_REASONS))
    # The terms for granting and denying, as the agreement words them (kept, not acted on).
    conditions: str = Field(default="", max_length=4000)

    @field_validator("revocation_reasons")
    @classmethod
    def _reasons(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in REVOCATION_REASONS]
        if unknown:
            raise ValueError(f"unknown revocation reason(s) {', '.join(unknown)} (known: "
                             f"{', '.join(REVOCATION_REASONS)})")
        return value

    @property
    def names(self) -> list[str]:
        """What a request may write for the partner: its name, short name or CD code."""
        return [n for n in (self.partner, self.partner_id, self.cd_code) if n]


class DistrictBase(Model):
    """What every district file has, whichever processes the district runs."""

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    state: str
    cd_code: str | None = Field(default=None, pattern=CD_CODE)  # California districts only
    timezone: str
    contact: str = ""
    # The contact in Spanish, the signature of Spanish notices and portal pages (docs/portal.md
    # "The signature in Spanish"); empty: the English one, as written.
    contact_es: str = ""
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
    # The CD codes of the other districts its requests name (``other_district``, as written
    # there): an export gives a student's district of residence by its code (SENR 1.31).
    other_district_cd_codes: dict[str, str] = Field(default_factory=dict)
    # Its agreements with other districts (EC 46600(a)); none listed: not configured, and
    # requests are not matched to one (docs/interdistrict.md "Agreements between districts").
    agreements: list[Agreement] = Field(default_factory=list)

    @model_validator(mode="after")
    def _agreement_codes(self) -> DistrictConfig:
        """An agreement's CD code is the partner's code for the export too (SENR 1.31)."""
        for agreement in self.agreements:
            if agreement.cd_code is None:
                continue
            given = self.other_district_cd_codes.get(agreement.partner)
            if given not in (None, agreement.cd_code):
                raise ValueError(f"{agreement.partner}: CD code {agreement.cd_code} in its "
                                 f"agreement, {given} in other_district_cd_codes")
            self.other_district_cd_codes[agreement.partner] = agreement.cd_code
        return self

    @field_validator("other_district_cd_codes")
    @classmethod
    def _cd_codes(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = [name for name, code in value.items() if not re.match(CD_CODE, code)]
        if wrong:
            raise ValueError(f"not a 7-digit county-district code: {', '.join(wrong)}")
        return value

    def school(self, school_id: str) -> School | None:
        return next((s for s in self.schools if s.id == school_id), None)

class DistrictSnapshot(Model):
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
    # The school year's end and its non-instructional days, for provisional attendance's
    # school days (EC 46603); absent from requests submitted before it was carried.
    last_day: date | None = None
    non_instructional: list[date] = Field(default_factory=list)
    # The agreement with the request's other district (EC 46600(a)), fixed at submission;
    # absent when the district lists none, and from requests submitted before agreements.
    agreement: Agreement | None = None
