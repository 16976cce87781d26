"""Live locations the bot keeps moving (/follow), so that a restart resumes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_db_time, to_db_time, utcnow


@dataclass(frozen=True)
class LiveFollow:
    chat_id: int
    thread_id: int
    phone: str
    title: str
    locale: str
    message_id: int
    live_until: datetime  # wall clock: Telegram refuses edits after it
    lat: float
    lon: float


class LiveFollowsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, follow: LiveFollow) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO live_follows (chat_id, thread_id, phone, title, locale, "
            "message_id, live_until, lat, lon, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                follow.chat_id,
                follow.thread_id,
                follow.phone,
                follow.title,
                follow.locale,
                follow.message_id,
                to_db_time(follow.live_until),
                follow.lat,
                follow.lon,
                to_db_time(utcnow()),
            ),
        )

    async def moved(self, chat_id: int, thread_id: int, phone: str, lat: float, lon: float) -> None:
        await self.db.execute(
            "UPDATE live_follows SET lat = ?, lon = ? "
            "WHERE chat_id = ? AND thread_id = ? AND phone = ?",
            (lat, lon, chat_id, thread_id, phone),
        )

    async def delete(self, chat_id: int, thread_id: int, phone: str) -> None:
        await self.db.execute(
            "DELETE FROM live_follows WHERE chat_id = ? AND thread_id = ? AND phone = ?",
            (chat_id, thread_id, phone),
        )

    async def all(self) -> list[LiveFollow]:
        rows = await self.db.fetchall(
            "SELECT chat_id, thread_id, phone, title, locale, message_id, live_until, lat, lon "
            "FROM live_follows ORDER BY created_at"
        )
        follows = []
        for row in rows:
            live_until = from_db_time(row["live_until"])
            assert live_until is not None
            follows.append(
                LiveFollow(
                    chat_id=row["chat_id"],
                    thread_id=row["thread_id"],
                    phone=row["phone"],
                    title=row["title"],
                    locale=row["locale"],
                    message_id=row["message_id"],
                    live_until=live_until,
                    lat=row["lat"],
                    lon=row["lon"],
                )
            )
        return follows
