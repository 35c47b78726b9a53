"""Random request files (random JSON and TOML values, random bytes, mutations of the
examples) fed to `transfers submit`: a refusal or a submission, never a crash.

Without a Temporal server (TEMPORAL_ADDRESS is a closed port) and with an empty records store:
a form that passes every intake check ends with "cannot reach Temporal" (exit 1), so every
file goes the whole way through the CLI's parsing and checks, and nothing is started."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.bad_input import EXAMPLES, cli
from tests.support.ports import closed_port

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)
FORMS = {
    "request-out.json": json.loads((EXAMPLES / "request-out.json").read_text()),
    "within-request.json": json.loads((EXAMPLES / "within-request.json").read_text()),
    "request-into.toml": tomllib.loads((EXAMPLES / "request-into.toml").read_text()),
}
PLAUSIBLE = [0, 1, 5, 9, 12, 13, -1, True, False, "2025-2026", "2026-2027", "2027-2028",
             "2028-2029", "2099-2100", "paramount", "millard", "into", "out", "keppel",
             "norris-elementary", "abbott-elementary", "north-high", "nowhere", "regular", "ib",
             "core", "montessori", "attendance_area", "non_resident", "option_enrollment",
             "grandparent", "legal_custodian", "moving", "bullying", "sibling", "es", "safety",
             "a@example.org"]
NAMES = ["district", "school_year", "student", "parent", "grade", "id", "direction", "reason",
         "school", "program", "residency", "relationship", "email", "home_school"]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a form (nested objects and lists)."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ()
    )
    for key, inner in items:
        found.append((*at, key))
        found += _paths(inner, (*at, key))
    return found


@st.composite
def mutated_form(draw: st.DrawFn) -> tuple[str, bytes]:
    """An example form with a few of its fields dropped, retyped or replaced."""
    import copy

    name = draw(st.sampled_from(sorted(FORMS)))
    form = copy.deepcopy(FORMS[name])
    for _ in range(draw(st.integers(1, 2))):
        paths = _paths(form)
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent: Any = form
        for step in parent_path:
            parent = parent[step]
        action = draw(st.sampled_from(["drop", "value", "string", "rename", *["plausible"] * 4]))
        if action == "drop" and isinstance(parent, dict):
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(NAMES))] = parent.pop(key)
        elif action == "plausible":  # a value of the right kind, often not the right one
            parent[key] = draw(st.sampled_from(PLAUSIBLE))
        elif action == "string":
            parent[key] = draw(st.text(max_size=30) | st.sampled_from(
                ["", "2027-02-30", "../../etc/passwd", "x" * 5000, "13", "-1", "paramount",
                 "millard", "into", "out"]))
        else:
            parent[key] = draw(JSON_VALUES)
    return ".json", json.dumps(form).encode()


def _toml_text() -> st.SearchStrategy[str]:
    lines = st.sampled_from(
        ['district = "paramount"', 'district = "millard"', 'school_year = "2026-2027"',
         "school_year = 2026-02-30", "[student]", "grade = 4", 'grade = "ten"', "[parent]",
         'direction = "out"', 'reason = "moving"', "[[student]]", "grade = ", "x = [[[",
         'id = "S1"'],
    ) | st.text(max_size=30)
    return st.lists(lines, max_size=12).map("\n".join)


RANDOM_FILES = st.one_of(
    st.tuples(st.just(".json"), st.binary(max_size=200)),
    st.tuples(st.just(".toml"), st.binary(max_size=200)),
    st.tuples(st.just(".json"), JSON_VALUES.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just(".json"), st.text(max_size=100).map(str.encode)),
    st.tuples(st.just(".toml"), _toml_text().map(str.encode)),
)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The CLI's environment without a Temporal server; a folder for the files."""
    tmp = tmp_path_factory.mktemp("random-forms")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFERS_DATA_DIR", str(tmp / "data"))
        patch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{closed_port()}")
        patch.delenv("TRANSFERS_DISTRICTS_DIR", raising=False)
        patch.delenv("TRANSFERS_DATABASE_URL", raising=False)
        yield tmp


def _submit_never_crashes(folder: Path, suffix: str, content: bytes, actor: str) -> None:
    """`transfers submit FILE`: a refusal (exit 1, "error: ..."), a usage error (2) or a
    submission (0), never an exception escaping the CLI."""
    path = folder / f"form{suffix}"
    path.write_bytes(content)
    result = cli("submit", str(path), "--actor", actor)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        content[:300], repr(result.exception), result.stderr
    )
    assert result.exit_code in {0, 1, 2}, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 1:
        assert result.stderr.startswith("error: "), result.stderr
    words = result.stderr.replace(str(path), "FILE").split()
    event(" ".join(words[:4]))  # how far the files got (--hypothesis-show-statistics)


ACTORS = st.sampled_from(["avalos", "olsen", "nobody"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=RANDOM_FILES, actor=ACTORS)
def test_random_request_files_never_crash_the_cli(offline: Path, file: tuple[str, bytes],
                                                  actor: str) -> None:
    _submit_never_crashes(offline, *file, actor)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=mutated_form(), actor=ACTORS)
def test_mutated_example_forms_never_crash_the_cli(offline: Path, file: tuple[str, bytes],
                                                   actor: str) -> None:
    _submit_never_crashes(offline, *file, actor)
