"""The browser tests skip without Chromium, saying so, but fail in CI, which installs it."""

from __future__ import annotations

import pytest

from tests.support.browser import chromium

NOWHERE = ("/nonexistent/chromium",)


def test_without_chromium_the_browser_tests_skip_locally_and_fail_in_ci(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSFERS_CHROMIUM", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        chromium(NOWHERE, "no-such-browser")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run them"):
        chromium(NOWHERE, "no-such-browser")
