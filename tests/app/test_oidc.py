"""Sign-in with an OpenID provider (app/oidc.py) against a real one: oidc-provider-mock as a
process (tests/support/oidc.py), a "browser" answering its form, and the client's side run as
the web console and the CLI will run it. What is forged is forged where an attacker would: in
the redirect, in the token endpoint's answer, or in the discovery document."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.errors import Refused
from app.oidc import Authorization, OidcSettings, begin, finish, sign_in_loopback
from tests.support.oidc import Browser, Provider, oidc_provider
from tests.support.ports import closed_port, is_open
from tests.support.waiting import eventually

CLIENT = "transfers-console"
# The mock's token endpoint takes only client_secret_basic/post (any secret; it has no PKCE,
# so no public clients): the console is a confidential client here.
SECRET = "console-secret"
# Never contacted: begin/finish are given the redirect the browser would have followed.
REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


@pytest.fixture
def settings(provider: Provider) -> OidcSettings:
    return OidcSettings(issuer=provider.issuer, client_id=CLIENT, client_secret=SECRET)


@pytest.fixture
def browser(provider: Provider) -> Browser:
    return Browser(provider)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**query(url), **changes})))


class Interposer(httpx.AsyncBaseTransport):
    """Passes every request to the provider and lets a test rewrite the JSON answer at one
    path: a token endpoint or discovery document that lies."""

    def __init__(self, path: str, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.path, self.rewrite = path, rewrite
        self.real = httpx.AsyncHTTPTransport()
        self.rewritten = 0

    async def aclose(self) -> None:
        await self.real.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.real.handle_async_request(request)
        if request.url.path != self.path:
            return response
        await response.aread()
        self.rewritten += 1
        body = json.dumps(self.rewrite(response.json())).encode()
        return httpx.Response(response.status_code, content=body,
                              headers={"content-type": "application/json"})


async def id_token_from(settings: OidcSettings, browser: Browser, *, nonce: str) -> str:
    """An ID token the provider really issued to ``settings``' client for a sign-in with this
    nonce: what an attacker could hold from another sign-in."""
    authorization = await begin(settings, REDIRECT)
    callback = browser.sign_in(with_query(authorization.url, nonce=nonce), "s-other",
                               "other@paramount.example")
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{settings.issuer}/oauth2/token", data={
            "grant_type": "authorization_code", "code": query(callback)["code"],
            "redirect_uri": REDIRECT,
        }, auth=(settings.client_id, SECRET))
    assert answer.status_code == 200, answer.text
    return answer.json()["id_token"]


async def finish_with_token(settings: OidcSettings, browser: Browser,
                            authorization: Authorization, id_token: str) -> None:
    """Finish a real sign-in, with the token endpoint's ID token swapped for ``id_token``."""
    callback = browser.sign_in(authorization.url, "s-avalos", "avalos@paramount.example")
    interposer = Interposer("/oauth2/token", lambda answer: {**answer, "id_token": id_token})
    try:
        async with httpx.AsyncClient(transport=interposer) as http:
            await finish(settings, authorization, callback, http=http)
    finally:
        assert interposer.rewritten == 1, "the token endpoint was not reached"


# ---- the flow ----------------------------------------------------------------------------


async def test_a_sign_in_returns_who_the_browser_signed_in_as(
    settings: OidcSettings, browser: Browser, provider: Provider
) -> None:
    authorization = await begin(settings, REDIRECT)
    sent = query(authorization.url)
    assert sent["client_id"] == CLIENT and sent["redirect_uri"] == REDIRECT
    assert sent["state"] == authorization.state and sent["nonce"] == authorization.nonce
    assert sent["code_challenge_method"] == "S256"
    assert sent["code_challenge"] == create_s256_code_challenge(authorization.code_verifier)
    assert "code_verifier" not in sent

    callback = browser.sign_in(authorization.url, "s-avalos", "avalos@paramount.example",
                               name="Maria Avalos")
    identity = await finish(settings, authorization, callback)

    assert identity.subject == "s-avalos"
    assert identity.email == "avalos@paramount.example"
    assert identity.email_verified is True
    assert identity.name == "Maria Avalos"
    assert identity.issuer == provider.issuer


async def test_an_unverified_email_is_returned_for_the_caller_to_weigh(
    settings: OidcSettings, browser: Browser
) -> None:
    authorization = await begin(settings, REDIRECT)
    callback = browser.sign_in(authorization.url, "s-new", "new@paramount.example",
                               email_verified=False)
    identity = await finish(settings, authorization, callback)
    assert (identity.email, identity.email_verified) == ("new@paramount.example", False)


async def test_a_tampered_state_is_refused(settings: OidcSettings, browser: Browser) -> None:
    authorization = await begin(settings, REDIRECT)
    callback = browser.sign_in(authorization.url, "s-avalos", "avalos@paramount.example")
    code = query(callback)["code"]
    with pytest.raises(Refused, match="state") as refused:
        await finish(settings, authorization, with_query(callback, state="forged"))
    assert code not in str(refused.value)
    # The untampered redirect still signs in: the refusal was the state's, not the code's.
    assert (await finish(settings, authorization, callback)).subject == "s-avalos"


async def test_the_providers_access_denied_is_refused(
    settings: OidcSettings, browser: Browser
) -> None:
    authorization = await begin(settings, REDIRECT)
    callback = browser.deny(authorization.url)
    assert query(callback)["error"] == "access_denied"
    with pytest.raises(Refused, match="refused the sign-in: access_denied"):
        await finish(settings, authorization, callback)


async def test_an_id_token_issued_to_another_client_is_refused(
    settings: OidcSettings, browser: Browser
) -> None:
    authorization = await begin(settings, REDIRECT)
    # Right issuer, key and nonce; only the audience is another client's.
    other = OidcSettings(issuer=settings.issuer, client_id="another-district-app",
                         client_secret=SECRET)
    foreign = await id_token_from(other, browser, nonce=authorization.nonce)
    with pytest.raises(Refused, match="issued to another client"):
        await finish_with_token(settings, browser, authorization, foreign)


async def test_an_id_token_from_another_issuer_is_refused(
    settings: OidcSettings, browser: Browser, provider: Provider
) -> None:
    authorization = await begin(settings, REDIRECT)
    # The same provider reached as localhost issues as another issuer, signing with the same
    # key: the signature verifies, so only the issuer check can refuse it.
    elsewhere = OidcSettings(issuer=f"http://localhost:{provider.port}", client_id=CLIENT,
                             client_secret=SECRET)
    foreign = await id_token_from(elsewhere, browser, nonce=authorization.nonce)
    assert jwt.decode(foreign, _keys(provider)).claims["iss"] != settings.issuer
    with pytest.raises(Refused, match="issued by another provider"):
        await finish_with_token(settings, browser, authorization, foreign)


def _keys(provider: Provider) -> Any:
    from joserfc.jwk import KeySet
    return KeySet.import_key_set(httpx.get(f"{provider.issuer}/jwks").json())


async def test_an_id_token_signed_with_another_key_is_refused(
    settings: OidcSettings, browser: Browser, provider: Provider
) -> None:
    authorization = await begin(settings, REDIRECT)
    genuine = await id_token_from(settings, browser, nonce=authorization.nonce)
    token = jwt.decode(genuine, _keys(provider))
    # The same claims and key id, signed with a key that is not the provider's.
    forged = jwt.encode(token.header, token.claims, RSAKey.generate_key(2048))
    with pytest.raises(Refused, match="signature does not verify"):
        await finish_with_token(settings, browser, authorization, forged)


async def test_an_id_token_for_another_sign_in_is_refused_by_its_nonce(
    settings: OidcSettings, browser: Browser
) -> None:
    authorization = await begin(settings, REDIRECT)
    replayed = await id_token_from(settings, browser, nonce="an-earlier-sign-in-nonce")
    with pytest.raises(Refused, match="nonce differs"):
        await finish_with_token(settings, browser, authorization, replayed)


async def test_an_expired_id_token_is_refused(settings: OidcSettings, browser: Browser) -> None:
    authorization = await begin(settings, REDIRECT)
    callback = browser.sign_in(authorization.url, "s-avalos", "avalos@paramount.example")
    # The mock's tokens live an hour; judged two hours on, past any clock skew allowed.
    with pytest.raises(Refused, match="expired"):
        await finish(settings, authorization, callback, clock=lambda: time.time() + 7200)


async def test_an_unreachable_provider_is_refused_with_its_address() -> None:
    address = f"127.0.0.1:{closed_port()}"
    settings = OidcSettings(issuer=f"http://{address}", client_id=CLIENT)
    with pytest.raises(Refused, match="cannot be reached") as refused:
        await begin(settings, REDIRECT)
    assert address in str(refused.value)


async def test_a_discovery_document_naming_another_issuer_is_refused(
    settings: OidcSettings,
) -> None:
    liar = Interposer("/.well-known/openid-configuration",
                      lambda document: {**document, "issuer": "https://evil.example"})
    async with httpx.AsyncClient(transport=liar) as http:
        with pytest.raises(Refused, match="names the issuer 'https://evil.example'"):
            await begin(settings, REDIRECT, http=http)
    assert liar.rewritten == 1


# ---- the CLI's loopback redirect ---------------------------------------------------------


async def test_the_loopback_sign_in_works_end_to_end(
    settings: OidcSettings, browser: Browser
) -> None:
    pages: list[httpx.Response] = []
    failures: list[BaseException] = []

    def person_at_the_browser(url: str) -> None:
        try:
            # A browser asks the listener for more than the callback; that ends nothing.
            listener = urlsplit(query(url)["redirect_uri"])
            pages.append(browser.follow(f"http://127.0.0.1:{listener.port}/favicon.ico"))
            callback = browser.sign_in(url, "s-nguyen", "nguyen@paramount.example")
            pages.append(browser.follow(callback))
        except BaseException as error:  # the test reports it, not the thread
            failures.append(error)

    def open_url(url: str) -> None:
        # A browser is another program: it must not hold the listener's event loop.
        threading.Thread(target=person_at_the_browser, args=(url,), daemon=True).start()

    identity = await sign_in_loopback(settings, open_url, timeout=30)

    assert (identity.subject, identity.email) == ("s-nguyen", "nguyen@paramount.example")
    await eventually(lambda: len(pages) == 2 or failures, what="the browser to get its pages",
                     seconds=30)
    assert not failures, failures
    assert pages[0].status_code == 404
    assert pages[1].status_code == 200
    assert "signed in; you may close this window" in pages[1].text.lower()


async def test_a_loopback_sign_in_the_person_denies_is_refused_in_both_places(
    settings: OidcSettings, browser: Browser
) -> None:
    pages: list[httpx.Response] = []

    def open_url(url: str) -> None:
        threading.Thread(target=lambda: pages.append(browser.follow(browser.deny(url))),
                         daemon=True).start()

    with pytest.raises(Refused, match="access_denied"):
        await sign_in_loopback(settings, open_url, timeout=30)
    await eventually(lambda: pages, what="the browser to get its page", seconds=30)
    assert pages[0].status_code == 400
    assert "sign-in refused" in pages[0].text.lower() and "access_denied" in pages[0].text


async def test_a_loopback_sign_in_nobody_completes_times_out(settings: OidcSettings) -> None:
    opened: list[str] = []
    with pytest.raises(Refused, match="no sign-in came back within 0.5 seconds"):
        await sign_in_loopback(settings, opened.append, timeout=0.5)
    redirect = urlsplit(query(opened[0])["redirect_uri"])
    assert redirect.hostname == "127.0.0.1"
    assert redirect.port is not None and not is_open(redirect.port), "the listener stayed open"


# ---- settings ----------------------------------------------------------------------------


def test_settings_come_from_the_environment() -> None:
    assert OidcSettings.from_environment({}) is None
    settings = OidcSettings.from_environment({
        "TRANSFERS_OIDC_ISSUER": "https://accounts.google.com",
        "TRANSFERS_OIDC_CLIENT_ID": "abc.apps.googleusercontent.com",
        "TRANSFERS_OIDC_CLIENT_SECRET": "s3cret-value",
    })
    assert settings is not None
    assert (settings.issuer, settings.client_id, settings.client_secret, settings.scopes) == (
        "https://accounts.google.com", "abc.apps.googleusercontent.com", "s3cret-value",
        "openid email profile",
    )
    assert "s3cret-value" not in repr(settings)


@pytest.mark.parametrize(("environment", "named"), [
    ({"TRANSFERS_OIDC_ISSUER": "https://login.example"}, "TRANSFERS_OIDC_CLIENT_ID"),
    ({"TRANSFERS_OIDC_CLIENT_ID": "abc"}, "TRANSFERS_OIDC_ISSUER"),
    ({"TRANSFERS_OIDC_CLIENT_SECRET": "x"}, "TRANSFERS_OIDC_ISSUER"),
    ({"TRANSFERS_OIDC_ISSUER": "http://login.example", "TRANSFERS_OIDC_CLIENT_ID": "abc"},
     "TRANSFERS_OIDC_ISSUER"),
])
def test_half_a_configuration_names_what_is_missing(environment: dict[str, str],
                                                    named: str) -> None:
    with pytest.raises(ValueError, match=named):
        OidcSettings.from_environment(environment)
