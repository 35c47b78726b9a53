"""intake/forms: a request file is read only when it is a regular file of bounded size, and
a TOML key's depth is bounded before the parser sees it (its cost grows with the square)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.forms import MAX_FORM_BYTES, MAX_KEY_DEPTH, read_form
from rules.errors import PolicyError


def write(tmp_path: Path, text: str, suffix: str = ".toml") -> Path:
    path = tmp_path / f"form{suffix}"
    path.write_text(text)
    return path


def test_a_key_of_the_deepest_allowed_depth_parses_and_one_more_is_refused(
    tmp_path: Path,
) -> None:
    deepest = ".".join(["a"] * MAX_KEY_DEPTH)
    assert read_form(write(tmp_path, f"{deepest} = 1\n"))
    with pytest.raises(PolicyError, match=f"nested more than {MAX_KEY_DEPTH} deep"):
        read_form(write(tmp_path, f"{deepest}.a = 1\n"))
    with pytest.raises(PolicyError, match=f"nested more than {MAX_KEY_DEPTH} deep"):
        read_form(write(tmp_path, f"[{deepest}.a]\nb = 1\n"))


def test_dots_in_a_value_are_not_a_key(tmp_path: Path) -> None:
    text = 'details = "' + "a sentence. " * 100 + '"\nnote = """\n' + "x." * 100 + "\n\"\"\"\n"
    form = read_form(write(tmp_path, text))
    assert isinstance(form, dict) and form["details"].startswith("a sentence.")


def test_a_long_dotted_key_is_refused_at_once(tmp_path: Path) -> None:
    # 80 KB, 41 s in the parser: the refusal names the depth, which only the check before
    # the parser does
    path = write(tmp_path, "a" + ".a" * 40_000 + " = 1\n")
    with pytest.raises(PolicyError, match="nested more than"):
        read_form(path)


def test_a_request_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "form.json"
    with path.open("wb") as file:
        file.truncate(MAX_FORM_BYTES + 1)  # sparse: refused by its size
    with pytest.raises(PolicyError, match=f"larger than {MAX_FORM_BYTES} bytes"):
        read_form(path)
    path.write_text('{"district": "x"}' + " " * (MAX_FORM_BYTES - 17))
    assert read_form(path) == {"district": "x"}  # exactly the limit is read
