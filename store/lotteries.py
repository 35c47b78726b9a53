"""The lottery records (Rule 5110.1 VIII.B; docs/lottery.md "Audit and verification")."""

from __future__ import annotations

from sqlalchemy import Engine, select

from models.lottery_record import LotteryRecord
from store.records import upsert
from store.schema import LotteryRow


def save_lottery(engine: Engine, record: LotteryRecord) -> None:
    """Upsert; an older version (a retried write) never replaces a newer one."""
    values = {
        "id": record.id,
        "district": record.district_id,
        "school_year": record.school_year,
        "stage": record.stage.value,
        "version": len(record.history),
        "record": record.model_dump(mode="json"),
    }
    with engine.begin() as connection:
        upsert(connection, LotteryRow, values, version="version")


def get_lottery(engine: Engine, lottery_id: str) -> LotteryRecord | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(LotteryRow.record).where(LotteryRow.id == lottery_id)
        ).scalar_one_or_none()
    return LotteryRecord.model_validate(row) if row is not None else None
