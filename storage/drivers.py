"""Drivers the bot knows: the title and tags a dispatcher gave a phone, for readable alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import bindparam, text

from storage.db import AnyRow, Database, to_db_time, utcnow


@dataclass(frozen=True)
class Driver:
    phone: str
    title: str
    tags: tuple[str, ...] = ()


def _driver(row: AnyRow) -> Driver:
    return Driver(row.phone, row.title, tuple(json.loads(row.tags)))


_MANY = text("SELECT phone, title, tags FROM drivers WHERE phone IN :phones").bindparams(
    bindparam("phones", expanding=True)
)


class DriversRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, phone: str, title: str, tags: tuple[str, ...] = ()) -> None:
        await self.db.execute(
            "INSERT INTO drivers (phone, title, tags, updated_at) "
            "VALUES (:phone, :title, :tags, :now) "
            "ON CONFLICT (phone) DO UPDATE SET title = excluded.title, tags = excluded.tags, "
            "updated_at = excluded.updated_at",
            {
                "phone": phone,
                "title": title,
                "tags": json.dumps(list(tags), ensure_ascii=False),
                "now": to_db_time(utcnow()),
            },
        )

    async def get(self, phone: str) -> Driver | None:
        row = await self.db.fetchone(
            "SELECT phone, title, tags FROM drivers WHERE phone = :phone", {"phone": phone}
        )
        return _driver(row) if row else None

    async def many(self, phones: set[str]) -> dict[str, Driver]:
        if not phones:
            return {}
        rows = await self.db.fetchall(_MANY, {"phones": list(phones)})
        return {row.phone: _driver(row) for row in rows}

    async def find(self, text: str) -> list[Driver]:
        """Drivers whose title or tag contains ``text`` (case-insensitive)."""
        rows = await self.db.fetchall("SELECT phone, title, tags FROM drivers ORDER BY title")
        needle = text.casefold()
        found = []
        for row in rows:
            driver = _driver(row)
            if needle in driver.title.casefold() or any(
                needle == t.casefold() for t in driver.tags
            ):
                found.append(driver)
        return found
