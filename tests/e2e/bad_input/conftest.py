"""One stack for the whole package: the corpus and the Updates act on the same requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.bad_input import World, open_world


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(tmp_path_factory.mktemp("bad-input")) as opened:
        yield opened
