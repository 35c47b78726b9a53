"""How payloads travel to Temporal: pydantic JSON, compressed when large.

A lottery's record holds every application and its result: a few megabytes of JSON for a
district's few thousand applications, above Temporal's 2 MB payload limit, but compressed
about tenfold (its strings repeat). Small payloads stay plain JSON, readable in the Web UI.
Decoding passes through payloads that were never compressed, so histories written before
this codec still replay."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

ENCODING = b"binary/zlib"
THRESHOLD = 4096  # bytes of a serialized payload from which it is compressed


class ZlibCodec(PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._compress(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decompress(p) for p in payloads]

    @staticmethod
    def _compress(payload: Payload) -> Payload:
        raw = payload.SerializeToString()
        if len(raw) < THRESHOLD:
            return payload
        return Payload(metadata={"encoding": ENCODING}, data=zlib.compress(raw, 6))

    @staticmethod
    def _decompress(payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        return Payload.FromString(zlib.decompress(payload.data))


DATA_CONVERTER: DataConverter = dataclasses.replace(
    pydantic_data_converter, payload_codec=ZlibCodec()
)
