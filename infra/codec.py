"""How payloads travel to Temporal: pydantic JSON, compressed when large, encrypted when a
key is configured.

Compression: a lottery's record holds every application and its result, a few megabytes of
JSON for a district's few thousand applications, above Temporal's 2 MB payload limit, but
compressed about tenfold (its strings repeat). Small payloads are left uncompressed.

Encryption (student data is private, FERPA): with ``TRANSFERS_ENCRYPTION_KEYS`` set, every
payload (workflow and activity inputs and results, Updates, Queries, memos, and failures'
messages and stack traces) is sealed with AES-256-GCM before it leaves the process, so the
Temporal server and its database hold ciphertext only. The choices:

- ``TRANSFERS_ENCRYPTION_KEYS`` = ``id:base64key,id:base64key`` (32-byte keys);
  ``TRANSFERS_ENCRYPTION_KEY_ID`` names the key new payloads are written with (default: the
  first listed).
- The key's id travels in each payload's metadata (``encryption-key-id``, in the clear) and
  the id is the associated data of the seal: a history outlives any key, so rotation is adding
  a new key, making it current, and keeping the old ones listed for as long as histories
  written with them may be read (replayed, shown). A payload whose key is not listed fails
  with an error naming the key id; it never passes through undecrypted.
- A fresh 12-byte random nonce per payload (GCM's standard size); the payload's data is the
  nonce followed by the ciphertext and its tag. Rotate well before 2**32 payloads per key.
- Compression comes before encryption: ciphertext does not compress.
- Payloads that were never encrypted (histories recorded before encryption was turned on)
  still decode, so running workflows keep replaying.
- What is NOT encrypted: workflow ids, search attributes, task queues, workflow and activity
  type names, and timer and event metadata. None of them may ever carry student data (the
  request id holds the student id only as a keyed hash, see ``intake.ids.request_id_base``; see
  ``search_attributes.py``).

Decryption for people (the Temporal Web UI, ``temporal --codec-endpoint``) is the codec server,
``transfers codec-server`` (``codec_server.py``)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import (
    PydanticJSONPlainPayloadConverter,
    PydanticPayloadConverter,
    pydantic_data_converter,
)
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadCodec,
)

ENCODING = b"binary/zlib"
THRESHOLD = 4096  # bytes of a serialized payload from which it is compressed

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEYS_VARIABLE = "TRANSFERS_ENCRYPTION_KEYS"
KEY_ID_VARIABLE = "TRANSFERS_ENCRYPTION_KEY_ID"
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # in metadata and error messages: keep it plain


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


class DecryptionError(ValueError):
    """An encrypted payload that cannot be decrypted with the keys configured."""


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads, with the key id in the metadata.

    ``keys`` maps key id -> 32-byte key; ``current`` is the id new payloads are sealed with.
    Decoding picks the key by the payload's own key id (rotation); payloads that are not
    encrypted pass through (histories from before encryption)."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if not keys:
            raise ValueError("no encryption keys")
        for key_id, key in keys.items():
            _check_key_id(key_id)
            if len(key) != KEY_BYTES:
                raise ValueError(f"encryption key {key_id!r} is {len(key)} bytes, not {KEY_BYTES}")
        if current not in keys:
            raise ValueError(f"current encryption key id {current!r} is not among the keys "
                             f"({', '.join(keys)})")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = current

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self.current.encode()
        sealed = self._ciphers[self.current].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(
            metadata={"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: key_id},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(
                f"payload encrypted with key id {key_id!r}, which is not among the configured "
                f"keys ({', '.join(self._ciphers)}): add it to {KEYS_VARIABLE}"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            raw = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise DecryptionError(
                f"payload encrypted with key id {key_id!r} does not decrypt: the key listed "
                "under that id is not the one it was written with, or the payload was altered"
            ) from None
        return Payload.FromString(raw)


class CompressThenEncrypt(PayloadCodec):
    """The zlib codec, then encryption; decoding in the reverse order. Either step passes
    through what it did not produce, so plain and compressed-only payloads still decode."""

    def __init__(self, encryption: EncryptionCodec) -> None:
        self.encryption = encryption

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encryption.encrypt(ZlibCodec._compress(p)) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [ZlibCodec._decompress(self.encryption.decrypt(p)) for p in payloads]


def _check_key_id(key_id: str) -> None:
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"encryption key id {key_id!r} must be 1-64 letters, digits, '.', "
                         "'_' or '-'")


def encryption_codec(environ: Mapping[str, str] = os.environ) -> EncryptionCodec | None:
    """The encryption codec the environment configures, None when no key is configured;
    a ValueError naming the problem when the configuration is wrong."""
    listed = environ.get(KEYS_VARIABLE, "").strip()
    current = environ.get(KEY_ID_VARIABLE, "").strip()
    if not listed:
        if current:  # a key id without keys would silently turn encryption off
            raise ValueError(f"{KEY_ID_VARIABLE} is {current!r} but {KEYS_VARIABLE} is empty")
        return None
    keys: dict[str, bytes] = {}
    for number, entry in enumerate((e.strip() for e in listed.split(",")), start=1):
        if not entry:
            continue
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon:  # by position: the entry may be a bare key, never to be echoed
            raise ValueError(f"{KEYS_VARIABLE}: entry {number} is not id:base64key")
        _check_key_id(key_id)
        if key_id in keys:
            raise ValueError(f"{KEYS_VARIABLE}: key id {key_id!r} is listed twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):  # the key itself never goes into the message
            raise ValueError(f"{KEYS_VARIABLE}: the key of {key_id!r} is not base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"{KEYS_VARIABLE}: the key of {key_id!r} is {len(key)} bytes; "
                             f"AES-256 needs {KEY_BYTES}")
        keys[key_id] = key
    if not keys:
        raise ValueError(f"{KEYS_VARIABLE} lists no key")
    current = current or next(iter(keys))
    if current not in keys:
        raise ValueError(f"{KEY_ID_VARIABLE} is {current!r}, which is not among the keys of "
                         f"{KEYS_VARIABLE} ({', '.join(keys)})")
    return EncryptionCodec(keys, current)


class SharedPydanticPayloadConverter(PydanticPayloadConverter):
    """The SDK's pydantic payload converter, with one JSON converter for all its instances.

    The SDK builds a data converter, and with it a payload converter, several times for every
    workflow activation (one per serialization context). Each pydantic converter built its
    own serializer and its own cache of type adapters, so every activation built the type
    adapters of its payloads again: 2% of a busy worker's Python time (py-spy,
    bench/school_year.py). The JSON converter holds nothing but that cache (thread-safe), so
    sharing it changes no payload."""

    _json: ClassVar[PydanticJSONPlainPayloadConverter | None] = None

    def __init__(self) -> None:  # noqa: D107 - see the class
        cls = SharedPydanticPayloadConverter
        if cls._json is None:
            cls._json = PydanticJSONPlainPayloadConverter()
        CompositePayloadConverter.__init__(self, *(
            cls._json if isinstance(converter, JSONPlainPayloadConverter) else converter
            for converter in DefaultPayloadConverter.default_encoding_payload_converters
        ))


PYDANTIC = dataclasses.replace(
    pydantic_data_converter, payload_converter_class=SharedPydanticPayloadConverter
)

DATA_CONVERTER: DataConverter = dataclasses.replace(PYDANTIC, payload_codec=ZlibCodec())
"""Compression only: the tests' converter and the one the recorded histories replay with."""


def encrypted_converter(codec: EncryptionCodec) -> DataConverter:
    """Pydantic JSON, compressed when large, then encrypted; failures' messages and stack
    traces move into an encoded (so encrypted) attribute, since refusals may name people."""
    return dataclasses.replace(
        PYDANTIC,
        payload_codec=CompressThenEncrypt(codec),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter(environ: Mapping[str, str] = os.environ) -> DataConverter:
    """The converter the worker and the CLI connect with: encrypting when a key is configured
    (see the module's docstring), else `DATA_CONVERTER`."""
    codec = encryption_codec(environ)
    return DATA_CONVERTER if codec is None else encrypted_converter(codec)
