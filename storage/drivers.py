"""Drivers the bot knows: the title and tags a dispatcher gave a phone, for readable alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.db import Database, to_db_time, utcnow


@dataclass(frozen=True)
class Driver:
    phone: str
    title: str
    tags: tuple[str, ...] = ()


class DriversRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, phone: str, title: str, tags: tuple[str, ...] = ()) -> None:
        await self.db.execute(
            "INSERT INTO drivers (phone, title, tags, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (phone) DO UPDATE SET title = excluded.title, tags = excluded.tags, "
            "updated_at = excluded.updated_at",
            (phone, title, json.dumps(list(tags), ensure_ascii=False), to_db_time(utcnow())),
        )

    async def get(self, phone: str) -> Driver | None:
        row = await self.db.fetchone(
            "SELECT phone, title, tags FROM drivers WHERE phone = ?", (phone,)
        )
        return Driver(row["phone"], row["title"], tuple(json.loads(row["tags"]))) if row else None

    async def many(self, phones: set[str]) -> dict[str, Driver]:
        if not phones:
            return {}
        marks = ",".join("?" * len(phones))
        rows = await self.db.fetchall(
            f"SELECT phone, title, tags FROM drivers WHERE phone IN ({marks})", tuple(phones)
        )
        return {
            row["phone"]: Driver(row["phone"], row["title"], tuple(json.loads(row["tags"])))
            for row in rows
        }

    async def find(self, text: str) -> list[Driver]:
        """Drivers whose title or tag contains ``text`` (case-insensitive)."""
        rows = await self.db.fetchall("SELECT phone, title, tags FROM drivers ORDER BY title")
        needle = text.casefold()
        found = []
        for row in rows:
            tags = tuple(json.loads(row["tags"]))
            if needle in row["title"].casefold() or any(needle == t.casefold() for t in tags):
                found.append(Driver(row["phone"], row["title"], tags))
        return found
