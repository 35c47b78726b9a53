"""Permit records: what `transfers permit list|show` read."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models.permits import PermitState
from store.records import load, save
from store.schema import PermitRow


def save_permit(engine: Engine, state: PermitState) -> None:
    """Upsert; a retried write of an older version never replaces a newer one."""
    values = {
        "id": state.id,
        "request_id": state.request_id,
        "district": state.district,
        "process": state.process.value,
        "school_year": state.school_year,
        "school": state.school,
        "condition": state.condition.value,
        "stage": state.stage.value,
        "is_active": state.is_active,
        "version": state.years * 1000 + len(state.events),
        "state": state.model_dump(mode="json"),
    }
    save(engine, PermitRow, values, version="version")


def get_permit(engine: Engine, permit_id: str) -> PermitState | None:
    return load(engine, PermitRow.state, permit_id, PermitState)


def list_permits(
    engine: Engine,
    district: str | None = None,
    school_year: str | None = None,
    school: str | None = None,
    condition: str | None = None,
    active_only: bool = False,
    limit: int = 1000,
) -> list[PermitRow]:
    query = select(PermitRow)
    if district:
        query = query.where(PermitRow.district == district)
    if school_year:
        query = query.where(PermitRow.school_year == school_year)
    if school:
        query = query.where(PermitRow.school == school)
    if condition:
        query = query.where(PermitRow.condition == condition)
    if active_only:
        query = query.where(PermitRow.is_active.is_(True))
    with Session(engine) as session:
        return list(session.scalars(query.order_by(PermitRow.id).limit(limit)))


def permit_ids(engine: Engine, district: str) -> list[str]:
    """Every permit id of ``district`` (a verification code is matched against them)."""
    with Session(engine) as session:
        return list(session.scalars(
            select(PermitRow.id).where(PermitRow.district == district).order_by(PermitRow.id)))
