"""What the encryption tests share: a district's key, and a time-skipping server whose client
encrypts with it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from infra.codec import data_converter
from tests.support.servers import time_skipping_server

KEY = base64.b64encode(bytes(range(7, 39))).decode()
KEYS = {"TRANSFERS_ENCRYPTION_KEYS": f"district-2026:{KEY}"}


@pytest.fixture
async def encrypted_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server(data_converter(KEYS)) as environment:
        yield environment
