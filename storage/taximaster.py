"""Taxi-Master orders the bot sent, by order key (the exact parameters sent, hashed).

A confirmed order is recorded BEFORE it is sent (``order_id`` NULL) and its id once TMWeb
answers. So a second press of a repeated confirmation, even after a restart, finds the id here
and orders nothing: the bot's own half of create_order's idempotency (the client keeps the same
map in memory only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storage.db import Database, to_db_time, utcnow


@dataclass(frozen=True)
class SentOrder:
    order_key: str
    order_id: int | None
    chat_id: int
    thread_id: int
    user_id: int
    payload: dict[str, Any]


class TaxiMasterOrdersRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, order_key: str) -> SentOrder | None:
        row = await self.db.fetchone(
            "SELECT order_key, order_id, chat_id, thread_id, user_id, payload "
            "FROM taximaster_orders WHERE order_key = :order_key",
            {"order_key": order_key},
        )
        if row is None:
            return None
        return SentOrder(**{**row._asdict(), "payload": json.loads(row.payload)})

    async def sending(
        self,
        order_key: str,
        *,
        chat_id: int,
        thread_id: int,
        user_id: int,
        payload: Mapping[str, Any],
    ) -> None:
        """Record an order about to be sent (kept as it is if it was recorded before)."""
        now = to_db_time(utcnow())
        await self.db.execute(
            "INSERT INTO taximaster_orders "
            "(order_key, order_id, chat_id, thread_id, user_id, payload, created_at, updated_at) "
            "VALUES (:order_key, NULL, :chat_id, :thread_id, :user_id, :payload, :now, :now) "
            "ON CONFLICT (order_key) DO NOTHING",
            {
                "order_key": order_key,
                "chat_id": chat_id,
                "thread_id": thread_id,
                "user_id": user_id,
                "payload": json.dumps(dict(payload), ensure_ascii=False),
                "now": now,
            },
        )

    async def created(self, order_key: str, order_id: int) -> None:
        await self.db.execute(
            "UPDATE taximaster_orders SET order_id = :order_id, updated_at = :now "
            "WHERE order_key = :order_key",
            {"order_id": order_id, "now": to_db_time(utcnow()), "order_key": order_key},
        )

    async def known_ids(self) -> dict[str, int]:
        """Order key -> id of every order TMWeb confirmed."""
        rows = await self.db.fetchall(
            "SELECT order_key, order_id FROM taximaster_orders WHERE order_id IS NOT NULL"
        )
        return {row.order_key: int(row.order_id) for row in rows}
