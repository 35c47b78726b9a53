"""The payload codec: large payloads (a lottery's record) compressed under Temporal's 2 MB
limit, small ones left readable, and payloads written before the codec still read."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from temporalio.contrib.pydantic import pydantic_data_converter

from codec import DATA_CONVERTER, ENCODING, THRESHOLD
from models.lottery_record import LotteryRecord, LotteryStage, RecordedApplicant, SeatCount
from models.within_district import Applicant, Program, Residency, SeatKey
from rules.lottery import draw, random_number

LIMIT = 2 * 1024 * 1024  # Temporal's default payload size limit


def lottery_record(applications: int) -> LotteryRecord:
    rng = random.Random(7)
    keys = [SeatKey(school=f"school-{n:02d}", program=p, grade=g)
            for n in range(40) for p in (Program.regular, Program.montessori) for g in range(6)]
    applicants = [
        Applicant(application_id=f"millard-2027-2028-within-{n:012x}", student_id=f"S{n:06d}",
                  school=k.school, program=k.program, grade=k.grade,
                  residency=rng.choice([Residency.other_resident, Residency.option_enrollment]),
                  current_school=f"school-{rng.randrange(40):02d}")
        for n in range(applications) for k in [rng.choice(keys)]
    ]
    seats = {k: 3 for k in keys}
    now = datetime(2027, 2, 15, 23, 0, tzinfo=UTC)
    return LotteryRecord(
        id="lottery-millard-2027-2028", district_id="millard", school_year="2027-2028",
        seed="seed", stage=LotteryStage.certified, window_closes=now,
        applicants=[RecordedApplicant(applicant=a, tier="2b",
                                      random_number=random_number("seed", a.student_id),
                                      entered_at=now) for a in applicants],
        seats=[SeatCount(key=k, seats=n) for k, n in seats.items()],
        result=draw(applicants, seats, "seed"),
    )


async def test_a_district_lottery_fits_a_payload_compressed_and_reads_back() -> None:
    record = lottery_record(5000)
    (plain,) = pydantic_data_converter.payload_converter.to_payloads([record])
    assert len(plain.data) > LIMIT  # what the record would weigh uncompressed
    (sent,) = await DATA_CONVERTER.encode([record])
    assert sent.metadata["encoding"] == ENCODING
    assert len(sent.SerializeToString()) < LIMIT / 4
    (back,) = await DATA_CONVERTER.decode([sent], [LotteryRecord])
    assert back == record


async def test_small_payloads_stay_plain_json() -> None:
    (sent,) = await DATA_CONVERTER.encode(["a request id"])
    assert sent.metadata["encoding"] == b"json/plain"
    assert len(sent.SerializeToString()) < THRESHOLD


async def test_payloads_written_before_the_codec_still_decode() -> None:
    record = lottery_record(50)
    old = pydantic_data_converter.payload_converter.to_payloads([record])
    (back,) = await DATA_CONVERTER.decode(old, [LotteryRecord])
    assert back == record
