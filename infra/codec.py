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
  still decode, so running workflows keep replaying; what a payload decrypted from carries
  ``transfers-sealed`` in its metadata (a plaintext one never does: the mark is stripped), so a
  worker can refuse plaintext workflow inputs from a cut-over on (``sealing.py``). Refusing
  here, in the codec, would not do: the SDK decodes a whole workflow activation at once, and a
  codec error fails the workflow task (retried forever) or, non-retryable, the workflow.
- Without ``TRANSFERS_ENCRYPTION_KEYS``, the keys are read from the data folder's
  ``encryption.keys`` (same format, one file 0600), which `transfers dev` makes on its first
  start (``make_key_file``): the embedded default encrypts too, and the CLI and workers using
  that data folder share its key. The variable, when set, wins.
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
from datetime import datetime
from pathlib import Path
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
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadCodec,
)
from temporalio.exceptions import ApplicationError

from infra.datadir import data_dir_of

ENCODING = b"binary/zlib"
THRESHOLD = 4096  # bytes of a serialized payload from which it is compressed

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEYS_VARIABLE = "TRANSFERS_ENCRYPTION_KEYS"
KEY_ID_VARIABLE = "TRANSFERS_ENCRYPTION_KEY_ID"
KEY_FILE = "encryption.keys"  # in the data folder; TRANSFERS_ENCRYPTION_KEYS's format
SEALED_METADATA = "transfers-sealed"  # on decoded payloads that were encrypted: the key id
REFUSED_ENCODING = b"binary/refused-plaintext"  # a plaintext input, refused (sealing.py)
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
        return [self._decode(p) for p in payloads]

    def _decode(self, payload: Payload) -> Payload:
        sealed = payload.metadata.get("encoding") == ENCRYPTED_ENCODING
        decoded = ZlibCodec._decompress(self.encryption.decrypt(payload))
        if sealed:  # only the key's holder could have written it: say so, with the key id
            decoded.metadata[SEALED_METADATA] = payload.metadata[KEY_ID_METADATA]
        elif SEALED_METADATA in decoded.metadata:  # a plaintext payload claiming the mark
            forged, decoded = decoded, Payload()
            decoded.CopyFrom(forged)  # a copy: the caller's payload stays as it was
            del decoded.metadata[SEALED_METADATA]
        return decoded


def is_sealed(payload: Payload) -> bool:
    """Whether ``payload`` reached this process encrypted: decoded by `CompressThenEncrypt`
    (which marks it), or still encrypted (a header the client's codec left alone)."""
    return (SEALED_METADATA in payload.metadata
            or payload.metadata.get("encoding") == ENCRYPTED_ENCODING)


def _check_key_id(key_id: str) -> None:
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"encryption key id {key_id!r} must be 1-64 letters, digits, '.', "
                         "'_' or '-'")


def key_file(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the data folder's own keys are (used when ``TRANSFERS_ENCRYPTION_KEYS`` is unset)."""
    return data_dir_of(environ) / KEY_FILE


def keys_from_file(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the keys come from the data folder's key file (the variable is unset)."""
    return not environ.get(KEYS_VARIABLE, "").strip() and key_file(environ).is_file()


def _read_key_file(path: Path) -> str:
    if path.stat().st_mode & 0o077:  # as ssh does: a key others may read is no secret
        raise ValueError(f"{path} is readable by others: chmod 600 it (it holds the "
                         "encryption keys), or set TRANSFERS_ENCRYPTION_KEYS")
    return ",".join(line.strip() for line in path.read_text().splitlines()
                    if line.strip() and not line.lstrip().startswith("#"))


def make_key_file(data_dir: Path, now: datetime) -> Path | None:
    """A new 32-byte key in ``data_dir``'s key file, made 0600 and only if there is none
    (the key of an existing file is never replaced: its payloads would no longer read);
    the path when one was made, else None. The key id names the day it was made."""
    path = data_dir / KEY_FILE
    entry = f"{now:dev-%Y%m%d}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}\n"
    try:  # O_EXCL: two first starts at once cannot both write, nor one overwrite the other
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(descriptor, "w") as file:
        file.write(entry)
    return path


def encryption_codec(environ: Mapping[str, str] = os.environ) -> EncryptionCodec | None:
    """The encryption codec the environment configures (``TRANSFERS_ENCRYPTION_KEYS``, else
    the data folder's key file), None when no key is configured; a ValueError naming the
    problem when the configuration is wrong."""
    listed = environ.get(KEYS_VARIABLE, "").strip()
    current = environ.get(KEY_ID_VARIABLE, "").strip()
    if not listed and key_file(environ).is_file():
        listed = _read_key_file(key_file(environ))
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


class RefusedPlaintextConverter(EncodingPayloadConverter):
    """Reads the stand-in ``sealing.py`` puts where a plaintext workflow input was: always a
    non-retryable error, so an Update is rejected, a signal dropped and a workflow started
    with it failed, not a workflow task retried forever. Never writes a payload."""

    @property
    def encoding(self) -> str:
        return REFUSED_ENCODING.decode()

    def to_payload(self, value: object) -> Payload | None:
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> object:
        raise ApplicationError(
            "refused: an input that was not encrypted, where encryption is required "
            "(TRANSFERS_ENCRYPTION_REQUIRED_SINCE)",
            type="PlaintextRefused", non_retryable=True,
        )


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
        ), RefusedPlaintextConverter())  # last: it writes nothing, so no payload changes


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
