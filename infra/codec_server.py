"""The codec server: decrypts payloads for the Temporal Web UI and ``temporal --codec-endpoint``
so staff who hold the key see a request's data, while the Temporal server keeps ciphertext.

``POST /decode`` and ``POST /encode`` take and answer ``{"payloads": [...]}`` in protobuf JSON
(``temporal.api.common.v1.Payloads``), the Temporal codec server protocol. The Web UI calls
from the browser, so the server answers CORS preflights for one origin (the UI's).

Whoever can reach ``/decode`` can read student data, so every ``/encode`` and ``/decode`` needs
``Authorization: Bearer <token>``, a token ``authorize`` accepts (`transfers codec-server`: a
signed-in staff member's session token, or ``TRANSFERS_CODEC_TOKEN``); without one: 401, and
the body is discarded undecoded. CORS preflights carry no credentials (browsers never send them)
and are answered without. It listens on loopback by default, and keeps no logs of bodies.
Standard library only (``http.server``)."""

from __future__ import annotations

import asyncio
import hmac
import json
import os
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from infra.codec import CompressThenEncrypt, EncryptionCodec, encryption_codec

DEFAULT_CORS_ORIGIN = "http://localhost:8233"
TOKEN_VARIABLE = "TRANSFERS_CODEC_TOKEN"
Authorize = Callable[[str], bool]  # a bearer token -> whether it may decode
MAX_BODY = 64 * 1024 * 1024  # a lottery's record, decoded and base64: a few tens of MB at most


class CodecServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], codec: EncryptionCodec, cors_origin: str,
                 authorize: Authorize) -> None:
        self.codec = CompressThenEncrypt(codec)  # what the workers write, undone in order
        self.cors_origin = cors_origin
        self.authorize = authorize
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
        if not self._authorized():
            self._discard_body()  # unread, it would be taken for the next request; not decoded
            self._error(HTTPStatus.UNAUTHORIZED, "Authorization: Bearer <token> needed: a "
                        f"signed-in staff member's session token, or {TOKEN_VARIABLE}",
                        extra={"WWW-Authenticate": 'Bearer realm="transfers codec"'})
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

    def _discard_body(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = MAX_BODY + 1
        if length > MAX_BODY:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def _authorized(self) -> bool:
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        try:
            return self.server.authorize(token.strip())
        except Exception:  # noqa: BLE001 - the store away: refused, not a 500 naming it
            return False

    def _error(self, status: HTTPStatus, message: str,
               extra: Mapping[str, str] | None = None) -> None:
        self._answer(status, json.dumps({"error": message}).encode(), extra=extra)

    def _answer(self, status: HTTPStatus, body: bytes,
                content_type: str | None = "application/json",
                extra: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
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


def token_authorizer(environ: Mapping[str, str] = os.environ) -> Authorize:
    """Accepts ``TRANSFERS_CODEC_TOKEN`` (compared in constant time); nothing when unset."""
    configured = environ.get(TOKEN_VARIABLE, "").strip().encode()

    def authorize(token: str) -> bool:
        return bool(configured) and hmac.compare_digest(token.encode(), configured)

    return authorize


def make_server(
    host: str, port: int, cors_origin: str = DEFAULT_CORS_ORIGIN,
    codec: EncryptionCodec | None = None, environ: Mapping[str, str] = os.environ,
    authorize: Authorize | None = None,
) -> CodecServer:
    """A codec server bound to ``host:port`` (port 0: any free one), not yet serving; its
    keys from ``codec`` or the environment (a ValueError when none is configured), the tokens
    it accepts from ``authorize`` (default: ``TRANSFERS_CODEC_TOKEN`` only)."""
    codec = codec or encryption_codec(environ)
    if codec is None:
        raise ValueError("no encryption key configured (TRANSFERS_ENCRYPTION_KEYS)")
    return CodecServer((host, port), codec, cors_origin, authorize or token_authorizer(environ))


def serve(host: str, port: int, cors_origin: str, authorize: Authorize | None = None) -> None:
    """Serve until interrupted."""
    with make_server(host, port, cors_origin, authorize=authorize) as server:
        server.serve_forever()
