"""Group chats the bot is in, and whether an admin approved them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.db import AnyRow, Database, Transaction, to_db_time, utcnow


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


# Tables keyed by chat: the rest of each one's key (a moved row replaces one already there).
_MOVED_WITH_THE_CHAT = {
    "subscriptions": ("thread_id", "selector", "filter"),
    "chat_prefs": ("thread_id",),
    "subject_silences": ("thread_id", "subject_key", "kind"),
    "status_cards": ("thread_id", "subject_key"),
    "alert_storms": ("thread_id",),
    "setting_values": ("thread_id", "name"),
    # Escalation (bot/escalation): its open chains, the chat's chain and its on-call rota.
    "escalations": ("thread_id", "dedupe_key"),
    "escalation_chains": ("thread_id",),
    "oncall_shifts": ("id",),
}


def _chat(row: AnyRow) -> Chat:
    chat_id, type_, title, status, added_by = row  # _COLUMNS's order (routing reads them all)
    return Chat(id=chat_id, type=type_, title=title, status=ChatStatus(status), added_by=added_by)


def _same_key(table: str, columns: tuple[str, ...]) -> str:
    return " AND ".join(f"other.{c} = {table}.{c}" for c in columns)


class ChatsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int) -> Chat | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM chats WHERE id = :id", {"id": chat_id}
        )
        return _chat(row) if row else None

    async def upsert(
        self, chat_id: int, *, type: str, title: str, status: ChatStatus, added_by: int | None
    ) -> None:
        now = to_db_time(utcnow())
        await self.db.execute(
            """
            INSERT INTO chats (id, type, title, status, added_by, created_at, updated_at)
            VALUES (:id, :type, :title, :status, :added_by, :now, :now)
            ON CONFLICT (id) DO UPDATE SET type = excluded.type, title = excluded.title,
                status = excluded.status, added_by = excluded.added_by,
                updated_at = excluded.updated_at
            """,
            {
                "id": chat_id,
                "type": type,
                "title": title,
                "status": status.value,
                "added_by": added_by,
                "now": now,
            },
        )

    async def set_status(self, chat_id: int, status: ChatStatus) -> bool:
        changed = await self.db.execute(
            "UPDATE chats SET status = :status, updated_at = :now WHERE id = :id",
            {"status": status.value, "now": to_db_time(utcnow()), "id": chat_id},
        )
        return changed > 0

    async def move(self, old_id: int, new_id: int, *, new_type: str = "supergroup") -> bool:
        """A group upgraded to a supergroup keeps everything under its new id, in ONE
        transaction: its approval, subscriptions, preferences, silences, status cards, queued
        alerts, pending confirmations, taxi orders, the items it owns, live follows, its
        escalations, chain and on-call rota. True if
        there was anything to move.

        The service messages (either of them) and the sender's "group was upgraded" error all
        lead here, in any order: once the old row is gone, a second move changes nothing.
        """
        ids = {"old": old_id, "new": new_id}
        async with self.db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM chats WHERE id = :old", ids) is None:
                return False
            await tx.execute("DELETE FROM chats WHERE id = :new", ids)
            await tx.execute(
                "UPDATE chats SET id = :new, type = :type, updated_at = :now WHERE id = :old",
                {**ids, "type": new_type, "now": to_db_time(utcnow())},
            )
            for table, key in _MOVED_WITH_THE_CHAT.items():
                await tx.execute(
                    f"DELETE FROM {table} WHERE chat_id = :new AND EXISTS (SELECT 1 FROM {table} "
                    f"AS other WHERE other.chat_id = :old AND {_same_key(table, key)})",
                    ids,
                )
                await tx.execute(f"UPDATE {table} SET chat_id = :new WHERE chat_id = :old", ids)
            # An alert already queued at the new id stays; its twin at the old id stays behind.
            await tx.execute(
                "UPDATE outbox SET chat_id = :new WHERE chat_id = :old AND NOT EXISTS (SELECT 1 "
                "FROM outbox AS other WHERE other.chat_id = :new AND "
                f"{_same_key('outbox', ('thread_id', 'dedupe_key'))})",
                ids,
            )
            # A row left behind collided with the same alert already queued at the new id:
            # it is a duplicate, and must not be sent to the old id (which Telegram refuses).
            await tx.execute(
                "UPDATE outbox SET state = 'dropped', last_error = 'dropped: duplicate after "
                "the group became a supergroup' WHERE chat_id = :old AND state = 'pending'",
                ids,
            )
            await self._move_work_in_progress(tx, old_id, new_id)
        return True

    @staticmethod
    async def _move_work_in_progress(tx: Transaction, old_id: int, new_id: int) -> None:
        """What the chat has under way: confirmations not pressed yet (their action watches
        from the chat they name), taxi orders it sent (the chat that hears their progress), the
        orders, tasks and wagons it owns (bot/ownership.py) and live locations it follows. A
        live location's message stays in the old group, where the bot can no longer write:
        ``message_id`` 0 tells the follow to post a new one here."""
        ids = {"old": old_id, "new": new_id}
        await tx.execute("UPDATE confirmations SET chat_id = :new WHERE chat_id = :old", ids)
        await tx.execute("UPDATE taximaster_creates SET chat_id = :new WHERE chat_id = :old", ids)
        await tx.execute("UPDATE item_owners SET chat_id = :new WHERE chat_id = :old", ids)
        await tx.execute(
            "DELETE FROM live_follows WHERE chat_id = :new AND EXISTS (SELECT 1 FROM "
            "live_follows AS old WHERE old.chat_id = :old AND old.thread_id = "
            "live_follows.thread_id AND old.phone = live_follows.phone)",
            ids,
        )
        await tx.execute(
            "UPDATE live_follows SET chat_id = :new, message_id = 0 WHERE chat_id = :old", ids
        )

    async def all(self) -> list[Chat]:
        rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM chats ORDER BY status, title")
        return [_chat(row) for row in rows]
