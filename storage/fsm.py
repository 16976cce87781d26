"""The wizards' state and data by key (the aiogram adapter is bot/fsm_storage.py).

A key with no state and no data has no row: a finished wizard leaves nothing behind.
"""

from __future__ import annotations

import json
from typing import Any

from storage.db import Database, to_db_time, utcnow

EMPTY = "{}"


class FsmRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def state(self, key: str) -> str | None:
        value = await self.db.scalar("SELECT state FROM fsm_states WHERE key = :key", {"key": key})
        return str(value) if value is not None else None

    async def data(self, key: str) -> dict[str, Any]:
        value = await self.db.scalar("SELECT data FROM fsm_states WHERE key = :key", {"key": key})
        loaded = json.loads(value) if value else {}
        return loaded if isinstance(loaded, dict) else {}

    async def set_state(self, key: str, state: str | None) -> None:
        await self._put(key, "state", state)

    async def set_data(self, key: str, data: dict[str, Any]) -> None:
        """``data`` must be JSON (what the wizards keep: ids, texts, ISO times)."""
        await self._put(key, "data", json.dumps(data, ensure_ascii=False) if data else EMPTY)

    async def _put(self, key: str, column: str, value: str | None) -> None:
        params = {"key": key, "value": value, "now": to_db_time(utcnow()), "empty": EMPTY}
        async with self.db.transaction() as tx:
            await tx.execute(
                f"""
                INSERT INTO fsm_states (key, {column}, updated_at) VALUES (:key, :value, :now)
                ON CONFLICT (key) DO UPDATE SET {column} = excluded.{column},
                    updated_at = excluded.updated_at
                """,
                params,
            )
            await tx.execute(
                "DELETE FROM fsm_states WHERE key = :key AND state IS NULL AND data = :empty",
                params,
            )
