"""Rendering notices from their templates (``activities/templates/<kind>.txt``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

_env = Environment(
    loader=PackageLoader("activities", "templates"),
    undefined=StrictUndefined,  # a fact missing from a notice is a bug, never a blank
    keep_trailing_newline=True,
    autoescape=False,
)


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str


def render(kind: str, facts: dict[str, Any]) -> RenderedNotice:
    text = _env.get_template(f"{kind}.txt").render(**facts)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {kind}.txt must start with a Subject: line")
    return RenderedNotice(subject=first.removeprefix("Subject: ").strip(), body=body.lstrip("\n"))
