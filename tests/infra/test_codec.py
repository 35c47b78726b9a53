"""The payload codec: large payloads (a lottery's record) compressed under Temporal's 2 MB
limit, small ones left readable, and payloads written before the codec still read; with a key
configured, every payload encrypted (AES-256-GCM) under the current key, rotation by key id."""

from __future__ import annotations

import base64
import random
import re
from datetime import UTC, datetime

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from infra.codec import (
    DATA_CONVERTER,
    ENCODING,
    ENCRYPTED_ENCODING,
    KEY_ID_METADATA,
    THRESHOLD,
    DecryptionError,
    ZlibCodec,
    data_converter,
    encryption_codec,
)
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


def test_the_shared_payload_converter_writes_what_pydantic_does() -> None:
    """Every data converter here shares one JSON converter (its cache of type adapters),
    however many the SDK builds; the payloads are the stock pydantic converter's."""
    record = lottery_record(20)
    stock = pydantic_data_converter.payload_converter
    keys = {"TRANSFERS_ENCRYPTION_KEYS": "k1:" + base64.b64encode(bytes(range(32))).decode()}
    for converter in (DATA_CONVERTER, data_converter(keys)):
        assert converter.payload_converter.to_payloads([record, None, "x"]) == \
            stock.to_payloads([record, None, "x"])
        built = [converter.payload_converter_class() for _ in range(2)]
        assert built[0].converters[b"json/plain"] is built[1].converters[b"json/plain"]
        (payload,) = built[0].to_payloads([record])
        assert built[1].from_payloads([payload], [LotteryRecord]) == [record]


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


# ---- encryption ---------------------------------------------------------------------------

K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.b64encode(bytes(range(100, 132))).decode()
STUDENT = {"first_name": "Ana", "last_name": "Lopez", "parent": "Maria Lopez"}


def encrypting(keys: str, current: str | None = None) -> DataConverter:
    environ = {"TRANSFERS_ENCRYPTION_KEYS": keys}
    if current is not None:
        environ["TRANSFERS_ENCRYPTION_KEY_ID"] = current
    return data_converter(environ)


async def test_no_key_configured_means_the_compression_only_converter() -> None:
    assert data_converter({}) is DATA_CONVERTER
    assert data_converter({"TRANSFERS_ENCRYPTION_KEYS": "  "}) is DATA_CONVERTER


async def test_payloads_are_encrypted_under_the_current_key_and_read_back() -> None:
    converter = encrypting(f"k1:{K1}")
    (sent,) = await converter.encode([STUDENT])
    assert sent.metadata["encoding"] == ENCRYPTED_ENCODING
    assert sent.metadata[KEY_ID_METADATA] == b"k1"
    assert b"Lopez" not in sent.SerializeToString()
    (again,) = await converter.encode([STUDENT])
    assert again.data != sent.data  # a fresh nonce each time
    (back,) = await converter.decode([sent], [dict])
    assert back == STUDENT


async def test_rotation_old_payloads_decrypt_new_ones_use_the_new_key() -> None:
    (old,) = await encrypting(f"k1:{K1}").encode([STUDENT])
    rotated = encrypting(f"k1:{K1},k2:{K2}", current="k2")
    (new,) = await rotated.encode([STUDENT])
    assert new.metadata[KEY_ID_METADATA] == b"k2"
    assert await rotated.decode([old, new], [dict, dict]) == [STUDENT, STUDENT]
    # The current key defaults to the first listed: list the new key first to rotate.
    (first,) = await encrypting(f"k2:{K2},k1:{K1}").encode([STUDENT])
    assert first.metadata[KEY_ID_METADATA] == b"k2"


async def test_a_payload_of_an_unknown_key_fails_naming_the_key_id() -> None:
    (old,) = await encrypting(f"k1:{K1}").encode([STUDENT])
    with pytest.raises(DecryptionError, match="'k1'.*not among the configured keys"):
        await encrypting(f"k2:{K2}").decode([old], [dict])


async def test_a_payload_under_other_key_material_or_altered_fails() -> None:
    (sent,) = await encrypting(f"k1:{K1}").encode([STUDENT])
    with pytest.raises(DecryptionError, match="'k1' does not decrypt"):
        await encrypting(f"k1:{K2}").decode([sent], [dict])
    altered = Payload()
    altered.CopyFrom(sent)
    altered.data = sent.data[:-1] + bytes([sent.data[-1] ^ 1])
    with pytest.raises(DecryptionError, match="does not decrypt"):
        await encrypting(f"k1:{K1}").decode([altered], [dict])
    relabelled = Payload()  # the key id is sealed with the data: relabelling is detected too
    relabelled.CopyFrom(sent)
    relabelled.metadata[KEY_ID_METADATA] = b"k2"
    with pytest.raises(DecryptionError, match="'k2' does not decrypt"):
        await encrypting(f"k1:{K1},k2:{K1}").decode([relabelled], [dict])


@pytest.mark.parametrize(("environ", "problem"), [
    ({"TRANSFERS_ENCRYPTION_KEYS": "k1:not*base64"}, "key of 'k1' is not base64"),
    ({"TRANSFERS_ENCRYPTION_KEYS": "k1:" + base64.b64encode(b"x" * 16).decode()},
     "16 bytes; AES-256 needs 32"),
    ({"TRANSFERS_ENCRYPTION_KEYS": f"k1:{K1},k1:{K2}"}, "'k1' is listed twice"),
    ({"TRANSFERS_ENCRYPTION_KEYS": f"k1:{K1}", "TRANSFERS_ENCRYPTION_KEY_ID": "k9"},
     "'k9', which is not among the keys"),
    ({"TRANSFERS_ENCRYPTION_KEY_ID": "k1"}, "TRANSFERS_ENCRYPTION_KEYS is empty"),
    ({"TRANSFERS_ENCRYPTION_KEYS": K1}, "entry 1 is not id:base64key"),
    ({"TRANSFERS_ENCRYPTION_KEYS": f"bad id:{K1}"}, "key id 'bad id' must be"),
])
def test_bad_key_configuration_is_refused_naming_the_problem(
    environ: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as error:
        encryption_codec(environ)
    assert K1 not in str(error.value)  # a key never appears in an error


async def test_a_large_payload_is_compressed_then_encrypted() -> None:
    record = lottery_record(5000)
    converter = encrypting(f"k1:{K1}")
    (sent,) = await converter.encode([record])
    assert sent.metadata["encoding"] == ENCRYPTED_ENCODING
    assert len(sent.SerializeToString()) < LIMIT / 4  # compressed first: ciphertext won't shrink
    (inner,) = await ZlibCodec().decode(await encryption_codec(
        {"TRANSFERS_ENCRYPTION_KEYS": f"k1:{K1}"}).decode([sent]))  # type: ignore[union-attr]
    assert inner.metadata["encoding"] == b"json/plain"
    (back,) = await converter.decode([sent], [LotteryRecord])
    assert back == record


async def test_payloads_written_before_encryption_still_decode() -> None:
    record = lottery_record(50)
    plain = pydantic_data_converter.payload_converter.to_payloads([record, STUDENT])
    compressed = await DATA_CONVERTER.encode([lottery_record(2000)])
    converter = encrypting(f"k1:{K1}")
    assert await converter.decode(plain, [LotteryRecord, dict]) == [record, STUDENT]
    (big,) = await converter.decode(compressed, [LotteryRecord])
    assert big == lottery_record(2000)


async def test_failure_messages_are_encrypted_too() -> None:
    converter = encrypting(f"k1:{K1}")
    failure = Failure()
    await converter.encode_failure(ApplicationError("Ana Lopez already has a request"), failure)
    assert b"Lopez" not in failure.SerializeToString()
    error = await converter.decode_failure(failure)
    assert str(error) == "Ana Lopez already has a request"
