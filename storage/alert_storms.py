"""Alert storms: the chats (forum topics) whose alerts go out summarized right now, since when,
and how many alerts the summaries carried — read back at start and by /status, so a restart in
the middle of a storm still ends it with the right count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_db_time, to_db_time


@dataclass(frozen=True)
class StormRow:
    chat_id: int
    thread_id: int
    since: datetime
    last_dense_at: datetime
    summarized: int


class AlertStormsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> list[StormRow]:
        rows = await self.db.fetchall(
            "SELECT chat_id, thread_id, since, last_dense_at, summarized FROM alert_storms "
            "ORDER BY since, chat_id, thread_id"
        )
        return [
            StormRow(
                row.chat_id,
                row.thread_id,
                from_db_time(row.since) or datetime.min,
                from_db_time(row.last_dense_at) or datetime.min,
                int(row.summarized),
            )
            for row in rows
        ]

    async def add_summarized(
        self, chat_id: int, thread_id: int, count: int, *, since: datetime, dense_at: datetime
    ) -> None:
        """``count`` more alerts went out in a summary to this chat (topic)."""
        await self.db.execute(
            "INSERT INTO alert_storms (chat_id, thread_id, since, last_dense_at, summarized) "
            "VALUES (:chat, :thread, :since, :dense, :count) "
            "ON CONFLICT (chat_id, thread_id) DO UPDATE SET "
            "summarized = alert_storms.summarized + excluded.summarized, "
            "last_dense_at = excluded.last_dense_at",
            {
                "chat": chat_id,
                "thread": thread_id,
                "since": to_db_time(since),
                "dense": to_db_time(dense_at),
                "count": count,
            },
        )

    async def end(self, chat_id: int, thread_id: int | None = None) -> None:
        """The storm is over in this chat (one topic of it, or all)."""
        if thread_id is None:
            await self.db.execute(
                "DELETE FROM alert_storms WHERE chat_id = :chat", {"chat": chat_id}
            )
            return
        await self.db.execute(
            "DELETE FROM alert_storms WHERE chat_id = :chat AND thread_id = :thread",
            {"chat": chat_id, "thread": thread_id},
        )
