"""The parent portal in process (Starlette's TestClient): a front of its own, in the
parent's language, that never takes a staff member's session for a parent's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.console import portal_client, signed_in, use_own_store
from web.security import PORTAL_SESSION_COOKIE, SESSION_COOKIE

AVALOS = "avalos@paramount.example.org"


@pytest.fixture(autouse=True)
def own_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)


def test_the_home_page_speaks_the_parents_language() -> None:
    with portal_client() as http:
        english = http.get("/")
        assert english.status_code == 200 and "School transfer requests" in english.text
        assert "staff console" not in english.text
        spanish = http.get("/", headers={"accept-language": "es-MX,es;q=0.9"})
        assert "Solicitudes de traslado escolar" in spanish.text
        assert '<html lang="es">' in spanish.text


def test_a_page_not_found_is_the_portals_own() -> None:
    with portal_client() as http:
        missing = http.get("/no-such-page")
        assert missing.status_code == 404
        assert "School transfer requests" in missing.text
        assert "Transfers staff console" not in missing.text
        assert missing.headers["x-frame-options"] == "DENY"


def test_a_staff_session_is_not_a_parents() -> None:
    """A staff token, under the console's cookie or the portal's, signs nobody in here."""
    with signed_in(AVALOS) as console:
        staff_token = console.cookies.get(SESSION_COOKIE)
        assert staff_token
    for cookie in (SESSION_COOKIE, PORTAL_SESSION_COOKIE):
        with portal_client() as http:
            # The cookie jar knows TestClient's host as testserver.local.
            http.cookies.set(cookie, staff_token, domain="testserver.local")
            mine = http.get("/requests")
            assert mine.status_code == 303 and mine.headers["location"].startswith("/signin")
