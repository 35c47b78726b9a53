"""The codec server: decrypts payloads for the Temporal Web UI and ``temporal --codec-endpoint``
so staff who hold the key see a request's data, while the Temporal server keeps ciphertext.

``POST /decode`` and ``POST /encode`` take and answer ``{"payloads": [...]}`` in protobuf JSON
(``temporal.api.common.v1.Payloads``), the Temporal codec server protocol. The Web UI calls
from the browser, so the server answers CORS preflights for one origin (the UI's).

Whoever can reach ``/decode`` can read student data: it listens on loopback by default, and
anywhere else it must sit behind the district's authentication (a reverse proxy that checks
staff sign-in; the UI can forward the user's access token with "Pass access token"). It keeps
no logs of bodies. Standard library only (``http.server``)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from infra.codec import CompressThenEncrypt, EncryptionCodec, encryption_codec

DEFAULT_CORS_ORIGIN = "http://localhost:8233"
MAX_BODY = 64 * 1024 * 1024  # a lottery's record, decoded and base64: a few tens of MB at most


class CodecServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], codec: EncryptionCodec, cors_origin: str) -> None:
        self.codec = CompressThenEncrypt(codec)  # what the workers write, undone in order
        self.cors_origin = cors_origin
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: CodecServer
    protocol_version = "HTTP/1.1"

    def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's name
        self._answer(HTTPStatus.NO_CONTENT, b"", content_type=None)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0].rstrip("/")
        if not path.endswith(("/encode", "/decode")):  # the UI may prefix a namespace path
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint {path!r}: /encode or /decode")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "Content-Length is not a number")
            return
        if length > MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BODY} bytes")
            return
        body = self.rfile.read(length)
        try:
            payloads = json_format.Parse(body, Payloads())
        except (json_format.ParseError, UnicodeDecodeError) as error:
            self._error(HTTPStatus.BAD_REQUEST, f"not a JSON Payloads body: {error}")
            return
        codec = self.server.codec
        step = codec.decode if path.endswith("/decode") else codec.encode
        try:
            # The codec is synchronous at heart; each request thread runs its own short loop.
            result = asyncio.run(step(payloads.payloads))
        except Exception as error:  # noqa: BLE001 - a payload that will not decode: say why
            self._error(HTTPStatus.BAD_REQUEST, str(error))
            return
        answer = json_format.MessageToJson(Payloads(payloads=result), indent=None)
        self._answer(HTTPStatus.OK, answer.encode())

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._answer(status, json.dumps({"error": message}).encode())

    def _answer(self, status: HTTPStatus, body: bytes,
                content_type: str | None = "application/json") -> None:
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", self.server.cors_origin)
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers",
                         "Content-Type, Authorization, X-Namespace")
        self.send_header("Access-Control-Allow-Credentials", "true")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Vary", "Origin")
        self.send_header("Cache-Control", "no-store")  # decrypted student data: never cache
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base's name
        pass  # the request line is harmless, but stay quiet: the CLI says where it listens


def make_server(
    host: str, port: int, cors_origin: str = DEFAULT_CORS_ORIGIN,
    codec: EncryptionCodec | None = None, environ: Mapping[str, str] = os.environ,
) -> CodecServer:
    """A codec server bound to ``host:port`` (port 0: any free one), not yet serving; its
    keys from ``codec`` or the environment (a ValueError when none is configured)."""
    codec = codec or encryption_codec(environ)
    if codec is None:
        raise ValueError("no encryption key configured (TRANSFERS_ENCRYPTION_KEYS)")
    return CodecServer((host, port), codec, cors_origin)


def serve(host: str, port: int, cors_origin: str) -> None:
    """Serve until interrupted."""
    with make_server(host, port, cors_origin) as server:
        server.serve_forever()
