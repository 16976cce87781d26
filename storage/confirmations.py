"""One-shot confirmations: the button that performs an action works exactly once.

A confirmation is created when the bot asks "are you sure?"; pressing the button *claims* it with
an atomic UPDATE ... WHERE used_at IS NULL. A double tap, or Telegram re-delivering the callback
after a network error, finds it already used and does nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import AnyRow, Database, from_db_time, to_db_time, utcnow

# Used or not, a confirmation older than this is deleted (it was refused long before).
KEEP = timedelta(days=2)


@dataclass(frozen=True)
class Confirmation:
    token: str
    user_id: int
    chat_id: int
    action: str
    payload: dict[str, object]
    created_at: datetime

    def age(self, now: datetime) -> timedelta:
        return now - self.created_at


class ConfirmationsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, *, user_id: int, chat_id: int, action: str, payload: dict[str, object]
    ) -> str:
        token = secrets.token_urlsafe(9)  # 12 characters: fits callback data with room to spare
        now = utcnow()
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM confirmations WHERE created_at < :old",
                {"old": to_db_time(now - KEEP)},
            )
            await tx.execute(
                "INSERT INTO confirmations (token, user_id, chat_id, action, payload, created_at) "
                "VALUES (:token, :user_id, :chat_id, :action, :payload, :now)",
                {
                    "token": token,
                    "user_id": user_id,
                    "chat_id": chat_id,
                    "action": action,
                    "payload": json.dumps(payload),
                    "now": to_db_time(now),
                },
            )
        return token

    async def pending(self, token: str, *, user_id: int) -> Confirmation | None:
        """The unused confirmation ``token`` of this user, without claiming it."""
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM confirmations "
            "WHERE token = :token AND user_id = :user_id AND used_at IS NULL",
            {"token": token, "user_id": user_id},
        )
        return _confirmation(row) if row else None

    async def update_payload(self, token: str, *, user_id: int, payload: dict[str, object]) -> bool:
        """Replace the payload of this user's unused confirmation (a summary's settings changed
        before Yes); False if it was used already or isn't theirs."""
        changed = await self.db.execute(
            "UPDATE confirmations SET payload = :payload "
            "WHERE token = :token AND user_id = :user_id AND used_at IS NULL",
            {"payload": json.dumps(payload), "token": token, "user_id": user_id},
        )
        return changed == 1

    async def claim(self, token: str, *, user_id: int) -> Confirmation | None:
        """Mark the confirmation used and return it, or None if it was used already or isn't
        this user's to press."""
        async with self.db.transaction() as tx:
            claimed = await tx.execute(
                "UPDATE confirmations SET used_at = :now "
                "WHERE token = :token AND user_id = :user_id AND used_at IS NULL",
                {"now": to_db_time(utcnow()), "token": token, "user_id": user_id},
            )
            if claimed.rowcount != 1:
                return None
            row = await tx.fetchone(
                f"SELECT {_COLUMNS} FROM confirmations WHERE token = :token", {"token": token}
            )
        assert row is not None
        return _confirmation(row)


_COLUMNS = "token, user_id, chat_id, action, payload, created_at"


def _confirmation(row: AnyRow) -> Confirmation:
    created = from_db_time(row.created_at)
    assert created is not None
    return Confirmation(
        token=row.token,
        user_id=row.user_id,
        chat_id=row.chat_id,
        action=row.action,
        payload=json.loads(row.payload),
        created_at=created,
    )
