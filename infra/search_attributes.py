"""Registering the search attributes (`models/search_attributes.py`) on a Temporal server:
``transfers dev`` passes `dev_server_flags` to its dev server, and the tests call `register`."""

from __future__ import annotations

from models.search_attributes import ATTRIBUTES


async def register(client: object) -> None:
    """Register the attributes on the client's namespace; those already there are kept."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.client import Client
    from temporalio.service import RPCError, RPCStatusCode

    assert isinstance(client, Client)
    kinds = {
        "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    existing: set[str] = set()
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as error:  # the time-skipping test server can add but not list
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
    missing = {name: kinds[kind] for name, kind in ATTRIBUTES.items() if name not in existing}
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    except RPCError as error:
        if error.status != RPCStatusCode.ALREADY_EXISTS:
            raise


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` flags that register the attributes at start."""
    pairs = (("--search-attribute", f"{name}={kind}") for name, kind in ATTRIBUTES.items())
    return [flag for pair in pairs for flag in pair]
