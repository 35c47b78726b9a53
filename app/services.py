"""The long-running parts a person starts: a worker, the embedded default (the Temporal dev
server persisted in the data folder, with a worker), and the codec server that decrypts
payloads for the Temporal Web UI."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app import context
from app.errors import Refused
from infra.settings import PRIVATE_UMASK, Settings, keep_private

# Temporal's SDK (and the codec, the sealing built on it) only where a service starts: every
# command's start runs through `private_files` here, reads included.
if TYPE_CHECKING:
    from temporalio.client import Client

LoopFactory = Callable[[], asyncio.AbstractEventLoop] | None


def event_loop(settings: Settings) -> LoopFactory:
    """The worker's event loop (``TRANSFERS_EVENT_LOOP``); a wrong setting is refused."""
    from worker import event_loop_factory

    try:
        return event_loop_factory(settings.event_loop)
    except ValueError as error:
        raise Refused(str(error)) from None


def run(coroutine: object, loop_factory: LoopFactory = None) -> object:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coroutine)  # type: ignore[arg-type]


def private_files() -> None:
    """What this process creates from now on (a records store, a document, a notice) is
    readable by its own user only (docs/cross-cutting.md "Privacy")."""
    os.umask(PRIVATE_UMASK)


def worker() -> None:
    """A worker until Ctrl-C (connects with TEMPORAL_ADDRESS etc.)."""
    from worker import run_worker

    settings = context.worker_settings()
    keep_private(settings.data_dir)
    run(run_worker(settings), loop_factory=event_loop(settings))


def dev(port: int, ui_port: int, say: Callable[[str], None], web_port: int = 0,
        portal_port: int = 0) -> None:
    """The Temporal dev server (persisted in the data folder), a worker, and (on ``web_port``
    and ``portal_port``; 0: none) the staff console and the parent portal, until Ctrl-C stops
    them; ``say`` tells the person where
    they are. The settings file then names the data folder it used, so later commands from
    any folder find its store."""
    from infra.codec import KEY_FILE, KEYS_VARIABLE
    from infra.config_file import remember_data_dir
    from infra.sealing import secure_data_folder
    from infra.search_attributes import dev_server_flags
    from infra.settings import find_binary

    settings = context.worker_settings()
    loop_factory = event_loop(settings)  # a wrong setting stops here, before the server
    ports = [("--port", port), ("--ui-port", ui_port)] + [
        (what, number) for what, number in (("--web-port", web_port),
                                            ("--portal-port", portal_port)) if number]
    for what, number in ports:
        _refuse_taken(what, number)
    keep_private(settings.data_dir)  # Temporal's database too: the server inherits the umask
    # Secure by default: with no key configured, the data folder gets one (and the cut-over
    # from which plaintext inputs are refused), so Temporal's database holds ciphertext.
    if not os.environ.get(KEYS_VARIABLE, "").strip() and secure_data_folder(
            settings.data_dir, datetime.now(UTC)):
        say(f"made an encryption key: {settings.data_dir / KEY_FILE} (keep it: without it, "
            "what the dev server holds cannot be read)")
    settings = context.worker_settings()  # again: the key and its cut-over are settings now
    try:
        remembered = remember_data_dir(settings.data_dir)
    except (OSError, ValueError) as error:  # unwritable, or a bad file left as it is: the
        # stack runs anyway (the variables named everything, or the file would have stopped it)
        say(f"the settings file was not written ({error}): later commands need "
            f"TRANSFERS_DATA_DIR={settings.data_dir}")
    else:
        if remembered:
            say(remembered)
    # WAL with synchronous=normal survives a crash of the process; a power cut can lose the
    # last transactions (docs/cross-cutting.md "The embedded dev server's durability").
    server = subprocess.Popen(
        [
            find_binary("temporal"), "server", "start-dev",
            "--db-filename", str(settings.data_dir / "temporal.sqlite"),
            "--port", str(port), "--ui-port", str(ui_port), "--ip", "127.0.0.1",
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            *dev_server_flags(), "--log-level", "warn",
        ],
        start_new_session=True,
    )
    os.environ.setdefault("TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    fronts = [front for front in (_start_front(web_port), _start_front(portal_port, "--portal"))
              if front is not None]
    try:
        run(_dev_worker(settings, server, ui_port, say, web_port, portal_port), loop_factory)
    finally:
        for front in fronts:
            _stop(front)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        say("stopped the worker and the Temporal dev server")


def _start_front(port: int, *flags: str) -> subprocess.Popen | None:
    """A front (`web`, above this layer: the console, or the portal with ``--portal``) as a
    process of its own, with this process's settings; in its process group, so Ctrl-C
    reaches it too."""
    if not port:
        return None
    return subprocess.Popen([sys.executable, "-m", "web", "--host", "127.0.0.1",
                             "--port", str(port), *flags])


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


async def _dev_worker(
    settings: Settings, server: subprocess.Popen, ui_port: int, say: Callable[[str], None],
    web_port: int = 0, portal_port: int = 0,
) -> None:
    from infra import observability
    from infra.settings import connect
    from worker import run_worker

    client: Client | None = None
    runtime = observability.runtime(settings)  # once: it binds the metrics port
    for _ in range(300):
        if server.poll() is not None:
            raise Refused("the Temporal dev server exited; is the port already in use?")
        try:
            client = await connect(runtime)
            break
        except RuntimeError:
            await asyncio.sleep(0.1)
    if client is None:
        raise Refused("the Temporal dev server did not start")
    console = f"the staff console on http://127.0.0.1:{web_port}; " if web_port else ""
    if portal_port:
        console += f"the parent portal on http://127.0.0.1:{portal_port}; "
    say(
        f"Temporal dev server on {os.environ['TEMPORAL_ADDRESS']}, Web UI on "
        f"http://127.0.0.1:{ui_port}; {console}"
        "worker running. Ctrl-C stops them."
    )
    # The worker runs as long as its server: when the server dies, it stops and says so.
    working = asyncio.create_task(run_worker(settings, client))
    server_exit = asyncio.create_task(_exited(server))
    await asyncio.wait({working, server_exit}, return_when=asyncio.FIRST_COMPLETED)
    if working.done():
        server_exit.cancel()
        working.result()
        return
    working.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await working
    raise Refused(f"the Temporal dev server stopped (exit status {server.returncode}); "
                  "the worker stopped with it")


async def _exited(process: subprocess.Popen) -> None:
    """Returns when ``process`` has exited. Polled, not waited on in a thread: a thread
    blocked in ``wait`` would hold the event loop's shutdown until the server stops, and the
    server is stopped after the loop."""
    while process.poll() is None:
        await asyncio.sleep(0.5)


def _refuse_taken(option: str, port: int) -> None:
    """Refuse a port another process holds: the dev server would fail to start, and the
    worker would reach the other process instead."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise Refused(f"port {port} is in use by another process: choose another with "
                          f"{option}") from None


def _codec_authorizer() -> Callable[[str], bool]:
    """Who may decrypt: a staff member signed in (a session the records store holds open, as
    the CLI keeps in ``sessions.json``), or whoever holds ``TRANSFERS_CODEC_TOKEN``."""
    from infra.codec_server import token_authorizer
    from store.sessions import session_of

    configured = token_authorizer()

    def authorize(token: str) -> bool:
        # The store is reached when a token is not the configured one, not at start: the
        # server starts (and answers 401) while the records database is away.
        if configured(token):
            return True
        try:
            return session_of(context.engine(), token, datetime.now(UTC)) is not None
        except Refused:  # no store (or an unreadable one): no session to accept, 401
            return False

    return authorize


def codec_server(host: str, port: int, cors_origin: str, say: Callable[[str], None]) -> None:
    """Decrypt payloads for the Temporal Web UI until Ctrl-C (needs the encryption keys)."""
    from infra import codec_server as server
    from infra.codec import KEYS_VARIABLE, encryption_codec

    try:
        codec = encryption_codec()
    except ValueError as error:
        raise Refused(str(error)) from None
    if codec is None:
        raise Refused(f"no encryption key configured: set {KEYS_VARIABLE} (see infra/codec.py)")
    say(f"codec server on http://{host}:{port} for {cors_origin} "
        f"(keys {', '.join(codec.key_ids)}; current {codec.current}); every request needs "
        "Authorization: Bearer <a signed-in staff member's session token, or "
        f"{server.TOKEN_VARIABLE}>")
    try:
        server.serve(host, port, cors_origin, _codec_authorizer())
    except OSError as error:  # the port is taken, the address is not ours
        raise Refused(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    except KeyboardInterrupt:
        pass
