"""An agreement's end, told to staff ahead (EC 46600(a)(1): "a term not to exceed five school
years"; docs/interdistrict.md "An agreement's end").

One workflow per agreement and term, ``agreement_watch_id``, started as a child that outlives
it by the first permit issued under the agreement (a second start finds it and leaves it). It
waits until 8 a.m. on the notice day, the district's ``agreement_notice_days_before`` the
agreement's last day (June 30 of its last school year), and tells staff that the agreement
ends and that new requests naming the district will be refused from then on unless a new
agreement is added to the district file. A notice day already past when it starts is told at
once, unless the agreement has ended."""

from __future__ import annotations

import re
from datetime import time

from pydantic import BaseModel
from temporalio import workflow

from workflows.common.notify import NoticesUnderway
from workflows.common.waiting import today_in

with workflow.unsafe.imports_passed_through():
    import rules.calendar as calendar
    from models.district import Agreement, DistrictSnapshot
    from models.notices import Notice, NoticeKind
    from rules import agreements as rules

NOTICE_CLOCK = time(8, 0)


class AgreementWatchInput(BaseModel):
    district: DistrictSnapshot
    agreement: Agreement
    notice_days_before: int


def agreement_watch_id(district_id: str, agreement: Agreement) -> str:
    """``agreement-<district>-<partner>-<last school year>``: one per agreement and term."""
    partner = agreement.partner_id or re.sub(r"[^a-z0-9]+", "-", agreement.partner.lower())
    return f"agreement-{district_id}-{partner.strip('-')}-{agreement.last_school_year}"


@workflow.defn(name="AgreementEnding")
class AgreementWatchWorkflow:
    @workflow.init
    def __init__(self, inp: AgreementWatchInput) -> None:
        self.inp = inp
        self.told_on: str = ""
        self.notices = NoticesUnderway()

    @workflow.run
    async def run(self, inp: AgreementWatchInput) -> str:
        tz = inp.district.timezone
        last = rules.agreement_last_day(inp.agreement)
        notice_day = rules.agreement_notice_day(last, inp.notice_days_before)
        if workflow.now() >= calendar.end_of_day(last, tz):
            return ""  # ended already: nothing to tell ahead
        at = calendar.at_local(notice_day, NOTICE_CLOCK, tz)
        if workflow.now() < at:
            await workflow.sleep((at - workflow.now()).total_seconds())
        self.told_on = today_in(tz).isoformat()
        district = inp.district
        await self.notices.send(Notice(
            key=f"{workflow.info().workflow_id}:ending",
            request_id=workflow.info().workflow_id,
            kind=NoticeKind.staff_agreement_ending,
            sender=district.notices_from,
            to=list(district.staff_notices_to),
            language="en",
            staff=list(district.staff_notices_to),
            facts={
                "request_id": workflow.info().workflow_id,
                "district_name": district.district_name,
                "district_id": district.district_id,
                "partner": inp.agreement.partner,
                "first_school_year": inp.agreement.first_school_year,
                "last_school_year": inp.agreement.last_school_year,
                "last_day": calendar.long_date(last),
                "following_school_year": f"{last.year}-{last.year + 1}",
            },
        ))
        await self.notices.settled()
        return self.told_on

    @workflow.query
    def status(self) -> str:
        """The day staff were told, or "" while it waits."""
        return self.told_on
