"""The worker service: registers the workflows and activities and polls the task queue.

Run any number of them against one Temporal server (`transfers worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.notices import NoticeActivities
from activities.proofs import ProofActivities
from activities.records import RecordActivities
from infra import observability
from infra.codec import KEYS_VARIABLE, CompressThenEncrypt
from infra.proofs import Keyring
from infra.sealing import REQUIRED_SINCE_VARIABLE, RefusingRunner
from infra.settings import Settings, connect, load_settings
from models.base import build_all
from store import made, records
from store.engine import engine_for
from store.migrate import check_current
from store.secrets import trusted_keys
from workflows.agreement import AgreementWatchWorkflow
from workflows.common.proofs import ProofChecker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow
from workflows.lottery import LotteryWorkflow
from workflows.permit import PermitWorkflow
from workflows.within_request import WithinRequestWorkflow

KEYRING_REFRESH = timedelta(seconds=30)
WORKFLOWS = [InterdistrictPermitWorkflow, LotteryWorkflow, WithinRequestWorkflow, PermitWorkflow,
             AgreementWatchWorkflow]


def build_activities(settings: Settings, keyring: Keyring) -> list:
    """The activities; ``keyring`` verifies the signals between workflows
    (`activities.proofs`)."""
    engine = engine_for(settings.database_url)
    notices = NoticeActivities(
        engine, settings.outbox_dir, settings.smtp_host, settings.smtp_port,
        portal_url=settings.portal_url, districts_dir=settings.districts_dir,
    )
    recording = RecordActivities(engine)
    proofs = ProofActivities(engine, keyring)
    return [
        recording.record_event, recording.record_events, recording.record_within_event,
        recording.record_lottery,
        recording.record_permit,
        notices.send_notice,
        proofs.sign_signals, proofs.verify_signal,
    ]


def workflow_runner(sandboxed: bool = True) -> WorkflowRunner:
    """The runner of the workflows: the SDK's sandbox, or none.

    The sandbox re-imports the workflow modules for every workflow run and runs every
    activation and every payload's (de)serialisation through ``exec``: on a busy worker it
    was two fifths of the CPU (bench/RESULTS.md, throughput). Workers therefore run without
    it by default (``TRANSFERS_WORKFLOW_SANDBOX``). What the sandbox guards (no clock, no
    randomness, no I/O in workflow code) is guarded instead where it costs nothing in
    production: every workflow test, every end-to-end worker process and the replay of the
    committed histories run sandboxed (tests/conftest.py turns it on), and ruff bans the
    clock, randomness and I/O in ``workflows/``, ``models/`` and ``rules/`` (pyproject.toml,
    tests/workflows/test_sandbox.py)."""
    # The models build their validators when first used (models/base.py): here, outside
    # any workflow, not in the first workflow task that validates one.
    build_all()
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    # The sandbox imports the workflow modules again for every workflow run: let Python keep
    # their bytecode (even where PYTHONDONTWRITEBYTECODE is set) so that costs a load, not a
    # compile; compiling was a fifth of a busy worker's CPU.
    sys.dont_write_bytecode = False
    # Pydantic validates e-mail addresses lazily with these; they are pure and safe.
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("email_validator", "idna")
    )


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The worker's event loop (``TRANSFERS_EVENT_LOOP``): uvloop's by default, or None for
    Python's own (``asyncio``).

    A busy worker's main thread is an event loop handing tasks between the SDK's core and
    Python: py-spy found a sixth of the worker's time in asyncio's own loop and selector
    code (bench/RESULTS.md). uvloop runs the same loop in C: the school year's worker took
    15% less CPU (35.6 and 34.3 CPU-s against 42.2 and 40.5, alternated). Workflow code is
    not affected: the SDK runs each workflow on an event loop of its own. ``asyncio`` is
    there for a platform uvloop does not build on (Windows) and to compare."""
    if name != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        raise ValueError(
            "TRANSFERS_EVENT_LOOP is uvloop (the default) but uvloop is not installed here: "
            "install it, or set TRANSFERS_EVENT_LOOP=asyncio"
        ) from None
    return uvloop.new_event_loop


def load_keyring(settings: Settings) -> Keyring:
    """The public keys the workflows verify proofs with, from the records store."""
    return Keyring({key.kid: key for key in trusted_keys(engine_for(settings.database_url))})


async def refresh_keyring(keyring: Keyring, settings: Settings, stop: asyncio.Event) -> None:
    """Keep ``keyring`` current, so a key rotated while the worker runs is known within
    ``KEYRING_REFRESH`` (docs/cross-cutting.md "Proofs")."""
    engine = engine_for(settings.database_url)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), KEYRING_REFRESH.total_seconds())
        with contextlib.suppress(Exception):  # the store away for a moment: the old keys serve
            keyring.replace(await asyncio.to_thread(trusted_keys, engine))


def build_worker(
    client: Client, settings: Settings, executor: ThreadPoolExecutor,
    keyring: Keyring | None = None, **options: object,
) -> Worker:
    keyring = keyring or load_keyring(settings)
    runner = workflow_runner(settings.workflow_sandbox)
    if settings.encryption_required_since is not None:  # plaintext inputs not believed
        runner = RefusingRunner(runner, settings.encryption_required_since)
    return Worker(
        client,
        task_queue=settings.task_queue,
        interceptors=[ProofChecker(keyring)],
        workflows=WORKFLOWS,
        workflow_runner=runner,
        activities=build_activities(settings, keyring),
        activity_executor=executor,
        max_cached_workflows=options.pop("max_cached_workflows", 1000),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


async def run_worker(settings: Settings | None = None, client: Client | None = None) -> None:
    """Run until SIGINT or SIGTERM, then shut down cleanly (finishing running tasks)."""
    settings = settings or load_settings()
    observability.configure_logging(settings)
    # Never poll on a records database behind the code's schema: the error names the command.
    engine = records.intact_engine(settings.database_url)  # a damaged one: refused, named
    check_current(engine)
    client = client or await connect(observability.runtime(settings))
    if isinstance(client.data_converter.payload_codec, CompressThenEncrypt) and \
            settings.encryption_required_since is None:
        logging.getLogger(__name__).warning(
            "%s is set but %s is not: workflows still believe plaintext inputs (set it to "
            "the moment every worker and client had the keys)", KEYS_VARIABLE,
            REQUIRED_SINCE_VARIABLE)
    # A store made after its workflows started was lost: refused, naming `transfers db rebuild`.
    await made.check_not_lost(engine, client, WORKFLOWS, settings.task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    readiness = None
    if settings.health_port is not None:
        probe = client.service_client.check_health
        readiness = observability.Readiness(settings.health_port, probe)
        await readiness.start()
    keyring = load_keyring(settings)
    refreshing = asyncio.create_task(refresh_keyring(keyring, settings, stop))
    try:
        with ThreadPoolExecutor(max_workers=16) as executor:
            worker = build_worker(client, settings, executor, keyring)
            async with worker:
                if readiness is not None:
                    readiness.ready.set()
                logging.getLogger(__name__).info(
                    "worker polling task queue %s on the %s event loop", settings.task_queue,
                    type(loop).__module__.partition(".")[0],
                )
                await stop.wait()
                if readiness is not None:  # draining: take no new traffic
                    readiness.ready.clear()
    finally:
        stop.set()
        await refreshing
        if readiness is not None:
            await readiness.stop()
