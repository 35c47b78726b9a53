"""Proofs of who acts (docs/cross-cutting.md "Proofs"): a front signs each action it sends to
a workflow (an Update, or a request's start) with the deployment's key, and the workflow
verifies the signature before it believes anything of the action.

A proof is a compact JWS (Ed25519, RFC 8037 and 9864) of ``ProofClaims``: who (the signed-in
subject, and the name and roles the district's roster gave them when they acted), what (the
workflow, the action, a digest of its payload), when (issued, expiry) and a nonce. It travels
in the Temporal header ``transfers-proof``, beside the payload it vouches for.

Verifying is pure (no clock, no I/O): a workflow passes ``workflow.now()``. Keys rotate by key
id (``Keyring``): a retired key still verifies what it signed before it was retired, so every
history replays, and nothing after."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload

HEADER = "transfers-proof"
ALGORITHM = "Ed25519"
LIFETIME = timedelta(minutes=5)  # long enough for a slow server, too short to be worth stealing
SKEW = timedelta(minutes=5)  # a front's clock may run ahead of the server's by this much
START = "start"  # the action of a workflow's start, as ``start:<workflow type>``
SIGNAL = "signal"  # the action of a signal between workflows, as ``signal:<name>``
WORKFLOW = "workflow:"  # the subject of a proof a worker signed for one of its workflows


class ProofError(ValueError):
    """A proof that does not hold: the message says which part failed."""


class ProofClaims(BaseModel):
    sub: str  # the signed-in subject: "code:<email>", "oidc:<issuer>#<sub>", "parent:<email>"
    name: str  # the roster's name for them, as the audit trail writes it
    roles: list[str]  # the roster's roles at signing: a workflow takes roles from here only
    district: str
    wf: str  # the workflow id
    act: str  # the Update's name, or "start:<workflow type>"
    dig: str  # sha256 of the payload, canonical JSON (``digest``)
    iat: datetime
    exp: datetime
    jti: str  # the proof's own id: each proof is accepted once


def start_action(workflow_type: str) -> str:
    return f"{START}:{workflow_type}"


def signal_action(name: str) -> str:
    return f"{SIGNAL}:{name}"


def _plain(value: Any) -> Any:
    # Defaults left out: a payload sent as JSON with only what differs from the defaults (a
    # front of another language) has the digest of the model the workflow decodes from it.
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def digest(args: Sequence[Any]) -> str:
    """The payload's digest: the same on the front (the models it sends) and in the workflow
    (the models it decoded), since both sides dump the same models to the same JSON."""
    text = json.dumps(_plain(list(args)), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class TrustedKey:
    """A public key of the deployment's, and when it stopped signing (None: it still does)."""

    kid: str
    public: OKPKey
    retired_at: datetime | None = None


@dataclass
class Keyring:
    """The public keys a workflow trusts, by key id. Mutable in place: a worker refreshes it
    while workflows hold it, so a rotated key is known without a restart."""

    keys: dict[str, TrustedKey] = field(default_factory=dict)

    def replace(self, keys: Sequence[TrustedKey]) -> None:
        self.keys = {key.kid: key for key in keys}

    def verify(self, token: str, *, workflow_id: str, action: str, args: Sequence[Any],
               now: datetime, used: Callable[[str], bool] = lambda jti: False,
               signature: bool = True) -> ProofClaims:
        """The proof's claims, once its signature, key, workflow, action, payload and time
        all hold at ``now``; else ProofError naming what failed.

        ``signature=False`` is for a replay: the signature was checked when the action was
        taken, and the history says it held; checked again, a replay would depend on the
        keys the worker has today (a rotated-out key, a rebuilt store's new one)."""
        try:
            compact = jws.extract_compact(token.encode())
        except (JoseError, ValueError):
            raise ProofError("the proof is not a signed token") from None
        if not signature:
            try:
                return self._hold(ProofClaims.model_validate_json(compact.payload),
                                  workflow_id, action, args, now, used)
            except ValidationError:
                raise ProofError("the proof's claims are not a proof's") from None
        return self._hold(self.signed_claims(token), workflow_id, action, args, now, used)

    def signed_claims(self, token: str) -> ProofClaims:
        """The claims of a token one of these keys signed while it signed; else ProofError."""
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError):
            raise ProofError("the proof is not a signed token") from None
        key = self.keys.get(str(header.get("kid")))
        if key is None:
            raise ProofError(f"the proof's key {header.get('kid')!r} is not one this district "
                             "trusts")
        try:
            signed = jws.deserialize_compact(token, key.public, algorithms=[ALGORITHM])
            claims = ProofClaims.model_validate_json(signed.payload)
        except (JoseError, ValueError, ValidationError):
            raise ProofError("the proof's signature does not hold") from None
        if key.retired_at is not None and claims.iat >= key.retired_at:
            raise ProofError(f"the proof's key {key.kid!r} was retired before it was signed")
        return claims

    def verify_signal(self, token: str, *, workflow_id: str, action: str, dig: str,
                      sender: str | None = None) -> ProofClaims:
        """The claims of a signal's proof (docs/cross-cutting.md "Signals between
        workflows"), once it holds: signed by a key of these for a workflow (``sender``'s,
        if given), for this workflow, this signal and this payload. No clock: a signal is
        taken when its receiver's worker next runs, perhaps long after it was sent, and
        taking one twice changes nothing (each is idempotent where it is received)."""
        claims = self.signed_claims(token)
        if not claims.sub.startswith(WORKFLOW):
            raise ProofError("the proof is not a workflow's: a signal comes from a workflow")
        if sender is not None and claims.sub != f"{WORKFLOW}{sender}":
            raise ProofError(f"the signal is from {claims.sub.removeprefix(WORKFLOW)}, "
                             f"not {sender}")
        if claims.wf != workflow_id:
            raise ProofError(f"the proof is for {claims.wf}, not this workflow")
        if claims.act != action:
            raise ProofError(f"the proof is for {claims.act!r}, not {action!r}")
        if claims.dig != dig:
            raise ProofError("the proof is for another payload")
        return claims

    @staticmethod
    def _hold(claims: ProofClaims, workflow_id: str, action: str, args: Sequence[Any],
              now: datetime, used: Callable[[str], bool]) -> ProofClaims:
        if claims.wf != workflow_id:
            raise ProofError(f"the proof is for {claims.wf}, not this workflow")
        if claims.act != action:
            raise ProofError(f"the proof is for {claims.act!r}, not {action!r}")
        if claims.dig != digest(args):
            raise ProofError("the proof is for another payload")
        if claims.exp - claims.iat > LIFETIME + SKEW:
            raise ProofError("the proof claims a lifetime longer than a proof has")
        if claims.iat > now + SKEW:
            raise ProofError("the proof was issued in the future")
        if claims.exp < now:
            raise ProofError("the proof has expired")
        if used(claims.jti):
            raise ProofError("the proof was already used")
        return claims


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: OKPKey

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        key = OKPKey.import_key(Ed25519PrivateKey.from_private_bytes(seed))
        return cls(kid=key.thumbprint()[:16], private=key)

    def trusted(self, retired_at: datetime | None = None) -> TrustedKey:
        public = OKPKey.import_key(self.private.as_dict(private=False))
        return TrustedKey(self.kid, public, retired_at)

    def sign(self, claims: ProofClaims) -> str:
        payload = claims.model_dump_json().encode()
        return jws.serialize_compact({"alg": ALGORITHM, "kid": self.kid}, payload, self.private,
                                     algorithms=[ALGORITHM])


def header_payload(token: str) -> Payload:
    """The proof as a Temporal header value (a plain string: no student data in it)."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(token).encode())


def header_token(headers: Mapping[str, Payload]) -> str | None:
    payload = headers.get(HEADER)
    if payload is None:
        return None
    try:
        token = json.loads(payload.data)
    except ValueError:
        return None
    return token if isinstance(token, str) else None


@dataclass(frozen=True)
class Acting:
    """Who a front is acting for, set around each call it makes to Temporal."""

    subject: str
    name: str
    roles: tuple[str, ...]
    district: str


# The front's person for the call under way; a proof is signed for it. None: nothing is signed,
# and a workflow refuses the call.
ACTING: ContextVar[Acting | None] = ContextVar("transfers_acting", default=None)

# Inside a workflow, the proof of the Update being handled, so the audit trail keeps it.
CURRENT_PROOF: ContextVar[str | None] = ContextVar("transfers_current_proof", default=None)

# Inside a workflow, the verified claims of the Update being validated or handled: the only
# source of the acting person's name and roles (``workflows.common.waiting.authorize``).
VERIFIED: ContextVar[ProofClaims | None] = ContextVar("transfers_verified", default=None)

Clock = Callable[[], Awaitable[datetime]]
