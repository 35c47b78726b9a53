"""The proof itself (infra/proofs.py; docs/cross-cutting.md "Proofs"), without a workflow:
what a signature, a key's retirement, a lifetime and a digest each refuse."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from infra.proofs import LIFETIME, Keyring, ProofClaims, ProofError, SigningKey, digest
from models.actions import Decide
from models.decisions import Outcome
from models.people import Actor
from store.secrets import proof_keys, rotate_proof_key, trusted_keys

NOW = datetime(2027, 2, 15, 17, 0, tzinfo=UTC)
KEY = SigningKey.from_seed(hashlib.sha256(b"district").digest())
ACTION = Decide(actor=Actor(name="nguyen", roles=["director"]), outcome=Outcome.approve)


def _claims(iat: datetime = NOW, lifetime: timedelta = LIFETIME) -> ProofClaims:
    return ProofClaims(sub="code:nguyen@example.org", name="nguyen", roles=["director"],
                       district="paramount", wf="req-1", act="decide", dig=digest([ACTION]),
                       iat=iat, exp=iat + lifetime, jti="j1")


def _verify(keyring: Keyring, token: str, now: datetime = NOW) -> ProofClaims:
    return keyring.verify(token, workflow_id="req-1", action="decide", args=[ACTION], now=now)


def test_a_proof_verifies_until_it_expires_and_not_after() -> None:
    keyring = Keyring({KEY.kid: KEY.trusted()})
    token = KEY.sign(_claims())
    assert _verify(keyring, token, NOW + LIFETIME).name == "nguyen"
    with pytest.raises(ProofError, match="expired"):
        _verify(keyring, token, NOW + LIFETIME + timedelta(seconds=1))


def test_a_proof_claiming_a_long_life_is_refused() -> None:
    keyring = Keyring({KEY.kid: KEY.trusted()})
    with pytest.raises(ProofError, match="lifetime"):
        _verify(keyring, KEY.sign(_claims(lifetime=timedelta(days=3650))))


def test_a_changed_token_is_refused() -> None:
    keyring = Keyring({KEY.kid: KEY.trusted()})
    head, body, signature = KEY.sign(_claims()).split(".")
    other = KEY.sign(_claims().model_copy(update={"roles": ["superintendent_designee"]}))
    with pytest.raises(ProofError, match="signature"):
        _verify(keyring, ".".join([head, other.split(".")[1], signature]))


def test_the_digest_ignores_defaults_but_not_values() -> None:
    as_json = {"actor": {"name": "nguyen", "roles": ["director"]}, "outcome": "approve"}
    assert digest([as_json]) == digest([ACTION])
    assert digest([ACTION.model_copy(update={"note": "x"})]) != digest([ACTION])


def test_a_retired_key_verifies_only_what_it_signed_before(store_engine: Engine) -> None:
    first = proof_keys(store_engine)
    assert proof_keys(store_engine) == first  # made once
    old = SigningKey.from_seed(first[-1].seed)
    before = datetime.now(UTC)
    rotate_proof_key(store_engine)
    keyring = Keyring({key.kid: key for key in trusted_keys(store_engine)})
    assert len(keyring.keys) == 2
    signed_before = old.sign(_claims(iat=before - timedelta(seconds=1)))
    assert _verify(keyring, signed_before, before).name == "nguyen"
    signed_after = old.sign(_claims(iat=datetime.now(UTC) + timedelta(seconds=1)))
    with pytest.raises(ProofError, match="retired"):
        _verify(keyring, signed_after, datetime.now(UTC))
    new = SigningKey.from_seed(proof_keys(store_engine)[-1].seed)
    assert _verify(keyring, new.sign(_claims(iat=before)), before).name == "nguyen"


def test_a_replay_checks_the_claims_but_not_the_key() -> None:
    """A replay runs with the keys the worker has today (a rebuilt store's are new): the
    signature was checked when the action was taken; what the history can decide is still
    checked."""
    stranger = SigningKey.from_seed(hashlib.sha256(b"a key since lost").digest())
    keyring = Keyring({KEY.kid: KEY.trusted()})
    token = stranger.sign(_claims())
    with pytest.raises(ProofError, match="not one this district trusts"):
        _verify(keyring, token)
    replayed = keyring.verify(token, workflow_id="req-1", action="decide", args=[ACTION],
                              now=NOW, signature=False)
    assert replayed.name == "nguyen"
    with pytest.raises(ProofError, match="another payload"):
        keyring.verify(token, workflow_id="req-1", action="decide", args=[], now=NOW,
                       signature=False)


def _signal_claims(sub: str = "workflow:req-1", wf: str = "lottery-1",
                   act: str = "signal:forfeit", payload: str = "req-1") -> ProofClaims:
    return ProofClaims(sub=sub, name="system", roles=[], district="", wf=wf, act=act,
                       dig=digest([payload]), iat=NOW, exp=NOW + LIFETIME, jti="s1")


@pytest.mark.parametrize(("claims", "sender", "fault"), [
    (_signal_claims(sub="code:nguyen@example.org"), None, "not a workflow's"),
    (_signal_claims(sub="workflow:lottery-2"), "lottery-1", "from lottery-2, not lottery-1"),
    (_signal_claims(wf="lottery-2"), None, "for lottery-2"),
    (_signal_claims(act="signal:ready"), None, "not 'signal:forfeit'"),
    (_signal_claims(payload="req-2"), None, "another payload"),
])
def test_a_signal_proof_holds_only_for_its_sender_receiver_signal_and_payload(
    claims: ProofClaims, sender: str | None, fault: str,
) -> None:
    keyring = Keyring({KEY.kid: KEY.trusted()})
    arguments = {"workflow_id": "lottery-1", "action": "signal:forfeit", "dig": digest(["req-1"])}
    assert keyring.verify_signal(KEY.sign(_signal_claims()), sender="req-1", **arguments).jti
    with pytest.raises(ProofError, match=fault):
        keyring.verify_signal(KEY.sign(claims), sender=sender, **arguments)
    with pytest.raises(ProofError, match="not one this district trusts"):
        Keyring().verify_signal(KEY.sign(_signal_claims()), **arguments)
