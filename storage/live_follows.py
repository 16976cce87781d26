"""Live locations the bot keeps moving (/follow), so that a restart resumes them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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


_KEY = "chat_id = :chat_id AND thread_id = :thread_id AND phone = :phone"


class LiveFollowsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, follow: LiveFollow) -> None:
        await self.db.execute(
            "INSERT INTO live_follows (chat_id, thread_id, phone, title, locale, message_id, "
            "live_until, lat, lon, created_at) VALUES (:chat_id, :thread_id, :phone, :title, "
            ":locale, :message_id, :live_until, :lat, :lon, :now) "
            "ON CONFLICT (chat_id, thread_id, phone) DO UPDATE SET title = excluded.title, "
            "locale = excluded.locale, message_id = excluded.message_id, "
            "live_until = excluded.live_until, lat = excluded.lat, lon = excluded.lon, "
            "created_at = excluded.created_at",
            {
                **asdict(follow),
                "live_until": to_db_time(follow.live_until),
                "now": to_db_time(utcnow()),
            },
        )

    async def moved(self, chat_id: int, thread_id: int, phone: str, lat: float, lon: float) -> None:
        await self.db.execute(
            f"UPDATE live_follows SET lat = :lat, lon = :lon WHERE {_KEY}",
            {"lat": lat, "lon": lon, "chat_id": chat_id, "thread_id": thread_id, "phone": phone},
        )

    async def delete(self, chat_id: int, thread_id: int, phone: str) -> None:
        await self.db.execute(
            f"DELETE FROM live_follows WHERE {_KEY}",
            {"chat_id": chat_id, "thread_id": thread_id, "phone": phone},
        )

    async def all(self) -> list[LiveFollow]:
        rows = await self.db.fetchall(
            "SELECT chat_id, thread_id, phone, title, locale, message_id, live_until, lat, lon "
            "FROM live_follows ORDER BY created_at"
        )
        follows = []
        for row in rows:
            live_until = from_db_time(row.live_until)
            assert live_until is not None
            follows.append(LiveFollow(**{**row._asdict(), "live_until": live_until}))
        return follows
