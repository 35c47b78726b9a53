"""The lottery records (Rule 5110.1 VIII.B; docs/lottery.md "Audit and verification")."""

from __future__ import annotations

from sqlalchemy import Engine

from models.lottery_record import LotteryRecord
from store.records import load, save
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
    save(engine, LotteryRow, values, version="version")


def get_lottery(engine: Engine, lottery_id: str) -> LotteryRecord | None:
    return load(engine, LotteryRow.record, lottery_id, LotteryRecord)
