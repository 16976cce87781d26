"""Runtime settings that admins change from the chat (stored as JSON values)."""

from __future__ import annotations

import json

from storage.db import Database, to_db_time, utcnow


class SettingsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str, default: object = None) -> object:
        row = await self.db.fetchone("SELECT value FROM settings WHERE key = :key", {"key": key})
        return json.loads(row.value) if row else default

    async def set(self, key: str, value: object, *, by: int | None) -> None:
        await self.db.execute(
            """
            INSERT INTO settings (key, value, updated_at, updated_by)
            VALUES (:key, :value, :now, :by)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                updated_at = excluded.updated_at, updated_by = excluded.updated_by
            """,
            {
                "key": key,
                "value": json.dumps(value, ensure_ascii=False),
                "now": to_db_time(utcnow()),
                "by": by,
            },
        )
