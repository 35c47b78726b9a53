"""The corpus of bad input through the `transfers` CLI, by subject: request files (forms),
dates and windows, actions, documents. tests/e2e/bad_input/test_cli.py runs every case."""

from __future__ import annotations

from tests.e2e.bad_input.corpus import actions, dates_and_windows, documents, forms
from tests.support.bad_input import Case, unique

CORPUS: list[Case] = unique(
    [*forms.CASES, *dates_and_windows.CASES, *actions.CASES, *documents.CASES]
)
BY_ID = {case.id: case for case in CORPUS}
