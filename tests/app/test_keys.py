"""`transfers db rotate-key` (docs/cross-cutting.md "Proofs"): a new key signs from now on,
the old one is retired and still verifies what it signed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app import context
from cli.main import app
from infra.proofs import SigningKey
from store.secrets import proof_keys


def test_rotating_the_key_retires_the_old_one(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0  # the store, made
    old = context.signing_key()
    result = CliRunner().invoke(app, ["db", "rotate-key"])
    assert result.exit_code == 0, result.stderr
    new = context.signing_key()
    assert new.kid != old.kid
    assert f"signed with key {new.kid}" in result.stdout and f"{old.kid} is retired" \
        in result.stdout
    first, second = proof_keys(context.engine())
    assert SigningKey.from_seed(first.seed).kid == old.kid and first.retired_at is not None
    assert second.retired_at is None
