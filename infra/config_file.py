"""The user's settings file, ``$XDG_CONFIG_HOME/transfers/config.toml`` (default
``~/.config/transfers/config.toml``): the settings a staff member's commands share whatever
folder they run in. `transfers dev` writes the absolute data folder it uses there, so a later
command from any folder finds the same records store (docs/cross-cutting.md "Settings").

Its keys are the environment's variables without ``TRANSFERS_``, in lower case (`KEYS`); a
variable that is set wins over the file. A file that is not TOML, holds an unknown key or a
value of the wrong type is refused with its path and the problem, never half-read."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

KEYS: dict[str, tuple[str, type]] = {
    "data_dir": ("TRANSFERS_DATA_DIR", Path),
    "database_url": ("TRANSFERS_DATABASE_URL", str),
    "districts_dir": ("TRANSFERS_DISTRICTS_DIR", Path),
    "smtp_host": ("TRANSFERS_SMTP_HOST", str),
    "smtp_port": ("TRANSFERS_SMTP_PORT", int),
    "task_queue": ("TRANSFERS_TASK_QUEUE", str),
}
"""What the file may say: its key, the variable it stands for, and its type (a path is a
string, absolute or beginning with ``~``)."""


class ConfigFileError(ValueError):
    """The settings file cannot be used; the message names it and the problem."""


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the file is: under ``XDG_CONFIG_HOME`` when it is an absolute path (the XDG Base
    Directory rule), else under ``~/.config``."""
    base = environ.get("XDG_CONFIG_HOME", "")
    if not base or not Path(base).is_absolute():
        base = str(Path(environ.get("HOME") or Path.home()) / ".config")
    return Path(base) / "transfers" / "config.toml"


def read_config(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The file's settings as the variables they stand for (``{"TRANSFERS_DATA_DIR": ...}``);
    empty when there is no file."""
    path = config_path(environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(f"{path}: cannot be read ({error})") from None
    try:
        found = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(f"{path}: not TOML ({error})") from None
    checked = {key: _checked(path, key, value) for key, value in found.items()}
    return {KEYS[key][0]: value for key, value in checked.items()}


def _checked(path: Path, key: str, value: object) -> str:
    if key not in KEYS:
        raise ConfigFileError(f"{path}: unknown setting {key!r} (known: {', '.join(KEYS)})")
    kind = KEYS[key][1]
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigFileError(f"{path}: {key} must be an integer, not {value!r}")
        return str(value)
    if not isinstance(value, str) or not value:
        raise ConfigFileError(f"{path}: {key} must be a non-empty string, not {value!r}")
    if kind is Path:
        # Relative to what? The file is read from any folder: refused rather than guessed.
        expanded = Path(value).expanduser()
        if not expanded.is_absolute():
            raise ConfigFileError(f"{path}: {key} must be an absolute path, not {value!r}")
        return str(expanded)
    return value


def with_config(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The settings' variables from the environment, else from the file: an empty variable
    counts as unset. The file is read only when a variable it may hold is unset."""
    given = {name: value for name, value in environ.items() if value}
    if all(variable in given for variable, _ in KEYS.values()):
        return given
    return {**read_config(environ), **given}


def remember_data_dir(data_dir: Path, environ: Mapping[str, str] = os.environ) -> str | None:
    """Write the absolute ``data_dir`` into the file (keeping its other settings), so later
    commands from any folder find it: what was done, in a sentence; None when the file says
    so already."""
    path = config_path(environ)
    found = read_config(environ)
    settings = {key: found[variable] for key, (variable, _) in KEYS.items() if variable in found}
    before = settings.get("data_dir")
    if before == str(data_dir.resolve()):
        return None
    settings["data_dir"] = str(data_dir.resolve())
    lines = ["# Settings of `transfers` for this user (docs/cross-cutting.md \"Settings\");",
             "# a TRANSFERS_* variable wins over its key. `transfers dev` wrote data_dir.", ""]
    lines += [f"{key} = {_toml(value, KEYS[key][1])}" for key, value in settings.items()]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    temporary.replace(path)  # whole or not at all: a reader never sees half a file
    was = f" (it said {before})" if before else ""
    return f"settings: {path} now names the data folder {data_dir.resolve()}{was}"


def _toml(value: str, kind: type) -> str:
    if kind is int:
        return value
    # A TOML basic string: quote, backslash and control characters escaped.
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else
        "\\" + c if c in '"\\' else c
        for c in value
    )
    return f'"{escaped}"'
