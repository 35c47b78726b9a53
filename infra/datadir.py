"""Where the data folder is: one answer for the settings and for the key file beside them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def data_dir_of(environ: Mapping[str, str] = os.environ) -> Path:
    """The data folder ``TRANSFERS_DATA_DIR`` names (default ``./.transfers``), absolute."""
    return Path(environ.get("TRANSFERS_DATA_DIR", ".transfers")).resolve()
