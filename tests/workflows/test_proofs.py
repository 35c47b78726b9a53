"""Proofs inside the workflow (issue "Trust", findings 1 and 3; docs/cross-cutting.md
"Proofs"): what is sent to a workflow straight, by a client of Temporal's that is not a front
holding the district's key, is refused and changes nothing; the actor is the proof's, never
the payload's; a forged start ends at once and leaves nothing."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio import client
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.submissions import reuse_policy
from infra.proofs import HEADER, Acting, SigningKey, header_payload, header_token
from infra.settings import Settings
from infra.signing import ProofSigner
from models.actions import Decide, Withdraw
from models.decisions import Outcome
from models.people import Actor
from models.stages import Stage
from store import notices as notice_store
from store import records
from tests.support.factories import CLERK, DIRECTOR, make_input
from tests.support.interdistrict import to_under_review
from tests.support.proofs import (
    TEST_KEY,
    acting_for,
    client_with,
    parent,
    server_signer,
    trusting_tests,
)
from tests.support.workflows import start, status, today
from worker import build_worker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

MALLORY_KEY = SigningKey.from_seed(hashlib.sha256(b"mallory").digest())


class _Headers(client.Interceptor):
    """A client that sends the headers it is told to, whatever the call: the attacker's."""

    def __init__(self) -> None:
        self.token: str | None = None

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        outer = self

        class Sending(client.OutboundInterceptor):
            async def start_workflow_update(self, input: client.StartWorkflowUpdateInput) -> Any:
                if outer.token is not None:
                    input.headers = {**input.headers, HEADER: header_payload(outer.token)}
                return await super().start_workflow_update(input)

            async def start_workflow(self, input: client.StartWorkflowInput) -> Any:
                if outer.token is not None:
                    input.headers = {**input.headers, HEADER: header_payload(outer.token)}
                return await super().start_workflow(input)

        return Sending(next)


async def _client(env: WorkflowEnvironment, *interceptors: client.Interceptor) -> Client:
    return client_with(env, *interceptors)


def _signer(env: WorkflowEnvironment, key: SigningKey, acting: Acting | None = None,
            skew: timedelta = timedelta()) -> ProofSigner:
    return server_signer(env, key, acting, skew)


def _director(name: str = "nguyen", roles: Sequence[str] = ("director",)) -> Acting:
    return Acting(subject=f"test:{name}", name=name, roles=tuple(roles), district="")


async def _refused(handle_client: Client, workflow_id: str, action: Any, *words: str) -> None:
    """The decision, sent through ``handle_client``, is refused naming ``words``; the
    request's state is as it was."""
    handle = handle_client.get_workflow_handle(workflow_id)
    before = await status(handle)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(W.decide, action)
    message = failure.value.cause.message  # type: ignore[union-attr]
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert await status(handle) == before


APPROVE = Decide(actor=Actor(name="mallory", roles=["director"]), outcome=Outcome.approve)


async def test_an_update_without_a_proof_is_refused(env: WorkflowEnvironment, worker: Worker,
                                                     engine: Engine) -> None:
    handle = await start(env, worker.task_queue)
    await to_under_review(handle)
    stored = records.get_history(engine, handle.id)
    await _refused(await _client(env), handle.id, APPROVE, "carries no proof")
    assert records.get_history(engine, handle.id) == stored


async def test_a_proof_signed_with_another_key_is_refused(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    handle = await start(env, worker.task_queue)
    await to_under_review(handle)
    forged = await _client(env, _signer(env, MALLORY_KEY, _director("mallory")))
    await _refused(forged, handle.id, APPROVE, "not one this district trusts")


async def test_the_roles_are_the_proofs_not_the_payloads(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """A front signed for the clerk: a payload that claims the director's roles changes
    nothing; and a decision signed for the director is written as the proof's person."""
    handle = await start(env, worker.task_queue)
    await to_under_review(handle)
    as_clerk = await _client(env, _signer(env, TEST_KEY, acting_for([Decide(
        actor=CLERK, outcome=Outcome.approve)])))
    await _refused(as_clerk, handle.id, APPROVE, "may not decide")

    as_director = await _client(env, _signer(env, TEST_KEY, _director()))
    decided = await as_director.get_workflow_handle(handle.id).execute_update(W.decide, APPROVE)
    last = [e for e in decided.history if e.event == "approved"][-1]
    assert last.actor == "nguyen"  # not "mallory", whom the payload named
    assert last.proof is not None and "nguyen" not in last.proof  # signed, not spelled out


async def test_a_proof_for_another_request_action_or_payload_is_refused(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    handle = await start(env, worker.task_queue)
    other = await start(env, worker.task_queue)
    await to_under_review(handle)
    signer = _signer(env, TEST_KEY, _director())
    sending = _Headers()
    attacker = await _client(env, sending)

    sending.token = await signer.proof(other.id, "decide", [APPROVE])
    await _refused(attacker, handle.id, APPROVE, f"for {other.id}, not this workflow")
    sending.token = await signer.proof(handle.id, "withdraw", [APPROVE])
    await _refused(attacker, handle.id, APPROVE, "for 'withdraw', not 'decide'")
    deny = Decide(actor=DIRECTOR, outcome=Outcome.deny, reasons=["no_space"])
    sending.token = await signer.proof(handle.id, "decide", [deny])
    await _refused(attacker, handle.id, APPROVE, "for another payload")


async def test_an_expired_or_reused_proof_is_refused(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    handle = await start(env, worker.task_queue)
    await to_under_review(handle)
    sending = _Headers()
    attacker = await _client(env, sending)

    stale = _signer(env, TEST_KEY, _director(), skew=-timedelta(minutes=6))
    sending.token = await stale.proof(handle.id, "decide", [APPROVE])
    await _refused(attacker, handle.id, APPROVE, "expired")
    early = _signer(env, TEST_KEY, _director(), skew=timedelta(minutes=30))
    sending.token = await early.proof(handle.id, "decide", [APPROVE])
    await _refused(attacker, handle.id, APPROVE, "issued in the future")

    note = Decide(actor=DIRECTOR, outcome=Outcome.deny, reasons=["no_space"])
    sending.token = await _signer(env, TEST_KEY, _director()).proof(handle.id, "decide", [note])
    await attacker.get_workflow_handle(handle.id).execute_update(W.decide, note)
    state = await status(handle)
    assert header_token({HEADER: header_payload(sending.token)}) == state.history[-1].proof
    # The denial is final for staff: a second decision would be refused for its stage; the
    # same proof is refused before that, for having been used.
    await _refused(attacker, handle.id, note, "already used")


async def test_a_forged_start_ends_at_once_and_leaves_nothing(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> None:
    """Finding 3: a request started straight (no front's proof) fails before its code runs:
    no record, no notice, no timer; the real submission of the same id then starts."""
    first = (await today(env)) + timedelta(days=120)
    inp = make_input(f"req-{uuid.uuid4().hex[:10]}", first)
    forged = await _client(env, _signer(env, MALLORY_KEY, _director("mallory")))
    handle = await forged.start_workflow(W.run, inp, id=inp.id, task_queue=worker.task_queue)
    with pytest.raises(WorkflowFailureError) as failure, env.auto_time_skipping_disabled():
        await handle.result()
    assert "start refused" in str(failure.value.cause)
    assert records.get_request(engine, inp.id) is None
    assert notice_store.list_notices(engine, inp.id) == []
    history = await handle.fetch_history()
    assert not any(e.HasField("timer_started_event_attributes") for e in history.events)

    real = await env.client.start_workflow(W.run, inp, id=inp.id, task_queue=worker.task_queue,
                                           id_reuse_policy=reuse_policy())
    assert (await status(real)).id == inp.id


async def test_a_lottery_takes_no_unproven_seats_or_certification(
    private_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Finding 1 on the lottery: more seats, and a certification claiming the certifier's
    roles, sent without a proof or under another key, are refused and change nothing; the
    seat setter's own proof may not certify (the two-person rule reads the proof's name)."""
    env = private_env  # the clock moves by days: a server of its own
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(env.client, settings, executor, trusting_tests(settings)):
            await _forged_lottery_updates(env, settings.task_queue)


async def _forged_lottery_updates(env: WorkflowEnvironment, task_queue: str) -> None:
    from models.lottery_record import AddSeats, LotteryStage
    from tests.support import workflows as helpers
    from tests.support.workflows import skip_to
    from tests.workflows.test_lottery import KEY, SETTER, applicant, make_input
    from workflows.lottery import LotteryWorkflow as L

    inp = await make_input(env)
    lottery = await env.client.start_workflow(L.run, inp, id=inp.id, task_queue=task_queue)
    await lottery.execute_update(L.enter, applicant(1))
    # Drawn first (a preview): the certification would then be taken from a proven certifier.
    await skip_to(env, inp.window_closes)
    before = await helpers.wait_stage(lottery, LotteryStage.preview, query=L.result)
    seats = AddSeats(key=KEY, seats=500, actor=Actor(name="mallory", roles=["seat_setter"]))
    certifier = Actor(name="mallory", roles=["lottery_certifier"])
    for forger, words in ((await _client(env), "carries no proof"),
                          (await _client(env, _signer(env, MALLORY_KEY, _director("mallory"))),
                           "not one this district trusts")):
        handle = forger.get_workflow_handle(inp.id)
        for update, argument in ((L.add_seats, seats), (L.certify, certifier)):
            with pytest.raises(WorkflowUpdateFailedError) as failure:
                await handle.execute_update(update, argument)
            assert words in failure.value.cause.message  # type: ignore[union-attr]
    as_setter = await _client(env, _signer(env, TEST_KEY, _director(
        SETTER.name, ("student_services", "seat_setter", "lottery_certifier"))))
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await as_setter.get_workflow_handle(inp.id).execute_update(L.certify, certifier)
    assert "set the seats" in failure.value.cause.message  # type: ignore[union-attr]
    after = await lottery.query(L.result)
    assert after.seats == before.seats and not after.certified
    assert after.stage is LotteryStage.preview
    await lottery.terminate("test over")


def _parent(address: str = "maria@example.com") -> Acting:
    return parent(address, "paramount")


async def test_a_parents_proof_may_withdraw_but_not_decide(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """The role ``parent`` hands in documents and withdraws (rules/roles.py): a decision
    signed for a parent is refused whatever roles its payload claims, and a withdrawal is
    written as the parent the proof names, not the payload's actor."""
    handle = await start(env, worker.task_queue)
    await to_under_review(handle)
    as_parent = await _client(env, _signer(env, TEST_KEY, _parent()))
    await _refused(as_parent, handle.id, APPROVE, "may not decide", "(parent)")
    withdrawn = await as_parent.get_workflow_handle(handle.id).execute_update(
        W.withdraw, Withdraw(actor=Actor(name="nguyen", roles=["director"])))
    last = withdrawn.history[-1]
    assert withdrawn.stage is Stage.withdrawn
    assert last.actor == "parent maria@example.com" and last.proof is not None
