"""Digest sent-marks: one per chat (forum topic) and local day, claimed BEFORE the digest is
sent, so a digest goes once per chat per day across restarts and processes.

- ``claim`` inserts the day's mark (``claimed``); whoever inserts it sends. A claim whose
  sender died (no ``sent`` within :data:`CLAIM_LEASE`) may be claimed again: the digest is
  then sent by the next run (late), not skipped. Only a process killed between Telegram's
  answer and ``sent`` can repeat a digest, as with every message a bot sends.
- ``skip`` marks a day as not owed (the hour was set after it had passed today).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from storage.db import Database, in_lists, to_db_time
from storage.schema import digest_marks

CLAIM_LEASE = timedelta(minutes=5)


class DigestMarksRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def marked(self, days: Collection[str], now: datetime) -> set[tuple[int, int, str]]:
        """(chat, topic, day) of every mark on one of ``days`` (a handful of local dates: the
        job asks for all chats at once) that settles the day: sent, skipped, failed, or
        claimed within the lease (a claim older than that is owed again)."""
        found: set[tuple[int, int, str]] = set()
        live = or_(
            digest_marks.c.state != "claimed",
            digest_marks.c.claimed_at >= to_db_time(now - CLAIM_LEASE),
        )
        for _marks, params in in_lists("d", days):
            query = select(
                digest_marks.c.chat_id, digest_marks.c.thread_id, digest_marks.c.day
            ).where(digest_marks.c.day.in_(list(params.values())), live)
            found |= {(row[0], row[1], row[2]) for row in await self.db.fetchall(query)}
        return found

    async def claim(self, chat_id: int, thread_id: int, day: str, now: datetime) -> bool:
        """True if this caller now owns the day's digest (and must send it)."""
        params = {
            "chat": chat_id,
            "thread": thread_id,
            "day": day,
            "now": to_db_time(now),
            "stale": to_db_time(now - CLAIM_LEASE),
        }
        async with self.db.transaction() as tx:
            inserted = await tx.execute(
                "INSERT INTO digest_marks (chat_id, thread_id, day, state, claimed_at) "
                "VALUES (:chat, :thread, :day, 'claimed', :now) "
                "ON CONFLICT (chat_id, thread_id, day) DO NOTHING",
                params,
            )
            if inserted.rowcount > 0:
                return True
            taken = await tx.execute(
                "UPDATE digest_marks SET claimed_at = :now WHERE chat_id = :chat "
                "AND thread_id = :thread AND day = :day AND state = 'claimed' "
                "AND claimed_at < :stale",
                params,
            )
            return taken.rowcount > 0

    async def sent(
        self,
        chat_id: int,
        thread_id: int,
        day: str,
        now: datetime,
        *,
        message_id: int | None,
        late: bool,
    ) -> None:
        await self.db.execute(
            "UPDATE digest_marks SET state = 'sent', sent_at = :now, message_id = :message, "
            "late = :late WHERE chat_id = :chat AND thread_id = :thread AND day = :day",
            {
                "chat": chat_id,
                "thread": thread_id,
                "day": day,
                "now": to_db_time(now),
                "message": message_id,
                "late": int(late),
            },
        )

    async def failed(self, chat_id: int, thread_id: int, day: str) -> None:
        """Telegram refused it for good (the chat is gone): not tried again that day."""
        await self.db.execute(
            "UPDATE digest_marks SET state = 'failed' WHERE chat_id = :chat "
            "AND thread_id = :thread AND day = :day",
            {"chat": chat_id, "thread": thread_id, "day": day},
        )

    async def skip(self, chat_id: int, thread_id: int, day: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO digest_marks (chat_id, thread_id, day, state, claimed_at) "
            "VALUES (:chat, :thread, :day, 'skipped', :now) "
            "ON CONFLICT (chat_id, thread_id, day) DO NOTHING",
            {"chat": chat_id, "thread": thread_id, "day": day, "now": to_db_time(now)},
        )

    async def state(self, chat_id: int, thread_id: int, day: str) -> tuple[str, bool] | None:
        """(state, late) of a day's mark; None when there is none."""
        row = await self.db.fetchone(
            select(digest_marks.c.state, digest_marks.c.late).where(
                digest_marks.c.chat_id == chat_id,
                digest_marks.c.thread_id == thread_id,
                digest_marks.c.day == day,
            )
        )
        return None if row is None else (row[0], bool(row[1]))


async def chats_with(db: Database, setting_name: str) -> list[tuple[int, int, object]]:
    """(chat, topic, JSON value) of every chat that set the per-chat setting ``setting_name``
    (the digest's hour): one read for every chat, however many there are."""
    rows = await db.fetchall(
        "SELECT chat_id, thread_id, value FROM setting_values WHERE name = :name AND chat_id != 0",
        {"name": setting_name},
    )
    return [(row.chat_id, row.thread_id, json.loads(row.value)) for row in rows]
