"""Where the data folder is: one answer for the settings and for the key file beside them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from infra.config_file import with_config

DEFAULT_DATA_DIR = ".transfers"  # in the current folder, when nothing names another


def data_dir_of(environ: Mapping[str, str] = os.environ) -> Path:
    """The data folder, absolute: ``TRANSFERS_DATA_DIR``, else the user's settings file's
    ``data_dir`` (`infra.config_file`), else ``./.transfers``."""
    named = environ.get("TRANSFERS_DATA_DIR") or with_config(environ).get("TRANSFERS_DATA_DIR")
    return Path(named or DEFAULT_DATA_DIR).resolve()
