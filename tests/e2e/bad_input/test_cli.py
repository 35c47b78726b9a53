"""Every case of the corpus (tests/e2e/bad_input/corpus/: request files, dates and windows,
actions, documents) through the `transfers` CLI against the package's stack: it exits
non-zero with a message that names the problem, prints no traceback, and changes nothing (the
records store's every row, the stored documents, the set of workflows and the state and
history of the workflows it touches, compared before and after)."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.bad_input.corpus import BY_ID, CORPUS
from tests.support.bad_input import (
    Case,
    World,
    assert_refused,
    case_args,
    cli,
    snapshot,
    write_case,
)
from tests.support.e2e import BIN


@pytest.mark.e2e
@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_bad_input_is_refused_and_changes_nothing(world: World, case: Case) -> None:
    path = write_case(case, world)
    args = case_args(case, world, path)
    before = snapshot(world, case.touches)
    result = cli(*args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        "crashed", result.exception, result.stderr
    )
    assert_refused(case, result.exit_code, result.stderr)
    assert snapshot(world, case.touches) == before


@pytest.mark.e2e
@pytest.mark.parametrize("case_id", ["deeply-nested-json", "unknown-option", "pdf-that-is-text"])
def test_the_installed_command_refuses_the_same(world: World, case_id: str) -> None:
    """A few of the corpus through `.venv/bin/transfers` as its own process: the exit status
    and the message are the process's, not the test runner's."""
    case = BY_ID[case_id]
    path = write_case(case, world)
    before = snapshot(world, case.touches)
    result = subprocess.run([str(BIN / "transfers"), *case_args(case, world, path)], env=world.env,
                            capture_output=True, text=True, timeout=60)
    assert_refused(case, result.returncode, result.stderr)
    assert result.stdout == ""
    assert snapshot(world, case.touches) == before
