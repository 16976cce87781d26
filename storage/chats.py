"""Group chats the bot is in, and whether an admin approved them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import aiosqlite

from storage.db import Database, to_db_time, utcnow


class ChatStatus(StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Chat:
    id: int
    type: str
    title: str
    status: ChatStatus
    added_by: int | None


_COLUMNS = "id, type, title, status, added_by"


def _chat(row: aiosqlite.Row) -> Chat:
    return Chat(
        id=row["id"],
        type=row["type"],
        title=row["title"],
        status=ChatStatus(row["status"]),
        added_by=row["added_by"],
    )


class ChatsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int) -> Chat | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM chats WHERE id = ?", (chat_id,))
        return _chat(row) if row else None

    async def upsert(
        self, chat_id: int, *, type: str, title: str, status: ChatStatus, added_by: int | None
    ) -> None:
        now = to_db_time(utcnow())
        await self.db.execute(
            """
            INSERT INTO chats (id, type, title, status, added_by, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET type = excluded.type, title = excluded.title,
                status = excluded.status, added_by = excluded.added_by,
                updated_at = excluded.updated_at
            """,
            (chat_id, type, title, status.value, added_by, now, now),
        )

    async def set_status(self, chat_id: int, status: ChatStatus) -> bool:
        changed = await self.db.execute(
            "UPDATE chats SET status = ?, updated_at = ? WHERE id = ?",
            (status.value, to_db_time(utcnow()), chat_id),
        )
        return changed > 0

    async def move(self, old_id: int, new_id: int, *, new_type: str = "supergroup") -> bool:
        """A group upgraded to a supergroup keeps everything under its new id, in ONE
        transaction: its approval, subscriptions, preferences, silences, status cards, queued
        alerts, pending confirmations, taxi orders, the items it owns and live follows. True if
        there was anything to move.

        The service messages (either of them) and the sender's "group was upgraded" error all
        lead here, in any order: once the old row is gone, a second move changes nothing.
        """
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (old_id,)) as cursor:
                if await cursor.fetchone() is None:
                    return False
            await conn.execute("DELETE FROM chats WHERE id = ?", (new_id,))
            await conn.execute(
                "UPDATE chats SET id = ?, type = ?, updated_at = ? WHERE id = ?",
                (new_id, new_type, to_db_time(utcnow()), old_id),
            )
            for table in (
                "subscriptions",
                "chat_prefs",
                "subject_silences",
                "status_cards",
                "alert_storms",
            ):
                await conn.execute(
                    f"UPDATE OR REPLACE {table} SET chat_id = ? WHERE chat_id = ?",
                    (new_id, old_id),
                )
            await conn.execute(
                "UPDATE OR IGNORE outbox SET chat_id = ? WHERE chat_id = ?", (new_id, old_id)
            )
            # A row left behind collided with the same alert already queued at the new id:
            # it is a duplicate, and must not be sent to the old id (which Telegram refuses).
            await conn.execute(
                "UPDATE outbox SET state = 'dropped', last_error = 'dropped: duplicate after "
                "the group became a supergroup' WHERE chat_id = ? AND state = 'pending'",
                (old_id,),
            )
            await self._move_work_in_progress(conn, old_id, new_id)
        return True

    @staticmethod
    async def _move_work_in_progress(conn: aiosqlite.Connection, old_id: int, new_id: int) -> None:
        """What the chat has under way: confirmations not pressed yet (their action watches
        from the chat they name), taxi orders it sent (the chat that hears their progress), the
        orders, tasks and wagons it owns (bot/ownership.py) and live locations it follows. A
        live location's message stays in the old group, where the bot can no longer write:
        ``message_id`` 0 tells the follow to post a new one here."""
        ids = {"old": old_id, "new": new_id}
        await conn.execute("UPDATE confirmations SET chat_id = :new WHERE chat_id = :old", ids)
        await conn.execute("UPDATE taximaster_creates SET chat_id = :new WHERE chat_id = :old", ids)
        await conn.execute("UPDATE item_owners SET chat_id = :new WHERE chat_id = :old", ids)
        await conn.execute(
            "DELETE FROM live_follows WHERE chat_id = :new AND EXISTS (SELECT 1 FROM "
            "live_follows AS old WHERE old.chat_id = :old AND old.thread_id = "
            "live_follows.thread_id AND old.phone = live_follows.phone)",
            ids,
        )
        await conn.execute(
            "UPDATE live_follows SET chat_id = :new, message_id = 0 WHERE chat_id = :old", ids
        )

    async def all(self) -> list[Chat]:
        rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM chats ORDER BY status, title")
        return [_chat(row) for row in rows]
