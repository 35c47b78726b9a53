"""The browser tests' parts: Debian's Chromium driven by Playwright (Playwright's own browser
download does not work here), the console and the portal served by `transfers web` and
`transfers portal` as processes of their own, axe-core (shipped inside axe-playwright-python)
run on a page, and what a keyboard user and a phone's screen are.

Without Chromium the browser tests skip, saying so; with ``CI`` set they fail instead: CI
installs Chromium (.ci/run), so its absence there is a broken setup, not a reason to pass."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.e2e import BIN
from tests.support.ports import free_port, is_open
from tests.support.servers import stop_process
from tests.support.signin import code_in, outbox_messages
from tests.support.waiting import until

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
EXPECT_TIMEOUT = 60_000  # milliseconds: a ceiling on a busy machine, not a wait


def chromium(candidates: Sequence[str] = CHROMIUM_CANDIDATES, command: str = "chromium") -> str:
    """Debian's Chromium (``TRANSFERS_CHROMIUM``, one of ``candidates``, or ``command`` on the
    PATH); a skip without it, a failure in CI."""
    found = os.environ.get("TRANSFERS_CHROMIUM") or next(
        (path for path in candidates if Path(path).exists()), None
    ) or shutil.which(command)
    if found is None:
        message = ("Chromium is not installed (apt-get install chromium): the browser tests "
                   "need Debian's Chromium")
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run them")
        pytest.skip(message)
    return found


@contextlib.contextmanager
def launched() -> Iterator[Browser]:
    """Debian's Chromium, through Playwright, until exit."""
    executable = chromium()
    expect.set_options(timeout=EXPECT_TIMEOUT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def console_environment(env: Mapping[str, str]) -> dict[str, str]:
    """A stack's environment for the console: no SMTP, so sign-in codes go to the outbox, as
    in `make run`."""
    return {name: value for name, value in env.items()
            if name not in ("TRANSFERS_SMTP_HOST", "TRANSFERS_SMTP_PORT")}


@contextlib.contextmanager
def front(command: str, env: Mapping[str, str], log: Path, *options: str) -> Iterator[str]:
    """`transfers <command> [options]` (``web``: the console, ``portal``: the parent portal)
    on a free port until exit, its sign-in codes to the outbox; yields its address."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "transfers"), command, "--port", str(port), *options],
            env=console_environment(env), stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def listening() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"transfers {command} exited ({process.returncode}): "
                                 f"{log.read_text(errors='replace')[-3000:]}")
        return is_open(port)

    try:
        until(f"transfers {command} to listen", listening, every=0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def console(env: Mapping[str, str], log: Path) -> contextlib.AbstractContextManager[str]:
    """`transfers web` on a free port until exit; yields its address."""
    return front("web", env, log)


def portal(env: Mapping[str, str], log: Path) -> contextlib.AbstractContextManager[str]:
    """`transfers portal` on a free port until exit; yields its address."""
    return front("portal", env, log)


PHONE = {"width": 375, "height": 740}  # a small phone's screen, in CSS pixels


def tab_to(page: Page, selector: str, tries: int = 40) -> None:
    """Tab until ``selector`` has the focus (as a keyboard user would), at most ``tries``."""
    for _ in range(tries):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def fits(page: Page) -> None:
    """The page does not scroll sideways on the phone's screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width} px"


def outbox_code(data_dir: Path, address: str) -> str:
    """The newest sign-in code the outbox holds for ``address``, once it is there."""
    outbox = data_dir / "outbox"

    def found() -> str | None:
        try:
            return code_in(outbox_messages(outbox), address)
        except AssertionError:
            return None

    return until(f"a sign-in code for {address} in {outbox}", found, every=0.1)


def no_violations(page: object) -> None:
    """axe-core on the page as it is: no WCAG 2.0/2.1 A or AA violation (nor a best
    practice's)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, (
        f"axe-core on {page.url}:\n{results.generate_report()}"  # type: ignore[attr-defined]
    )
