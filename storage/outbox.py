"""The outbox: every alert a chat must hear, written with the watcher's cursor in one
transaction, and drained by the sender. Unique per (chat, topic, dedupe_key)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database, from_db_time, in_lists, to_db_time, utcnow


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    thread_id: int
    kind: str
    severity: int
    subject_key: str
    payload: str
    attempts: int
    message_id: int | None = None


@dataclass(frozen=True)
class NewOutboxRow:
    chat_id: int
    thread_id: int
    dedupe_key: str
    kind: str
    severity: int
    subject_key: str
    payload: str
    not_before: datetime


_COLUMNS = "id, chat_id, thread_id, kind, severity, subject_key, payload, attempts, message_id"


def _row(row: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(*row)


async def insert_rows(conn: aiosqlite.Connection, rows: list[NewOutboxRow]) -> int:
    """Insert inside the caller's transaction; rows already there (same dedupe) are skipped."""
    if not rows:
        return 0
    now = to_db_time(utcnow())
    before = conn.total_changes
    await conn.executemany(
        "INSERT OR IGNORE INTO outbox (chat_id, thread_id, dedupe_key, kind, severity, "
        "subject_key, payload, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                r.chat_id,
                r.thread_id,
                r.dedupe_key,
                r.kind,
                r.severity,
                r.subject_key,
                r.payload,
                to_db_time(r.not_before),
                now,
            )
            for r in rows
        ],
    )
    return conn.total_changes - before


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def due(self, limit: int = 500) -> list[OutboxRow]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND not_before <= ? "
            "ORDER BY id LIMIT ?",
            (to_db_time(utcnow()), limit),
        )
        return [_row(row) for row in rows]

    async def due_for_chat(self, chat_id: int, limit: int = 500) -> list[OutboxRow]:
        """All of one chat's due rows, so everything waiting for it goes out together."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND chat_id = ? "
            "AND not_before <= ? ORDER BY id LIMIT ?",
            (chat_id, to_db_time(utcnow()), limit),
        )
        return [_row(row) for row in rows]

    async def next_due_at(self) -> datetime | None:
        row = await self.db.fetchone(
            "SELECT min(not_before) AS t FROM outbox WHERE state = 'pending'"
        )
        return from_db_time(row["t"]) if row else None

    async def mark_sent(self, ids: list[int], message_id: int | None) -> None:
        now = to_db_time(utcnow())
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, "
                "attempts = attempts + 1 WHERE id = ?",
                [(now, message_id, i) for i in ids],
            )

    async def mark_failed(self, ids: list[int], error: str) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET state = 'failed', last_error = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                [(error[:500], i) for i in ids],
            )

    async def mark_dropped(self, ids: list[int], reason: str) -> None:
        """Queued, then no longer wanted by its chat when it could be sent (muted, unsubscribed,
        access revoked, group disabled): not delivered, counted apart from failures."""
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET state = 'dropped', last_error = ? WHERE id = ?",
                [(reason[:500], i) for i in ids],
            )

    async def postpone(self, ids: list[int], until: datetime, error: str | None) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET not_before = ?, last_error = coalesce(?, last_error), "
                "attempts = attempts + ? WHERE id = ?",
                [(to_db_time(until), error, 1 if error else 0, i) for i in ids],
            )

    async def fail_chat(self, chat_id: int, error: str) -> None:
        await self.db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? "
            "WHERE chat_id = ? AND state = 'pending'",
            (error, chat_id),
        )

    async def rows_of_message(self, chat_id: int, message_id: int) -> list[OutboxRow]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return [_row(row) for row in rows]

    async def get(self, outbox_id: int) -> OutboxRow | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (outbox_id,))
        return _row(row) if row else None

    async def depth(self) -> int:
        row = await self.db.fetchone("SELECT count(*) AS n FROM outbox WHERE state = 'pending'")
        return int(row["n"]) if row else 0

    async def counts_since(self, since: datetime) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT state, count(*) AS n FROM outbox WHERE created_at >= ? GROUP BY state",
            (to_db_time(since),),
        )
        return {row["state"]: row["n"] for row in rows}

    async def failed_by_chat(self, since: datetime) -> list[tuple[int, int, str]]:
        """(chat, failed rows, the latest reason) for rows created since ``since``, worst first."""
        rows = await self.db.fetchall(
            "SELECT chat_id, count(*) AS n, "
            "(SELECT last_error FROM outbox AS o2 WHERE o2.chat_id = outbox.chat_id "
            " AND o2.state = 'failed' ORDER BY o2.id DESC LIMIT 1) AS reason "
            "FROM outbox WHERE state = 'failed' AND created_at >= ? "
            "GROUP BY chat_id ORDER BY n DESC LIMIT 10",
            (to_db_time(since),),
        )
        return [(row["chat_id"], row["n"], row["reason"] or "") for row in rows]

    async def last_sent_at(
        self, chat_id: int, thread_id: int, subject_key: str, kinds: Collection[str]
    ) -> datetime | None:
        """When news of ``kinds`` about this subject last went out to this chat (topic)."""
        latest: datetime | None = None
        for marks, params in in_lists("k", kinds):
            row = await self.db.fetchone(
                "SELECT max(sent_at) AS t FROM outbox WHERE chat_id = :chat "
                "AND thread_id = :thread AND subject_key = :subject AND state = 'sent' "
                f"AND kind IN ({marks})",
                {"chat": chat_id, "thread": thread_id, "subject": subject_key, **params},
            )
            moment = from_db_time(row["t"]) if row else None
            if moment is not None and (latest is None or moment > latest):
                latest = moment
        return latest
