"""Staff sign-in (issue "Trust", finding 5; docs/cross-cutting.md "Sign-in"): a one-time code
to the roster's address, once, for ten minutes, five wrong tries, three codes in fifteen
minutes; the district's OpenID Connect provider (a real one, as a process); sessions the
CLI keeps privately; and no command acting for anyone not signed in."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from app import context, signin
from app.errors import Refused
from cli.main import app
from store import sessions
from store.schema import SignInCode, StaffSession
from tests.support.databases import made_store
from tests.support.oidc import Browser, Provider, oidc_provider
from tests.support.signin import code_in, outbox_messages

NGUYEN = "nguyen@paramount.example.org"
runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path))
    for name in ("TRANSFERS_DATABASE_URL", "TRANSFERS_DISTRICTS_DIR", "TRANSFERS_SMTP_HOST",
                 "TRANSFERS_OIDC_ISSUER", "TRANSFERS_OIDC_CLIENT_ID",
                 "TRANSFERS_OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    made_store()  # as the worker makes it: signing in never does
    yield tmp_path


@pytest.fixture
def engine(data: Path) -> Engine:
    return context.engine()


def _sent_code(data: Path, address: str = NGUYEN) -> str:
    return code_in(outbox_messages(data / "outbox"), address)


def test_a_code_to_the_roster_address_signs_in_once(data: Path, engine: Engine) -> None:
    said = signin.send_code(NGUYEN.upper())  # the roster's address, whatever its case
    assert NGUYEN in said
    code = _sent_code(data)
    assert code not in said
    who = signin.redeem(NGUYEN, code)
    assert (who.name, who.email, who.subject) == ("nguyen", NGUYEN, f"code:{NGUYEN}")
    assert signin.signed_in() == who
    assert signin.signed_in("nguyen") == who
    kept = data / signin.SESSIONS_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    with pytest.raises(Refused, match="used already"):
        signin.redeem(NGUYEN, code)
    # The store holds neither the code nor the token: a copy of it signs no one in.
    with engine.connect() as connection:
        stored = [str(v) for row in connection.execute(select(SignInCode)).all() for v in row]
        stored += [str(v) for row in connection.execute(select(StaffSession)).all()
                   for v in row]
    assert code not in " ".join(stored)
    assert kept.read_text().split('"token": "')[1].split('"')[0] not in " ".join(stored)


def test_an_address_not_on_a_roster_gets_no_code(data: Path) -> None:
    with pytest.raises(Refused, match="not a staff address"):
        signin.send_code("mallory@example.com")
    assert not (data / "outbox").exists()
    with pytest.raises(Refused, match="not signed in"):
        signin.signed_in()


def test_five_wrong_codes_kill_the_code(data: Path) -> None:
    signin.send_code(NGUYEN)
    code = _sent_code(data)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(Refused, match=f"wrong code \\({left} tries left\\)"):
            signin.redeem(NGUYEN, wrong)
    with pytest.raises(Refused, match="too many wrong codes"):
        signin.redeem(NGUYEN, wrong)
    with pytest.raises(Refused, match="too many wrong codes"):
        signin.redeem(NGUYEN, code)  # the right one, too late


def test_a_code_expires_after_ten_minutes_and_a_session_after_the_day(engine: Engine) -> None:
    now = datetime(2027, 2, 15, 16, 0, tzinfo=UTC)
    code = sessions.issue_code(engine, NGUYEN, now)
    with pytest.raises(sessions.SignInError, match="expired"):
        sessions.redeem_code(engine, NGUYEN, code, now + sessions.CODE_LIFETIME)
    code = sessions.issue_code(engine, NGUYEN, now)
    sessions.redeem_code(engine, NGUYEN, code, now + sessions.CODE_LIFETIME
                         - timedelta(seconds=1))
    token = sessions.open_session(engine, NGUYEN, "code", f"code:{NGUYEN}", now)
    last = now + sessions.SESSION_LIFETIME - timedelta(seconds=1)
    assert sessions.session_of(engine, token, last) is not None
    assert sessions.session_of(engine, token, now + sessions.SESSION_LIFETIME) is None


def test_three_codes_in_fifteen_minutes_then_a_wait(engine: Engine) -> None:
    now = datetime(2027, 2, 15, 16, 0, tzinfo=UTC)
    for minute in range(3):
        sessions.issue_code(engine, NGUYEN, now + timedelta(minutes=minute))
    with pytest.raises(sessions.SignInError, match="3 codes were sent"):
        sessions.issue_code(engine, NGUYEN, now + timedelta(minutes=14))
    sessions.issue_code(engine, NGUYEN, now + timedelta(minutes=15, seconds=1))


def test_the_cli_acts_only_for_who_signed_in_and_signs_out(data: Path) -> None:
    refused = runner.invoke(app, ["show", "nope"])
    assert refused.exit_code == 1 and "not signed in" in refused.stderr
    signin.send_code(NGUYEN)
    signed = runner.invoke(app, ["login", NGUYEN, "--code", _sent_code(data)])
    assert signed.exit_code == 0, signed.stderr
    assert "signed in as nguyen" in signed.stdout
    shown = runner.invoke(app, ["show", "nope"])
    assert shown.exit_code == 1 and "no request 'nope'" in shown.stderr  # past the door
    other = runner.invoke(app, ["withdraw", "nope", "--actor", "avalos"])
    assert "not signed in as avalos" in other.stderr
    assert "signed out " + NGUYEN in runner.invoke(app, ["logout"]).stdout
    assert "not signed in" in runner.invoke(app, ["show", "nope"]).stderr


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


def _with_provider(monkeypatch: pytest.MonkeyPatch, provider: Provider) -> None:
    monkeypatch.setenv("TRANSFERS_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("TRANSFERS_OIDC_CLIENT_ID", "transfers-cli")
    monkeypatch.setenv("TRANSFERS_OIDC_CLIENT_SECRET", "not-a-secret")


def _browser_signing_in(provider: Provider, sub: str, email: str, verified: bool = True):
    browser = Browser(provider)

    def open_url(url: str) -> None:
        def person() -> None:
            browser.follow(browser.sign_in(url, sub, email, email_verified=verified))

        threading.Thread(target=person, daemon=True).start()

    return open_url


async def test_the_districts_provider_signs_in_a_roster_address(
    data: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_provider(monkeypatch, provider)
    who = await signin.sign_in_with_provider(
        _browser_signing_in(provider, "s-nguyen", NGUYEN))
    assert (who.name, who.email) == ("nguyen", NGUYEN)
    assert who.subject == f"oidc:{provider.issuer}#s-nguyen"
    assert signin.signed_in() == who


async def test_the_provider_cannot_sign_in_a_stranger_or_an_unverified_address(
    data: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_provider(monkeypatch, provider)
    with pytest.raises(Refused, match="not a staff address"):
        await signin.sign_in_with_provider(
            _browser_signing_in(provider, "s-mallory", "mallory@example.com"))
    with pytest.raises(Refused, match="did not vouch"):
        await signin.sign_in_with_provider(
            _browser_signing_in(provider, "s-nguyen", NGUYEN, verified=False))
    with pytest.raises(Refused, match="not signed in"):
        signin.signed_in()


def test_no_provider_set_says_so(data: Path) -> None:
    result = runner.invoke(app, ["login", "--oidc"])
    assert result.exit_code == 1 and "TRANSFERS_OIDC_ISSUER" in result.stderr


def test_the_outbox_is_private_whoever_writes_it(data: Path) -> None:
    previous = os.umask(0o022)  # a process that did not close its umask
    try:
        signin.send_code(NGUYEN)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((data / "outbox").stat().st_mode) == 0o700
    for path in (data / "outbox").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

