"""The search attributes every process keeps current (names and types): where a request
stands, whose it is, and what is due. No student data goes in them: Temporal's visibility
store is not encrypted (``infra/codec.py`` encrypts payloads only).

`workflows/common/attributes.py` keeps them current; `infra/search_attributes.py` registers
them on a server; the compose stack creates them from `ATTRIBUTES`."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("TransferStage")
DISTRICT = SearchAttributeKey.for_keyword("TransferDistrict")
SCHOOL_YEAR = SearchAttributeKey.for_keyword("TransferSchoolYear")  # e.g. "2027-2028"
DECISION_DUE = SearchAttributeKey.for_datetime("TransferDecisionDue")

ATTRIBUTES: dict[str, str] = {
    STAGE.name: "Keyword",
    DISTRICT.name: "Keyword",
    SCHOOL_YEAR.name: "Keyword",
    DECISION_DUE.name: "Datetime",
}
"""Name -> the type as ``temporal operator search-attribute create --type`` spells it."""
