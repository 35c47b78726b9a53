"""A district's transfer policy as the public reads it (EC 46600.2: posted without a password):
plain data derived from the district's file and the constants of ``rules/``, so that every
front shows the same dates and numbers the workflows act on (docs/portal.md "The policy
page"). Codes (reasons, documents, tiers, programs) stay codes: a front shows them through
its catalogs, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app import context
from app.errors import Refused
from districts import list_districts
from models.decisions import DenialReason
from models.district import DistrictConfig, SchoolYear
from models.documents import DocumentKind
from models.permits import RevocationReason
from models.requests import TransferReason
from models.within_district import SPECIAL_PROGRAMS, SpecialIssue
from models.within_district_config import WithinDistrictConfig
from rules import deadlines, revocation
from rules.documents import INTO_DOCUMENTS, REASON_EVIDENCE, SELF_EMPLOYED_EVIDENCE
from rules.eligibility import requests_open_on
from rules.permits import school_year_end
from rules.tiers import TIER_LABELS
from rules.within_windows import (
    current_year_window,
    district_next_year_window,
    notify_by,
    reopened_window,
)


@dataclass(frozen=True)
class ReasonEvidence:
    """Seed 000, "Reasons out": a reason and the documents that prove it."""

    reason: str  # models.requests.TransferReason
    documents: tuple[str, ...]  # models.documents.DocumentKind
    self_employed: tuple[str, ...] = ()  # the alternative for a self-employed parent


@dataclass(frozen=True)
class InterdistrictYear:
    """One school year's dates (seed 000 "Applicable timelines"; EC 46600.2)."""

    school_year: str
    opens: date  # new requests accepted from this day
    first_day: date
    short_window_from: date  # received on or after it: decided within 30 days of receipt
    early_last_day: date  # received before it: decided by this day at the latest
    revocation_cutoff: date  # a grade 10 permit may be revoked through this day (EC 46600)


@dataclass(frozen=True)
class Agreement:
    partner: str
    first_school_year: str
    last_school_year: str
    reapply_annually: bool


@dataclass(frozen=True)
class InterdistrictPolicy:
    years: tuple[InterdistrictYear, ...]
    into_documents: tuple[str, ...]
    iep_document: str
    reasons_out: tuple[ReasonEvidence, ...]
    document_deadline_days: int
    release_deadline_days: int
    decision_promise_days: int
    statute_short_window_days: int
    statute_decision_days: int
    statute_after_first_day_days: int
    denial_reasons: tuple[str, ...]
    appeal_days: int
    appeal_body: str
    county_decision_days: int
    county_extended_days: int | None  # None: this county may not extend (EC 46601)
    revocation_reasons: tuple[str, ...]
    never_revoked_from_grade: int
    last_revocable_grade: int
    agreements: tuple[Agreement, ...]


@dataclass(frozen=True)
class OpenSeat:
    school: str  # the school's name
    program: str
    grade: int
    seats: int


@dataclass(frozen=True)
class WithinYear:
    """One school year's windows (Rule 5110.1 VIII.A, IX.A) and its open seats (VII)."""

    school_year: str
    next_year_opens: datetime
    next_year_closes: datetime  # that instant excluded: online (VIII.A.2), the draw
    next_year_in_person_closes: datetime | None  # 5:00 p.m.; None: one close for both
    notify_by: date
    reopens: datetime | None  # VIII.A.3: first come, first served
    first_day: date
    current_year_closes: datetime  # IX.A: that instant excluded
    seats: tuple[OpenSeat, ...]

    @property
    def next_year_last_day(self) -> date:
        """The last day online applications are taken (VIII.A.2: "on or before")."""
        return (self.next_year_closes - timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class WithinPolicy:
    years: tuple[WithinYear, ...]
    tiers: tuple[str, ...]  # rules.tiers.TIER_LABELS, first served first
    special_programs: tuple[str, ...]
    second_transfer_issues: tuple[str, ...]  # IV.G
    offer_accept_days: int
    overcrowded_schools: tuple[str, ...]  # X.B, by name; empty when off


@dataclass(frozen=True)
class DistrictPolicy:
    id: str
    name: str
    timezone: str
    contact: str
    contact_es: str  # the contact in Spanish, when the file gives it
    interdistrict: InterdistrictPolicy | None
    within: WithinPolicy | None


def districts() -> list[tuple[str, str]]:
    """Every district of the deployment: (id, name), by name."""
    found = []
    for district_id in list_districts(context.settings().districts_dir):
        try:
            found.append((district_id, context.district(district_id).name))
        except (Refused, ValueError):
            continue  # a file that does not load is not shown (the CLI says why)
    return sorted(found, key=lambda pair: pair[1])


def policy(district_id: str, today: date) -> DistrictPolicy:
    """The district's policy for the school years of its calendar not over by ``today``
    (a date in the district's zone)."""
    try:
        config = context.district(district_id)
    except ValueError as error:
        raise Refused(str(error)) from None
    within_config: WithinDistrictConfig | None
    try:
        within_config = context.within_district(district_id)
    except Refused:
        within_config = None  # not a district with within-district transfers (no areas)
    interdistrict = (_interdistrict(config, today) if config.interdistrict is not None
                     else None)
    within = _within(within_config, today) if within_config is not None else None
    return DistrictPolicy(id=config.id, name=config.name, timezone=config.timezone,
                          contact=config.contact, contact_es=config.contact_es,
                          interdistrict=interdistrict, within=within)


def _current_years(calendar: dict[str, SchoolYear], today: date) -> list[str]:
    return sorted(year for year, dates in calendar.items() if dates.last_day >= today)


def _interdistrict(config: DistrictConfig, today: date) -> InterdistrictPolicy:
    settings = config.interdistrict
    assert settings is not None
    years = []
    for year in _current_years(config.calendar, today):
        first_day = config.calendar[year].first_day
        short_from = first_day - timedelta(days=deadlines.STATUTE_SHORT_WINDOW_DAYS)
        years.append(InterdistrictYear(
            school_year=year,
            opens=requests_open_on(year, settings.opens_month, settings.opens_day),
            first_day=first_day,
            short_window_from=short_from,
            # A request received the day before the short window: the later statutory rule.
            early_last_day=deadlines.statutory_decision_last_day(
                short_from - timedelta(days=1), first_day),
            revocation_cutoff=date(school_year_end(year).year, *revocation.REVOCATION_CUTOFF),
        ))
    extends = settings.county_class in deadlines.EXTENDING_COUNTY_CLASSES  # EC 46601
    return InterdistrictPolicy(
        years=tuple(years),
        into_documents=tuple(d.value for d in INTO_DOCUMENTS),
        iep_document=DocumentKind.iep_or_504.value,  # "if applicable"
        reasons_out=tuple(
            ReasonEvidence(
                reason=reason.value,
                documents=tuple(d.value for d in REASON_EVIDENCE[reason]),
                self_employed=(tuple(d.value for d in SELF_EMPLOYED_EVIDENCE)
                               if reason is TransferReason.parent_employment else ()),
            )
            for reason in TransferReason
        ),
        document_deadline_days=settings.document_deadline_days,
        release_deadline_days=settings.release_deadline_days,
        decision_promise_days=settings.decision_promise_days,
        statute_short_window_days=deadlines.STATUTE_SHORT_WINDOW_DAYS,
        statute_decision_days=deadlines.STATUTE_DECISION_DAYS,
        statute_after_first_day_days=deadlines.STATUTE_AFTER_FIRST_DAY_DAYS,
        denial_reasons=tuple(r.value for r in DenialReason),
        appeal_days=deadlines.APPEAL_WINDOW_DAYS,
        appeal_body=settings.appeal_body,
        county_decision_days=deadlines.COUNTY_DECISION_DAYS,
        county_extended_days=deadlines.COUNTY_EXTENDED_DAYS if extends else None,
        revocation_reasons=tuple(r.value for r in RevocationReason),
        never_revoked_from_grade=revocation.NEVER_REVOKED_FROM_GRADE,
        last_revocable_grade=revocation.LAST_REVOCABLE_GRADE,
        agreements=tuple(
            Agreement(partner=a.partner, first_school_year=a.first_school_year,
                      last_school_year=a.last_school_year, reapply_annually=a.reapply_annually)
            for a in config.agreements
        ),
    )


def _within(config: WithinDistrictConfig, today: date) -> WithinPolicy:
    settings = config.within_district
    tz = config.timezone
    names = {s.id: s.name for s in config.schools}
    years = []
    for year in _current_years(config.calendar, today):
        first_day = config.calendar[year].first_day
        window = district_next_year_window(settings, year, tz)
        completes = settings.option_enrollment_complete.get(year)
        current = current_year_window(first_day, tz, settings.current_year_closes_month,
                                      settings.current_year_closes_day)
        years.append(WithinYear(
            school_year=year,
            next_year_opens=window.opens,
            next_year_closes=window.closes,
            next_year_in_person_closes=window.in_person_closes,
            notify_by=notify_by(year, settings.notify_by_month, settings.notify_by_day),
            reopens=(reopened_window(completes, first_day, tz).opens
                     if completes is not None else None),
            first_day=first_day,
            current_year_closes=current.closes,
            seats=tuple(
                OpenSeat(school=names.get(e.school, e.school), program=e.program.value,
                         grade=e.grade, seats=e.seats)
                for e in config.open_seats if e.school_year == year
            ),
        ))
    return WithinPolicy(
        years=tuple(years),
        tiers=TIER_LABELS,
        special_programs=tuple(sorted(p.value for p in SPECIAL_PROGRAMS)),
        second_transfer_issues=tuple(i.value for i in SpecialIssue),
        offer_accept_days=settings.offer_accept_days,
        overcrowded_schools=tuple(names.get(s, s) for s in sorted(config.overcrowded_schools())),
    )


def timezone_of(district_id: str) -> str:
    """The district's time zone, in which its pages show every date."""
    return context.district(district_id).timezone
