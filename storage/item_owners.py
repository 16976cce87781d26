"""Who owns an item the bot made: the chat (and forum topic) where a taxi order, a Mobiforce
task or a wagon put on tracking was created, and the person who created it.

An item is named by its alert subject as subscriptions compare it (:func:`filter_key`:
``order:123``, ``task:tg-240513-k7q2``, ``wagon:54676515``), so one key relates an item's owner,
the chats watching it (subscriptions naming that subject) and its alerts. Each create flow
writes the owner once the item's id is known; a later create of the same item by another chat
(a wagon number put on tracking anew) makes that chat the owner: the new request is theirs.
Who may see or act on an item is decided from this by ``bot/ownership.py``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, from_db_time, in_lists, to_db_time, utcnow
from storage.subscriptions import filter_key

_COLUMNS = "subject_key, chat_id, thread_id, user_id, created_at"


@dataclass(frozen=True)
class Owner:
    subject_key: str  # as filter_key gives it
    chat_id: int
    thread_id: int
    user_id: int
    created_at: datetime


def _owner(row: Any) -> Owner:
    return Owner(
        subject_key=row.subject_key,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        user_id=row.user_id,
        created_at=from_db_time(row.created_at) or utcnow(),
    )


class ItemOwnersRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, subject: str, *, chat_id: int, thread_id: int, user_id: int) -> None:
        """``chat_id`` (topic ``thread_id``) owns ``subject`` from now on; ``user_id`` made it."""
        await self.db.execute(
            f"INSERT INTO item_owners ({_COLUMNS}) "
            "VALUES (:key, :chat_id, :thread_id, :user_id, :now) "
            "ON CONFLICT (subject_key) DO UPDATE SET chat_id = excluded.chat_id, "
            "thread_id = excluded.thread_id, user_id = excluded.user_id, "
            "created_at = excluded.created_at",
            {
                "key": filter_key(subject),
                "chat_id": chat_id,
                "thread_id": thread_id,
                "user_id": user_id,
                "now": to_db_time(utcnow()),
            },
        )

    async def get(self, subject: str) -> Owner | None:
        return (await self.of([subject])).get(filter_key(subject))

    async def of(self, subjects: Collection[str]) -> dict[str, Owner]:
        """The owners of those of ``subjects`` that have one, by :func:`filter_key`."""
        found: dict[str, Owner] = {}
        for marks, params in in_lists("s", {filter_key(s) for s in subjects}):
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM item_owners WHERE subject_key IN ({marks})", params
            )
            found.update({row.subject_key: _owner(row) for row in rows})
        return found

    async def of_type(self, subject_type: str) -> list[Owner]:
        """Every owned item of one type (``task``, ``order``…), an indexed range read."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM item_owners WHERE subject_key >= :low AND subject_key < :high",
            {"low": f"{subject_type}:", "high": f"{subject_type};"},
        )
        return [_owner(row) for row in rows]
