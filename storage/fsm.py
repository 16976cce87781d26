"""The wizards' state and data by key (the aiogram adapter is bot/fsm_storage.py).

A key with no state and no data has no row: a finished wizard leaves nothing behind.

aiogram reads the state of every update's (chat, user), in or out of a wizard, so the states
are remembered here as the users are (storage/users.py), for as long as storage/changes.py says
they may be: on PostgreSQL another replica may move a wizard on, and its trigger's notice makes
every replica forget that key.
"""

from __future__ import annotations

import json
from typing import Any

from storage.db import Database, to_db_time, utcnow

EMPTY = "{}"
CACHED_STATES = 10_000  # keys (a chat and a person each); past that the cache starts over


class FsmRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._states: dict[str, str | None] = {}
        db.changes.on_change("fsm_states", self._forget_key)

    def _forget_key(self, key: str | None) -> None:
        if key is None:
            self._states.clear()
        else:
            self._states.pop(key, None)

    async def state(self, key: str) -> str | None:
        changes = self.db.changes
        if changes.trusted and key in self._states:
            return self._states[key]
        as_of = changes.generation
        value = await self.db.scalar("SELECT state FROM fsm_states WHERE key = :key", {"key": key})
        state = str(value) if value is not None else None
        if changes.trusted and changes.generation == as_of:  # nothing changed meanwhile
            if len(self._states) >= CACHED_STATES:
                self._states.clear()
            self._states[key] = state
        return state

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
        """A write drops the key's cached state before and after it, so a read racing the
        write can neither keep nor store the old state."""
        self.db.changes.changed("fsm_states", key)
        try:
            await self._write(key, column, value)
        finally:
            self.db.changes.changed("fsm_states", key)

    async def _write(self, key: str, column: str, value: str | None) -> None:
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
