"""A real OpenID provider for the sign-in tests: oidc-provider-mock as a process of its own on
a free loopback port, and a "browser" (httpx) that opens an authorization URL and answers the
provider's form as a given person.

The mock accepts any client id without registration (its default; `--require-registration`
off), so a test names its client freely; it requires a nonce (`--require-nonce true`), so a
sign-in that forgot one fails. It has no PKCE (it ignores the challenge) and signs with one RSA
key of its own per process. Its issuer is the address it was reached at, so the same process
reached as ``localhost`` is, to a client, another issuer with the same key."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.ports import free_port
from tests.support.servers import start_process, stop_process
from tests.support.waiting import until


@dataclass(frozen=True)
class Provider:
    issuer: str
    port: int
    process: subprocess.Popen
    log: Path

    def discovery_answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"oidc-provider-mock exited ({self.process.returncode}): "
                f"{self.log.read_text(errors='replace')[-2000:]}"
            )
        try:
            response = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("issuer") == self.issuer


@contextlib.contextmanager
def oidc_provider() -> Iterator[Provider]:
    """oidc-provider-mock on 127.0.0.1 until exit; yields once its discovery answers."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="oidc-mock-") as folder:
        log = Path(folder) / "provider.log"
        with log.open("wb") as output:
            process = start_process(
                [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1",
                 "--port", str(port), "--require-nonce", "true"],
                stdout=output, stderr=subprocess.STDOUT,
            )
        provider = Provider(f"http://127.0.0.1:{port}", port, process, log)
        try:
            until("oidc-provider-mock's discovery to answer", provider.discovery_answers,
                  every=0.1)
            yield provider
        finally:
            stop_process(process)


class Browser:
    """What a person's browser does at the provider: open the authorization URL, see the
    mock's form (a ``sub`` field, an Authorize button, a Deny button with ``action=deny``),
    and submit it. Redirects back to the client are returned, not followed, so a test decides
    what reaches the client."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def _form(self, http: httpx.Client, authorization_url: str) -> None:
        page = http.get(authorization_url)
        assert page.status_code == 200, f"authorization page: {page.status_code} {page.text:.500}"
        assert 'name="sub"' in page.text and 'value="deny"' in page.text, (
            f"the provider's authorization form has changed: {page.text:.500}"
        )

    def sign_in(self, authorization_url: str, sub: str, email: str, *,
                email_verified: bool = True, name: str | None = None) -> str:
        """Authorize as ``sub`` with these claims; the redirect URL the provider sends the
        browser to (the client's callback, with the code)."""
        claims: dict[str, object] = {"email": email, "email_verified": email_verified}
        if name is not None:
            claims["name"] = name
        with httpx.Client(timeout=10) as http:
            # The mock keeps users' claims by subject: PUT /users/<sub> sets them.
            answer = http.put(f"{self.provider.issuer}/users/{sub}", json=claims)
            assert answer.status_code == 204, f"setting the user: {answer.status_code}"
            self._form(http, authorization_url)
            return self._redirect(http.post(authorization_url, data={"sub": sub}))

    def deny(self, authorization_url: str) -> str:
        """Press Deny: the redirect URL, carrying error=access_denied."""
        with httpx.Client(timeout=10) as http:
            self._form(http, authorization_url)
            return self._redirect(http.post(authorization_url, data={"action": "deny"}))

    @staticmethod
    def _redirect(response: httpx.Response) -> str:
        assert response.status_code in (302, 303), (
            f"expected a redirect to the client: {response.status_code} {response.text:.500}"
        )
        return response.headers["location"]

    @staticmethod
    def follow(callback_url: str) -> httpx.Response:
        """Arrive at the client's callback (the loopback listener), as the browser would."""
        assert urlsplit(callback_url).hostname == "127.0.0.1", callback_url
        with httpx.Client(timeout=30) as http:
            return http.get(callback_url)
