"""District configurations: one TOML file per district, shipped here or in
``TRANSFERS_DISTRICTS_DIR``."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from models.district import DistrictConfig

SHIPPED_DIR = Path(__file__).parent


class UnknownDistrictError(LookupError):
    pass


def _search_dirs(extra: Path | None) -> list[Path]:
    return [d for d in (extra, SHIPPED_DIR) if d is not None]


def load_district(district_id: str, extra_dir: Path | None = None) -> DistrictConfig:
    if not district_id.replace("-", "").isalnum():
        raise UnknownDistrictError(f"unknown district {district_id!r}")
    for directory in _search_dirs(extra_dir):
        path = directory / f"{district_id}.toml"
        if path.is_file():
            try:
                config = DistrictConfig.model_validate(tomllib.loads(path.read_text()))
            except (tomllib.TOMLDecodeError, ValidationError) as error:
                raise ValueError(f"district file {path.name} is invalid: {error}") from error
            if config.id != district_id:
                raise ValueError(f"district file {path.name} declares id {config.id!r}")
            return config
    known = ", ".join(sorted(list_districts(extra_dir))) or "none"
    raise UnknownDistrictError(f"unknown district {district_id!r} (known: {known})")


def list_districts(extra_dir: Path | None = None) -> set[str]:
    return {p.stem for d in _search_dirs(extra_dir) for p in d.glob("*.toml")}
