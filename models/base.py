"""The base of the project's models: their validators are built when first used, not when
their module is imported.

A command reads one kind of record; importing `models` built the validators of all seventy
(0.1 s of the 0.7 s a `transfers show` took, bench/cli_startup.py). Workers build them all
before the first workflow runs (`build_all`, from `worker.workflow_runner`), so no validator
is ever built inside workflow code."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


def build_all() -> int:
    """Build the validator of every model defined so far; how many were built."""
    built, pending = 0, list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if not model.__pydantic_complete__ and model.model_rebuild() is not None:
            built += 1
    return built
