"""Values of the settings registry (bot/settings) set from the chat: one row per setting and
place — chat 0 for a GLOBAL setting, else a chat and its topic (thread 0: the whole chat).

Values are JSON in the setting's kind's form; storage does not know the kinds. Reads are
remembered while this process is the database's only writer (SQLite) and nothing was committed
since; on PostgreSQL every read goes to the database (another process may have changed it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Transaction, from_db_time, to_db_time, utcnow

GLOBAL_CHAT = 0  # the chat id of a GLOBAL setting's row (no Telegram chat has id 0)

_KEY = "name = :name AND chat_id = :chat_id AND thread_id = :thread_id"


@dataclass(frozen=True)
class StoredValue:
    value: object  # the JSON value
    set_by: int | None
    set_at: datetime | None  # None: kept where the time is not (chat_prefs)


class SettingValuesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._remembered: dict[tuple[str, int, int], StoredValue | None] = {}
        self._as_of = -1

    async def get(
        self, name: str, chat_id: int = GLOBAL_CHAT, thread_id: int = 0
    ) -> StoredValue | None:
        key = (name, chat_id, thread_id)
        changes = self.db.changes  # what may be remembered (storage/changes.py)
        as_of = changes.generation
        if self._as_of != as_of:
            self._remembered.clear()
            self._as_of = as_of
        if key in self._remembered:
            return self._remembered[key]
        row = await self.db.fetchone(
            f"SELECT value, set_by, set_at FROM setting_values WHERE {_KEY}",
            {"name": name, "chat_id": chat_id, "thread_id": thread_id},
        )
        found = (
            StoredValue(json.loads(row.value), row.set_by, from_db_time(row.set_at) or utcnow())
            if row
            else None
        )
        if changes.trusted and changes.generation == as_of:  # nothing changed meanwhile
            self._remembered[key] = found
        return found

    async def put(
        self,
        tx: Transaction,
        name: str,
        value: object,
        *,
        by: int | None,
        chat_id: int = GLOBAL_CHAT,
        thread_id: int = 0,
    ) -> None:
        await tx.execute(
            """
            INSERT INTO setting_values (name, chat_id, thread_id, value, set_by, set_at)
            VALUES (:name, :chat_id, :thread_id, :value, :by, :now)
            ON CONFLICT (name, chat_id, thread_id) DO UPDATE SET value = excluded.value,
                set_by = excluded.set_by, set_at = excluded.set_at
            """,
            {
                "name": name,
                "chat_id": chat_id,
                "thread_id": thread_id,
                "value": json.dumps(value, ensure_ascii=False),
                "by": by,
                "now": to_db_time(utcnow()),
            },
        )

    async def delete(
        self, tx: Transaction, name: str, *, chat_id: int = GLOBAL_CHAT, thread_id: int = 0
    ) -> None:
        await tx.execute(
            f"DELETE FROM setting_values WHERE {_KEY}",
            {"name": name, "chat_id": chat_id, "thread_id": thread_id},
        )

    async def of_chat(self, chat_id: int) -> dict[tuple[str, int], StoredValue]:
        """Every value a chat and its topics set, by (name, thread_id)."""
        rows = await self.db.fetchall(
            "SELECT name, thread_id, value, set_by, set_at FROM setting_values "
            "WHERE chat_id = :chat_id",
            {"chat_id": chat_id},
        )
        return {
            (row.name, row.thread_id): StoredValue(
                json.loads(row.value), row.set_by, from_db_time(row.set_at) or utcnow()
            )
            for row in rows
        }
