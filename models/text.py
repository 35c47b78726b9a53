"""Text a person typed, as the models accept it (docs/cross-cutting.md "Hostile text").

A name goes into a letter's subject and an e-mail header, a note into the audit trail and a
PDF of the file; a character that is not text there breaks a message (a carriage return in a
header), hides what a reader sees (a right-to-left override, a zero-width space), or cannot be
stored (NUL, on PostgreSQL). Such text is refused, naming the character, instead of being
cleaned: what staff and parents see is what was typed."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# Invisible characters that change how text reads or compares: the bidirectional controls
# (Unicode's Bidi_Control) and the zero-width ones.
INVISIBLE = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi
    "\u200b\u200c\u200d\u2060\ufeff"  # zero width
)
LINE_BREAKS = frozenset("\n\t")  # a note may run over lines; a name may not


def problem_in(value: str, lines: bool = False) -> str | None:
    """What is wrong with ``value`` as typed text (``lines``: it may run over lines), or
    None."""
    for char in value:
        if lines and char in LINE_BREAKS:
            continue
        category = unicodedata.category(char)
        if char in INVISIBLE or category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            name = unicodedata.name(char, "a control character")
            return f"contains U+{ord(char):04X} ({name.lower()}), which is not allowed"
    return None


def _checked(value: str, lines: bool) -> str:
    problem = problem_in(value, lines)
    if problem:
        raise ValueError(problem)
    if value and not value.strip():  # "" is an optional note left out; "   " is a mistake
        raise ValueError("is blank")
    return value


def _line(value: str) -> str:
    return _checked(value, lines=False)


def _text(value: str) -> str:
    return _checked(value, lines=True)


# One line of text: a name, a school, a district, a file name.
Line = Annotated[str, AfterValidator(_line)]
# Free text that may run over lines: a note, a reason, a recommendation's reasoning.
Text = Annotated[str, AfterValidator(_text)]
