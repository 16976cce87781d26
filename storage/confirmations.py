"""One-shot confirmations: the button that performs an action works exactly once.

A confirmation is created when the bot asks "are you sure?"; pressing the button *claims* it with
an atomic UPDATE ... WHERE used_at IS NULL. A double tap, or Telegram re-delivering the callback
after a network error, finds it already used and does nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from storage.db import Database, to_db_time, utcnow


@dataclass(frozen=True)
class Confirmation:
    token: str
    user_id: int
    chat_id: int
    action: str
    payload: dict[str, object]


class ConfirmationsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, *, user_id: int, chat_id: int, action: str, payload: dict[str, object]
    ) -> str:
        token = secrets.token_urlsafe(9)  # 12 characters: fits callback data with room to spare
        await self.db.execute(
            "INSERT INTO confirmations (token, user_id, chat_id, action, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (token, user_id, chat_id, action, json.dumps(payload), to_db_time(utcnow())),
        )
        return token

    async def claim(self, token: str, *, user_id: int) -> Confirmation | None:
        """Mark the confirmation used and return it, or None if it was used already or isn't
        this user's to press."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE confirmations SET used_at = ? "
                "WHERE token = ? AND user_id = ? AND used_at IS NULL",
                (to_db_time(utcnow()), token, user_id),
            )
            if cursor.rowcount != 1:
                return None
            async with conn.execute(
                "SELECT token, user_id, chat_id, action, payload FROM confirmations "
                "WHERE token = ?",
                (token,),
            ) as select:
                row = await select.fetchone()
        assert row is not None
        return Confirmation(
            token=row["token"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            action=row["action"],
            payload=json.loads(row["payload"]),
        )
