"""Watcher cursors, inhibiting subject states, per-chat subject silences and status cards."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, Transaction, from_db_time, to_db_time, utcnow

_CARD = "chat_id = :chat_id AND thread_id = :thread_id AND subject_key = :subject_key"


class AlertStateRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- cursors (always advanced inside the outbox transaction) ---------------------------
    async def cursor(self, source: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT value FROM cursors WHERE source = :source", {"source": source}
        )
        return row.value if row else None

    @staticmethod
    async def set_cursor(tx: Transaction, source: str, value: str) -> None:
        await tx.execute(
            "INSERT INTO cursors (source, value, updated_at) VALUES (:source, :value, :now) "
            "ON CONFLICT (source) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            {"source": source, "value": value, "now": to_db_time(utcnow())},
        )

    # --- inhibiting states ---------------------------------------------------------------
    async def active_states(self) -> set[tuple[str, str]]:
        rows = await self.db.fetchall("SELECT subject_key, state FROM subject_states")
        return {(row.subject_key, row.state) for row in rows}

    # --- silences: "Принял" (until the subject changes) and "Тишина 1 ч" (until a time) -----
    async def silence(
        self,
        chat_id: int,
        thread_id: int,
        subject_key: str,
        *,
        kind: str = "",
        until: datetime | None,
        by: int | None,
    ) -> None:
        await self.db.execute(
            "INSERT INTO subject_silences (chat_id, thread_id, subject_key, kind, until, by_user) "
            "VALUES (:chat_id, :thread_id, :subject_key, :kind, :until, :by) "
            "ON CONFLICT (chat_id, thread_id, subject_key, kind) DO UPDATE SET "
            "until = excluded.until, by_user = excluded.by_user",
            {
                "chat_id": chat_id,
                "thread_id": thread_id,
                "subject_key": subject_key,
                "kind": kind,
                "until": to_db_time(until) if until else None,
                "by": by,
            },
        )

    async def silences(
        self, chat_id: int | None = None
    ) -> dict[tuple[int, int, str, str], datetime | None]:
        """Silences of every chat, or of one chat."""
        sql = "SELECT chat_id, thread_id, subject_key, kind, until FROM subject_silences"
        rows = await (
            self.db.fetchall(sql)
            if chat_id is None
            else self.db.fetchall(sql + " WHERE chat_id = :chat_id", {"chat_id": chat_id})
        )
        return {
            (row.chat_id, row.thread_id, row.subject_key, row.kind): from_db_time(row.until)
            for row in rows
        }

    # --- status cards --------------------------------------------------------------------
    async def card(self, chat_id: int, thread_id: int, subject_key: str) -> int | None:
        row = await self.db.fetchone(
            f"SELECT message_id FROM status_cards WHERE {_CARD}",
            {"chat_id": chat_id, "thread_id": thread_id, "subject_key": subject_key},
        )
        return int(row.message_id) if row else None

    async def set_card(
        self, chat_id: int, thread_id: int, subject_key: str, message_id: int | None
    ) -> None:
        key = {"chat_id": chat_id, "thread_id": thread_id, "subject_key": subject_key}
        if message_id is None:
            await self.db.execute(f"DELETE FROM status_cards WHERE {_CARD}", key)
            return
        await self.db.execute(
            "INSERT INTO status_cards (chat_id, thread_id, subject_key, message_id) "
            "VALUES (:chat_id, :thread_id, :subject_key, :message_id) "
            "ON CONFLICT (chat_id, thread_id, subject_key) DO UPDATE SET "
            "message_id = excluded.message_id",
            {**key, "message_id": message_id},
        )
