"""A within-district test district whose dates sit just ahead of the time-skipping server's
clock (which is shared by the whole session and only moves forward), and requests for it.

Each call gives a district of its own id, so its lottery (one per district and school year)
is the test's own. The schools, programs, staff and seats are the shipped Millard file's.
``District`` drives one such district's requests and lottery on the time-skipping server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.submissions import start_within
from districts import load_within_district
from intake.within import prepare_within
from models.district import SchoolYear
from models.lottery_record import LotteryRecord, LotteryStage
from models.people import Actor, Parent
from models.within_district import Program, Residency, SeatKey
from models.within_district_config import (
    OpenSeats,
    WithinDistrictConfig,
    WithinDistrictSettings,
)
from models.within_request import WithinRequest, WithinRequestState, WithinStage, WithinStudent
from rules import calendar, receipts, within_windows
from tests.support.proofs import client_with, parent, server_signer
from tests.support.waiting import eventually
from tests.support.workflows import skip_to
from workflows.lottery import LotteryWorkflow as L
from workflows.permit import PermitWorkflow as P
from workflows.within_request import WithinRequestWorkflow as R

TZ = "America/Chicago"
MONTESSORI_K = SeatKey(school="norris-elementary", program=Program.montessori, grade=0)
MONTESSORI_1 = SeatKey(school="norris-elementary", program=Program.montessori, grade=1)

# The shipped roster (districts/millard.toml).
DESIGNEE = Actor(name="kowalski", roles=["superintendent_designee"])
SPED_DIRECTOR = Actor(name="rivera", roles=["director_special_education"])
SETTER = Actor(name="olsen", roles=["student_services", "seat_setter"])
CERTIFIER = Actor(name="tran", roles=["student_services", "lottery_certifier"])


def test_district(now: datetime, seats: dict[SeatKey, int] | None = None) -> WithinDistrictConfig:
    """Applications close three days after ``now``, at 5:00 p.m. Central in person and at the
    end of the day online (the seed's two closes, VIII.A.2); parents are told
    within two weeks; option enrollment completes 30 days after the close, school starts 60
    days after it. The school year is named for the close's calendar year."""
    closes = calendar.local_date(now, TZ) + timedelta(days=3)
    if (closes + timedelta(days=20)).year != closes.year:  # keep notify_by in the same year
        closes = date(closes.year + 1, 1, 5)
    year = f"{closes.year}-{closes.year + 1}"
    notify = closes + timedelta(days=14)
    first_day = closes + timedelta(days=60)
    base = load_within_district("millard")
    seat_map = seats if seats is not None else {MONTESSORI_K: 2, MONTESSORI_1: 1}
    settings = WithinDistrictSettings(
        next_year_opens_month=1,
        next_year_opens_day=1,
        next_year_closes_month=closes.month,
        next_year_closes_day=closes.day,
        notify_by_month=notify.month,
        notify_by_day=notify.day,
        option_enrollment_complete={year: closes + timedelta(days=30)},
        offer_accept_days=10,
        certification_escalation_days_before=7,
    )
    return base.model_copy(
        update={
            "id": f"t{uuid.uuid4().hex[:8]}",
            "calendar": {
                year: SchoolYear(first_day=first_day, last_day=first_day + timedelta(days=280))
            },
            "within_district": settings,
            "open_seats": [
                OpenSeats(school_year=year, school=k.school, program=k.program, grade=k.grade,
                          seats=n)
                for k, n in seat_map.items()
            ],
        }
    )


def school_year(config: WithinDistrictConfig) -> str:
    return next(iter(config.calendar))


def next_year_window(config: WithinDistrictConfig) -> within_windows.Window:
    return within_windows.district_next_year_window(
        config.within_district, school_year(config), TZ)


def window_closes(config: WithinDistrictConfig) -> datetime:
    """5:00 p.m. on the close's day: forms delivered in person close (VIII.A.2)."""
    return within_windows.in_person_close(next_year_window(config))


def request(
    config: WithinDistrictConfig,
    n: int,
    key: SeatKey = MONTESSORI_K,
    **student: Any,
) -> WithinRequest:
    data: dict[str, Any] = {
        "id": f"S{n:05d}",
        "first_name": f"Student{n}",
        "last_name": "Tester",
        "grade": key.grade,
        "residency": Residency.other_resident,
        "home_school": "abbott-elementary",
        "current_school": "abbott-elementary",
        **student,
    }
    return WithinRequest(
        district=config.id,
        school_year=school_year(config),
        student=WithinStudent.model_validate(data),
        parent=Parent(name=f"Parent {n}", email=f"parent{n}@example.org",
                      relationship="natural_parent"),
        school=key.school,
        program=key.program,
        reasons="closer to work",
    )


# ---- a district on the time-skipping server ------------------------------------------------


@dataclass
class District:
    """One test's district, its lottery, and every request submitted to it."""

    env: WorkflowEnvironment
    worker: Worker
    engine: Engine
    config: WithinDistrictConfig
    handles: list[WorkflowHandle] = field(default_factory=list)

    @property
    def year(self) -> str:
        return school_year(self.config)

    @property
    def closes(self) -> datetime:
        return window_closes(self.config)

    @property
    def draws(self) -> datetime:
        """The end of the close's day: online applications close and the lottery draws."""
        return next_year_window(self.config).closes

    @property
    def paper_closes(self) -> datetime:
        """The end of the paper forms' entry period after the close: certifiable from then."""
        return receipts.paper_entry_closes(self.closes, self.config.paper_entry_days, TZ)

    @property
    def lottery(self) -> WorkflowHandle:
        return self.env.client.get_workflow_handle(f"lottery-{self.config.id}-{self.year}")

    async def submit(
        self, n: int, key: SeatKey = MONTESSORI_K, *, received_at: datetime | None = None,
        received_by: str | None = None, clock: datetime | None = None, online: bool = False,
        **student: Any,
    ) -> WorkflowHandle:
        """Intake as a front runs it; ``received_at``/``received_by``: a paper form; ``clock``:
        the submitting machine's clock (the server's unless given, as a wrong PC's);
        ``online``: the parent's own application, signed for the parent as the portal does."""
        now = clock or await self.env.get_current_time()
        submitted = request(self.config, n, key, **student)
        address = str(submitted.parent.email)
        inp = prepare_within(submitted, self.config, now, self.engine,
                             f"parent {address}" if online else "avalos",
                             received_at=received_at, received_by=received_by, online=online)
        client = self.env.client
        if online:
            client = client_with(self.env, server_signer(self.env, acting=parent(address)))
        # Nothing in intake needs time to pass; unlocked, a refused start's `result()` lets
        # the test server jump the shared clock to the lottery's far timers.
        with self.env.auto_time_skipping_disabled():
            handle = await start_within(client, inp, self.config, self.worker.task_queue)
        self.handles.append(handle)
        if inp.lottery_id and self.lottery not in self.handles:
            self.handles.append(self.lottery)
        return handle

    async def record(self) -> LotteryRecord:
        return await self.lottery.query(L.result)

    async def certified(self) -> LotteryRecord:
        """Skip to the draw, wait for the preview, skip past the paper forms' entry period,
        certify it."""
        await skip_to(self.env, self.draws)
        await eventually(self.record, lambda r: r.stage is LotteryStage.preview, what="preview")
        await skip_to(self.env, self.paper_closes)
        return await self.lottery.execute_update(L.certify, CERTIFIER)


async def permit_of(d: District, request_id: str) -> WorkflowHandle:
    """The permit a placement issued, once its workflow answers."""
    handle = d.env.client.get_workflow_handle(f"PERMIT-{request_id}")
    d.handles.append(handle)

    async def issued() -> bool:
        try:
            return bool((await handle.query(P.status)).events)
        except RPCError:
            return False

    await eventually(issued, what=f"the permit of {request_id}")
    return handle


async def state(handle: WorkflowHandle) -> WithinRequestState:
    return await handle.query(R.status)


async def stage_is(handle: WorkflowHandle, stage: WithinStage) -> WithinRequestState:
    return await eventually(lambda: state(handle), lambda s: s.stage is stage,
                            what=f"stage {stage}")
