"""A request form as a person or a system sends it: read from a .json or .toml file, and
checked against its model, naming every field that is wrong and refusing keys the form has no
field for. Nothing is started or written here."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from rules.errors import PolicyError

M = TypeVar("M", bound=BaseModel)


MAX_FORM_BYTES = 8 * 1024 * 1024  # a form is a few kilobytes; this only keeps memory bounded
# TOML's dotted keys cost the parser time that grows with the square of their depth (a 80 KB
# key took 41 s); a form's keys are two or three deep.
MAX_KEY_DEPTH = 16


def read_text(path: Path, what: str, limit: int) -> str:
    """The text of the UTF-8 file a person named, if it is at most ``limit`` bytes (checked
    before reading); one that cannot be read is refused, naming it as ``what`` (a request
    file, a lottery record)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a folder; /dev/zero, which never ends
            raise PolicyError(f"cannot read {what} {path}: not a regular file")
        if info.st_size > limit:
            raise PolicyError(f"{what} {path.name} is larger than {limit} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"cannot read {what} {path}: {error}") from error


def read_form(path: Path) -> object:
    """The fields of a request form in a .json or .toml file."""
    text = read_text(path, "request file", MAX_FORM_BYTES)
    toml = path.suffix == ".toml"
    if toml and _deepest_key(text) > MAX_KEY_DEPTH:
        raise PolicyError(f"request file {path.name} is malformed: a key nested more than "
                          f"{MAX_KEY_DEPTH} deep")
    try:
        data = tomllib.loads(text) if toml else json.loads(text)
    except ValueError as error:  # the decoders' errors, and an integer of over 4300 digits
        raise PolicyError(f"request file {path.name} is malformed: {error}") from error
    except RecursionError:
        raise PolicyError(f"request file {path.name} is malformed: nested too deeply") from None
    return data


def _deepest_key(text: str) -> int:
    """How many parts the longest dotted key or table header of a TOML text has, counted on
    each line that holds a key (``a.b.c = 1``, ``[a.b.c]``); a value's dots are not counted."""
    deepest = 0
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("["):
            key = stripped.split("]", 1)[0]
        elif "=" in stripped:
            key = stripped.split("=", 1)[0]
        else:
            continue
        deepest = max(deepest, key.count(".") + 1)
    return deepest


def validate_form(model: type[M], data: object, source: str = "request") -> M:
    """``data`` as ``model``; the error names every field that is wrong."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source} must be an object with the request's fields")
    # Pydantic ignores keys it does not know: a misspelled optional field (a preferred
    # school, a sibling) would be dropped without a word. The form is refused instead.
    unknown = unknown_fields(model, data)
    if unknown:
        raise PolicyError(
            f"{source} is invalid: "
            + "; ".join(f"{name}: not a field of the form" for name in unknown)
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
            for e in error.errors()
        )
        raise PolicyError(f"{source} is invalid: {problems}") from None


def unknown_fields(model: type[BaseModel], data: dict[Any, Any], at: str = "") -> list[str]:
    """The keys of ``data`` (and of its nested forms) that ``model`` has no field for,
    dotted like pydantic's error locations."""
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    unknown: list[str] = []
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            unknown.append(f"{at}{key}")
            continue
        nested = _form_model(field.annotation)
        if nested is not None and isinstance(value, dict):
            unknown += unknown_fields(nested, value, f"{at}{key}.")
    return unknown


def _form_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``Student``, ``Parent | None``), if it holds one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _form_model(argument)
        if found is not None:
            return found
    return None
