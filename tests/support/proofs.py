"""Proofs in the tests (docs/cross-cutting.md "Proofs"). The tests that drive workflows
directly play the front: their client signs each start and Update with a key of the tests'
own, for the actor the payload names (a front would take it from the roster), at the test
server's time; the workers the tests run trust that key beside their store's own."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import client
from temporalio.testing import WorkflowEnvironment

from infra.proofs import Acting, Clock, Keyring, SigningKey
from infra.settings import Settings
from infra.signing import ProofSigner, wall_clock
from store.engine import engine_for
from store.secrets import proof_keys
from worker import load_keyring

TEST_KEY = SigningKey.from_seed(hashlib.sha256(b"transfers tests' front").digest())
FRONT = Acting(subject="test:front", name="front", roles=(), district="")


def acting_for(args: Sequence[Any]) -> Acting:
    """The payload's actor (its ``actor``, or the payload itself where it is only an actor),
    as a front that looked them up would sign for them; a model or its JSON alike."""
    first = args[0] if args else None
    if isinstance(first, BaseModel):
        first = first.model_dump(mode="json")
    actor = first.get("actor", first) if isinstance(first, dict) else None
    if not isinstance(actor, dict) or not isinstance(actor.get("name"), str):
        return FRONT
    roles = actor.get("roles")
    return Acting(subject=f"test:{actor['name']}", name=actor["name"],
                  roles=tuple(roles) if isinstance(roles, list) else (), district="")


def front_signer(clock: Clock = wall_clock, key: SigningKey = TEST_KEY) -> ProofSigner:
    return ProofSigner(lambda: key, clock, acting_for)


def server_signer(env: WorkflowEnvironment, key: SigningKey = TEST_KEY,
                  acting: Acting | None = None, skew: timedelta = timedelta()) -> ProofSigner:
    """Signs at ``env``'s server time (plus ``skew``) for ``acting``, or for the payload's
    actor when None."""
    async def clock() -> Any:
        return await env.get_current_time() + skew

    who = (lambda args: acting) if acting is not None else acting_for
    return ProofSigner(lambda: key, clock, who)


def client_with(env: WorkflowEnvironment, *interceptors: client.Interceptor) -> client.Client:
    """A client of ``env``'s server with ``interceptors`` instead of the tests' front."""
    config = env.client.config()
    config["interceptors"] = list(interceptors)
    return client.Client(**config)


def parent(address: str = "maria@example.com", district: str = "") -> Acting:
    """A proof as the portal signs it for a parent (app/parent_actions.py)."""
    return Acting(subject=f"parent:{address}", name=f"parent {address}", roles=("parent",),
                  district=district)


def trusting_tests(settings: Settings) -> Keyring:
    """The store's keys, which the application layer signs with, and the tests' key."""
    keyring = load_keyring(settings)
    keyring.keys[TEST_KEY.kid] = TEST_KEY.trusted()
    return keyring


def stack_signer(env: Mapping[str, str]) -> ProofSigner:
    """A front of a stack's (its environment ``env``): signs with the key in the stack's
    records store, for the payload's actor."""
    data_dir = Path(env.get("TRANSFERS_DATA_DIR", ".transfers")).resolve()
    url = env.get("TRANSFERS_DATABASE_URL") or f"sqlite:///{data_dir / 'records.sqlite3'}"

    def key() -> SigningKey:
        return SigningKey.from_seed(proof_keys(engine_for(url))[-1].seed)

    return ProofSigner(key, acting=acting_for)
