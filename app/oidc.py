"""Staff sign-in with the district's OpenID Connect provider (Google, Microsoft, Clever,
ClassLink): discovery, the authorization code flow with PKCE (S256), ``state`` and ``nonce``,
and the ID token verified against the provider's published keys. Issue 16, "Identity".

``begin`` and ``finish`` are the two halves a front with a redirect URI of its own calls (the
web console); ``sign_in_loopback`` is the whole of it for the CLI, with RFC 8252's loopback
redirect. This module proves who someone is; sessions, the roster mapping and what an
unverified email means are the caller's.

The OAuth and JOSE work is Authlib's: its RFC 6749 parameters and client authentication, its
RFC 7636 challenge, its discovery metadata and ID token claims, and joserfc (Authlib's own JOSE
library, which Authlib's clients use) for the signature. Authlib's httpx integration is not
used: with httpx rather than httpx2 it warns on every import, which would reach the CLI's
stderr. HTTP is httpx, asynchronous, as the application layer's other operations are.

Every failure is a ``Refused`` naming what went wrong; no message carries a code, a token, a
verifier or the client secret."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from authlib.common.security import generate_token, is_secure_transport
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.parameters import (
    parse_authorization_code_response,
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from app.errors import Refused

ISSUER = "TRANSFERS_OIDC_ISSUER"
CLIENT_ID = "TRANSFERS_OIDC_CLIENT_ID"
CLIENT_SECRET = "TRANSFERS_OIDC_CLIENT_SECRET"

DEFAULT_SCOPES = "openid email profile"
HTTP_TIMEOUT = 10.0  # seconds for one request to the provider: a person is waiting
CLOCK_SKEW = 60  # seconds of leeway on exp/iat/nbf: the provider's clock is not ours
# Only signatures made with the provider's private key: never "none", and never an HMAC, whose
# key would be the client secret (which anyone holding the secret could then sign with).
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})


@dataclass(frozen=True)
class OidcSettings:
    """The district's provider and this service's registration with it."""

    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)  # None: a public client
    scopes: str = DEFAULT_SCOPES

    def __post_init__(self) -> None:
        parts = urlsplit(self.issuer)
        # HTTPS, or plain HTTP on loopback only (a provider on this machine, as in the tests).
        if not parts.hostname or not is_secure_transport(self.issuer) or parts.scheme not in (
            "https", "http",
        ):
            raise ValueError(
                f"the OIDC issuer must be an https:// URL (http:// only on loopback), "
                f"not {self.issuer!r}"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"the OIDC issuer has no query or fragment: {self.issuer!r}")
        if not self.client_id:
            raise ValueError("the OIDC client id is empty")
        if "openid" not in self.scopes.split():
            raise ValueError(f"the OIDC scopes must include openid, not {self.scopes!r}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> OidcSettings | None:
        """The settings from TRANSFERS_OIDC_ISSUER, TRANSFERS_OIDC_CLIENT_ID and (for a
        confidential client) TRANSFERS_OIDC_CLIENT_SECRET; None when no issuer is set (sign-in
        is not configured). An issuer without a client id, or a client id or secret without an
        issuer, is an error naming what is missing: half a configuration is a mistake, not a
        choice."""
        env = os.environ if environ is None else environ
        issuer = env.get(ISSUER, "").strip()
        client_id = env.get(CLIENT_ID, "").strip()
        secret = env.get(CLIENT_SECRET, "").strip() or None
        if not issuer:
            given = [name for name, value in ((CLIENT_ID, client_id), (CLIENT_SECRET, secret))
                     if value]
            if given:
                raise ValueError(f"{ISSUER} is not set, but {' and '.join(given)} is")
            return None
        if not client_id:
            raise ValueError(f"{CLIENT_ID} is not set, but {ISSUER} is")
        try:
            return cls(issuer=issuer, client_id=client_id, client_secret=secret)
        except ValueError as error:
            raise ValueError(f"{ISSUER}: {error}") from None


@dataclass(frozen=True)
class Authorization:
    """A sign-in begun: ``url`` is for the person's browser; the rest the caller keeps (in
    its session, never in the browser's reach but for ``state``) until the callback."""

    url: str
    redirect_uri: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider says signed in. ``subject`` (with ``issuer``) is the stable id; an
    email is only as good as ``email_verified``, which the caller weighs."""

    subject: str
    issuer: str
    email: str | None
    email_verified: bool
    name: str | None


# ---- discovery -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _client(http: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    """The caller's client as it is (the caller closes it), or one of the call's own."""
    if http is not None:
        yield http
        return
    # Never follow redirects: a provider's endpoints answer where discovery says they are.
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False) as own:
        yield own


def _printable(text: object, limit: int = 200) -> str:
    """Text from the provider or the browser, safe to show: control and format characters
    out, cut short."""
    cleaned = "".join(
        c for c in str(text) if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp")
    )
    return cleaned[:limit] + ("…" if len(cleaned) > limit else "")


async def _get_json(http: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise Refused(
            f"the sign-in provider cannot be reached at {url} for its {what}: "
            f"{_printable(error) or type(error).__name__}"
        ) from None
    if response.status_code != 200:
        raise Refused(f"the sign-in provider answered {response.status_code} at {url} "
                      f"for its {what}")
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Refused(f"the sign-in provider's {what} at {url} is not a JSON object")
    return document


async def discover(
    settings: OidcSettings, *, http: httpx.AsyncClient | None = None
) -> OpenIDProviderMetadata:
    """The provider's metadata from ``/.well-known/openid-configuration``, checked: its
    ``issuer`` must be the configured one (OpenID Connect Discovery 4.3), or a document served
    at the district's address could send the sign-in to another provider."""
    url = get_well_known_url(settings.issuer, external=True)
    async with _client(http) as client:
        document = await _get_json(client, url, "discovery document")
    found = document.get("issuer")
    if not isinstance(found, str) or found.rstrip("/") != settings.issuer.rstrip("/"):
        raise Refused(
            f"the discovery document at {url} names the issuer {_printable(found)!r}, "
            f"not the configured {settings.issuer!r}"
        )
    metadata = OpenIDProviderMetadata(document)
    try:
        metadata.validate()
    except ValueError as error:
        raise Refused(f"the discovery document at {url} is not valid: {_printable(error)}") \
            from None
    return metadata


# ---- the authorization code flow -------------------------------------------------------


async def begin(
    settings: OidcSettings,
    redirect_uri: str,
    *,
    http: httpx.AsyncClient | None = None,
) -> Authorization:
    """Start a sign-in: the authorization URL (code flow, PKCE S256, a fresh ``state`` and
    ``nonce``) for the browser, and what ``finish`` needs back. ``http`` is a client of the
    caller's for reaching the provider (a proxy's, a test's), left open; by default each call
    has its own."""
    metadata = await discover(settings, http=http)
    state = generate_token(32)
    nonce = generate_token(32)
    verifier = generate_token(64)  # RFC 7636 4.1: 43-128 unreserved characters
    url = prepare_grant_uri(
        metadata["authorization_endpoint"],
        client_id=settings.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=settings.scopes,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return Authorization(url=url, redirect_uri=redirect_uri, state=state, nonce=nonce,
                         code_verifier=verifier)


def _callback_code(metadata: Mapping[str, Any], authorization: Authorization,
                   callback_url: str) -> str:
    """The code from the redirect, once it is shown to answer this sign-in."""
    params = dict(parse_qsl(urlsplit(callback_url).query, keep_blank_values=True))
    ours = hmac.compare_digest(params.get("state", "").encode(), authorization.state.encode())
    # An error answer without any state is still reported as the provider's: some providers
    # (the test one among them) leave state off a denial, and an error grants nothing, so the
    # worst a forged one does is end a sign-in, as closing the window would. A code, or a
    # state of another sign-in, is taken only with this sign-in's state.
    if not ours and not ("error" in params and "state" not in params):
        raise Refused("the sign-in's answer does not carry this sign-in's state "
                      "(a stale or forged redirect); start again")
    # RFC 9207: a provider that names itself in the redirect must be this one (mix-up attack).
    if "iss" in params and params["iss"].rstrip("/") != str(metadata["issuer"]).rstrip("/"):
        raise Refused(f"the sign-in's answer comes from {_printable(params['iss'])!r}, "
                      f"not {metadata['issuer']!r}")
    if "error" in params:
        description = params.get("error_description")
        raise Refused(
            f"the sign-in provider refused the sign-in: {_printable(params['error'], 60)}"
            + (f" ({_printable(description)})" if description else "")
        )
    try:
        return parse_authorization_code_response(callback_url, authorization.state)["code"]
    except OAuth2Error:
        raise Refused("the sign-in's answer carries no authorization code") from None


async def _exchange(http: httpx.AsyncClient, settings: OidcSettings,
                    metadata: Mapping[str, Any], authorization: Authorization,
                    code: str) -> dict[str, Any]:
    """The token response for ``code``, proven with the PKCE verifier (and the client secret
    when there is one, as the provider prefers it)."""
    endpoint = metadata["token_endpoint"]
    supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if settings.client_secret is None:
        method = "none"
    elif "client_secret_basic" not in supported and "client_secret_post" in supported:
        method = "client_secret_post"
    else:
        method = "client_secret_basic"
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=authorization.redirect_uri,
        code_verifier=authorization.code_verifier,
    )
    headers = {"Accept": "application/json",
               "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
    uri, headers, body = ClientAuth(settings.client_id, settings.client_secret, method).prepare(
        "POST", endpoint, headers, body
    )
    try:
        response = await http.post(uri, content=body, headers=headers)
    except httpx.HTTPError as error:
        raise Refused(f"the sign-in provider cannot be reached at {endpoint}: "
                      f"{_printable(error) or type(error).__name__}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise Refused(f"the sign-in provider's token endpoint answered {response.status_code} "
                      "without a JSON object")
    if "error" in answer or response.status_code != 200:
        error = _printable(answer.get("error", response.status_code), 60)
        description = answer.get("error_description")
        raise Refused(f"the sign-in provider refused the code: {error}"
                      + (f" ({_printable(description)})" if description else ""))
    if not isinstance(answer.get("id_token"), str):
        raise Refused("the sign-in provider's token answer has no ID token (is the openid "
                      "scope granted?)")
    return answer


_CLAIM_REFUSALS = {
    "iss": "was issued by another provider",
    "aud": "was issued to another client",
    "azp": "was issued to another client",
    "nonce": "does not answer this sign-in (its nonce differs: a replayed token?)",
    "at_hash": "does not belong with its access token",
}


async def _verify(http: httpx.AsyncClient, settings: OidcSettings,
                  metadata: Mapping[str, Any], id_token: str, nonce: str,
                  access_token: str | None, now: int) -> OidcIdentity:
    """The ID token's claims, once its signature verifies against the provider's JWKS and its
    issuer, audience, times and nonce are this sign-in's."""
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in ASYMMETRIC_ALGORITHMS]
    if not algorithms:
        raise Refused(f"the sign-in provider signs ID tokens only with {offered}, "
                      "none of them a public-key signature")
    jwks = await _get_json(http, metadata["jwks_uri"], "signing keys (JWKS)")
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError):
        raise Refused(f"the sign-in provider's signing keys at {metadata['jwks_uri']} "
                      "cannot be read") from None
    try:
        token = jwt.decode(id_token, keys, algorithms=algorithms)
    except (BadSignatureError, InvalidKeyIdError):
        raise Refused("the ID token's signature does not verify against the provider's "
                      "signing keys") from None
    except (JoseError, ValueError):
        raise Refused("the ID token is not a signed JWT this provider could have made") \
            from None
    claims = CodeIDToken(
        token.claims, token.header,
        {"iss": {"essential": True, "value": str(metadata["issuer"])},
         "aud": {"essential": True, "value": settings.client_id},
         "sub": {"essential": True}},
        {"nonce": nonce, "client_id": settings.client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=CLOCK_SKEW)
    except ExpiredTokenError:
        raise Refused("the ID token has expired") from None
    except MissingClaimError as error:
        raise Refused(f"the ID token lacks its {_printable(error.claim, 30)} claim") from None
    except InvalidClaimError as error:
        what = _CLAIM_REFUSALS.get(error.claim, f"has an invalid {_printable(error.claim, 30)} "
                                                "claim")
        raise Refused(f"the ID token {what}") from None
    except JoseError as error:
        raise Refused(f"the ID token is refused: {_printable(error.error, 60)}") from None
    email = claims.get("email")
    name = claims.get("name")
    return OidcIdentity(
        subject=str(claims["sub"]),
        issuer=str(claims["iss"]),
        email=email if isinstance(email, str) else None,
        # Some providers send the flag as the string "true"; anything else is not verified.
        email_verified=claims.get("email_verified") in (True, "true"),
        name=name if isinstance(name, str) else None,
    )


async def finish(
    settings: OidcSettings,
    authorization: Authorization,
    callback_url: str,
    *,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> OidcIdentity:
    """Complete the sign-in ``authorization`` began, from the URL the provider redirected the
    browser to: the state checked, the code exchanged with the PKCE verifier, and the ID token
    verified (signature against the provider's JWKS, issuer, audience, expiry, nonce). Who
    signed in, or ``Refused``. ``clock`` is the time the token's times are judged by."""
    async with _client(http) as client:
        metadata = await discover(settings, http=client)
        code = _callback_code(metadata, authorization, callback_url)
        answer = await _exchange(client, settings, metadata, authorization, code)
        access_token = answer.get("access_token")
        return await _verify(
            client, settings, metadata, answer["id_token"], authorization.nonce,
            access_token if isinstance(access_token, str) else None, int(clock()),
        )


# ---- the CLI: RFC 8252 loopback redirect -----------------------------------------------

CALLBACK_PATH = "/callback"
_REQUEST_LIMIT = 16 * 1024  # bytes of request line and headers a browser's redirect needs


async def _read_request_target(reader: asyncio.StreamReader) -> str | None:
    """The target of a GET on the listener, its headers read past; None for anything else."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > _REQUEST_LIMIT:
        return None
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or not parts[1].startswith("/"):
        return None
    return parts[1]


async def _answer(writer: asyncio.StreamWriter, status: str, text: str) -> None:
    if writer.is_closing():  # the sign-in ended while this request was being read
        return
    body = (text + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n".encode() + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def sign_in_loopback(
    settings: OidcSettings,
    open_url: Callable[[str], None],
    timeout: float = 300,
    *,
    http: httpx.AsyncClient | None = None,
) -> OidcIdentity:
    """Sign in from the command line: a one-shot HTTP listener on 127.0.0.1 (a port the system
    picks) is the redirect URI (RFC 8252 7.3), ``open_url`` is given the authorization URL
    (the CLI prints it and tries a browser; it must return without waiting for the sign-in),
    and the first redirect to the listener finishes the sign-in and answers the browser with
    a short plain page. ``Refused`` when nobody has come back within ``timeout`` seconds.

    Issue 16 asked for the device authorization grant (RFC 8628); the loopback redirect is
    used instead because the provider the tests can run for real (oidc-provider-mock) has no
    device grant, so a device-grant client could not be tested against one. The loopback
    redirect is the code flow ``begin``/``finish`` already carry, for a native app."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[OidcIdentity] = loop.create_future()
    pending: dict[str, Authorization] = {}
    # Browsers open connections they may never use; the sign-in's end closes them, so that
    # closing the listener does not wait on them.
    connections: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.add(writer)
        try:
            await answer(reader, writer)
        finally:
            connections.discard(writer)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            target = await asyncio.wait_for(_read_request_target(reader), HTTP_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            target = None
        if target is None or urlsplit(target).path != CALLBACK_PATH:
            await _answer(writer, "404 Not Found", "Not the sign-in's address.")
            return
        if outcome.done() or "authorization" not in pending:
            await _answer(writer, "409 Conflict", "This sign-in is already over.")
            return
        authorization = pending.pop("authorization")  # one shot: a second redirect is refused
        try:
            identity = await finish(settings, authorization, f"http://{host}:{port}{target}",
                                    http=http)
        except Refused as refusal:
            await _answer(writer, "400 Bad Request", f"Sign-in refused: {refusal}")
            if not outcome.done():
                outcome.set_exception(refusal)
            return
        except Exception as error:  # not a refusal: the caller sees it now, not at the timeout
            await _answer(writer, "500 Internal Server Error", "Sign-in failed.")
            if not outcome.done():
                outcome.set_exception(error)
            return
        await _answer(writer, "200 OK", "Signed in; you may close this window.")
        if not outcome.done():
            outcome.set_result(identity)

    host = "127.0.0.1"  # RFC 8252 8.3: the loopback IP, not "localhost", which may resolve away
    server = await asyncio.start_server(handle, host, 0, limit=_REQUEST_LIMIT)
    try:
        port = server.sockets[0].getsockname()[1]
        pending["authorization"] = await begin(
            settings, f"http://{host}:{port}{CALLBACK_PATH}", http=http
        )
        open_url(pending["authorization"].url)
        try:
            return await asyncio.wait_for(asyncio.shield(outcome), timeout)
        except TimeoutError:
            raise Refused(f"no sign-in came back within {timeout:g} seconds; "
                          "start again") from None
    finally:
        server.close()
        for writer in list(connections):
            writer.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
        if not outcome.done():
            outcome.cancel()
