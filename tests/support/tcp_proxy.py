"""A TCP proxy on loopback that the fault tests cut and restore: the worker reaches the records
database through it, and `cut` makes the database unreachable at once (the listener closed,
so a new connection is refused, and every open connection reset)."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from contextlib import suppress

from tests.support.ports import free_port


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; runs its own event loop in a thread."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port: int = free_port()
        self.connections = 0  # accepted since the start: the worker did come through here
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # ---- from the test's thread ----------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def restore(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening and reset every connection through the proxy."""
        self._call(self._cut())

    def close(self) -> None:
        if self._thread.is_alive():
            self.cut()
            self._call(asyncio.sleep(0.2))  # the reset connections' tasks end
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def _call(self, coroutine) -> None:  # type: ignore[no-untyped-def]
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    # ---- in the proxy's loop -------------------------------------------------------------

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        if self._server is None:  # cut while connecting
            _reset(writer)
            _reset(up_writer)
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            with suppress(Exception):
                writer.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (SO_LINGER 0), as a database that vanished would look."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
