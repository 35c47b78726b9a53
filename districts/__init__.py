"""District configurations: one TOML file per district, shipped here or in
``TRANSFERS_DISTRICTS_DIR``."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from models.district import DistrictBase, DistrictConfig
from models.within_district_config import WithinDistrictConfig
from rules.agreements import check_agreements
from rules.errors import PolicyError

C = TypeVar("C", bound=DistrictBase)

SHIPPED_DIR = Path(__file__).parent


class UnknownDistrictError(LookupError):
    pass


def _search_dirs(extra: Path | None) -> list[Path]:
    return [d for d in (extra, SHIPPED_DIR) if d is not None]


def load_config(district_id: str, model: type[C], extra_dir: Path | None = None) -> C:
    """Read ``<district_id>.toml`` from ``extra_dir`` or the shipped folder as ``model``."""
    if not district_id.replace("-", "").isalnum():
        raise UnknownDistrictError(f"unknown district {district_id!r}")
    for directory in _search_dirs(extra_dir):
        path = directory / f"{district_id}.toml"
        if path.is_file():
            try:
                config = _parsed(path.read_text(), model)
            except ValueError as error:
                raise ValueError(f"district file {path.name} is invalid: {error}") from error
            if config.id != district_id:
                raise ValueError(f"district file {path.name} declares id {config.id!r}")
            return config
    known = ", ".join(sorted(list_districts(extra_dir))) or "none"
    raise UnknownDistrictError(f"unknown district {district_id!r} (known: {known})")


@lru_cache(maxsize=256)
def _parsed(text: str, model: type[C]) -> C:
    """A district file's text as ``model``, parsed once for each text: reading the file is
    cheap, parsing and checking it is not (the worker sent every notice after parsing every
    district's file, a quarter of its CPU on opening day, bench/portal.py). A text that is
    refused is not kept: it is refused again each time it is read. Callers share what is
    kept, and none changes it."""
    try:
        config = model.model_validate(tomllib.loads(text))
        if isinstance(config, DistrictConfig):
            check_agreements(config.agreements)  # EC 46600(a)(1): five years at most
    except (tomllib.TOMLDecodeError, ValidationError, PolicyError) as error:
        raise ValueError(str(error)) from error
    return config


def load_district(district_id: str, extra_dir: Path | None = None) -> DistrictConfig:
    return load_config(district_id, DistrictConfig, extra_dir)


def load_within_district(district_id: str, extra_dir: Path | None = None) -> WithinDistrictConfig:
    """The district's within-district configuration (seed 004, Rule 5110.1)."""
    return load_config(district_id, WithinDistrictConfig, extra_dir)


def list_districts(extra_dir: Path | None = None) -> set[str]:
    return {p.stem for d in _search_dirs(extra_dir) for p in d.glob("*.toml")}
