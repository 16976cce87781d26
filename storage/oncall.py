"""The on-call rota of each chat (forum topic): shifts on weekdays and hours, and a weekly
rotation of several people (bot/escalation/oncall.py reads who is on call at a moment)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import AnyRow, Database, to_db_time


@dataclass(frozen=True)
class Shift:
    id: int
    user_id: int
    mode: str  # 'shift' or 'rotation'
    days: tuple[int, ...]  # weekdays, 0 = Monday (a rotation: its handover day)
    start: str  # HH:MM, the chat's local time
    end: str
    position: int


def _shift(row: AnyRow) -> Shift:
    days = tuple(int(day) for day in str(row.days).split(",") if day)
    return Shift(row.id, row.user_id, row.mode, days, row.start, row.end, row.position)


_WHERE = "chat_id = :chat AND thread_id = :thread"


class OnCallRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def of_chat(self, chat_id: int, thread_id: int) -> list[Shift]:
        rows = await self.db.fetchall(
            'SELECT id, user_id, mode, days, start, "end", position FROM oncall_shifts '
            f"WHERE {_WHERE} ORDER BY mode, position, id",
            {"chat": chat_id, "thread": thread_id},
        )
        return [_shift(row) for row in rows]

    async def add_shift(
        self,
        chat_id: int,
        thread_id: int,
        user_id: int,
        days: Sequence[int],
        start: str,
        end: str,
        *,
        by: int,
        now: datetime,
    ) -> None:
        await self.db.execute(
            "INSERT INTO oncall_shifts (chat_id, thread_id, user_id, mode, days, start, "
            '"end", position, added_by, created_at) '
            "VALUES (:chat, :thread, :user, 'shift', :days, :start, :end, 0, :by, :now)",
            {
                "chat": chat_id,
                "thread": thread_id,
                "user": user_id,
                "days": ",".join(str(day) for day in days),
                "start": start,
                "end": end,
                "by": by,
                "now": to_db_time(now),
            },
        )

    async def set_rotation(
        self,
        chat_id: int,
        thread_id: int,
        user_ids: Sequence[int],
        handover_day: int,
        handover_at: str,
        *,
        by: int,
        now: datetime,
    ) -> None:
        """The chat's weekly rotation, replaced as a whole (an empty list ends it)."""
        params = {"chat": chat_id, "thread": thread_id}
        async with self.db.transaction() as tx:
            await tx.execute(
                f"DELETE FROM oncall_shifts WHERE {_WHERE} AND mode = 'rotation'", params
            )
            await tx.executemany(
                "INSERT INTO oncall_shifts (chat_id, thread_id, user_id, mode, days, start, "
                '"end", position, added_by, created_at) VALUES (:chat, :thread, :user, '
                "'rotation', :day, :at, :at, :position, :by, :now)",
                [
                    {
                        **params,
                        "user": user_id,
                        "day": str(handover_day),
                        "at": handover_at,
                        "position": position,
                        "by": by,
                        "now": to_db_time(now),
                    }
                    for position, user_id in enumerate(user_ids)
                ],
            )

    async def remove_user(self, chat_id: int, thread_id: int, user_id: int) -> int:
        """Take a person off the chat's rota (shifts and rotation); how many entries went."""
        return await self.db.execute(
            f"DELETE FROM oncall_shifts WHERE {_WHERE} AND user_id = :user",
            {"chat": chat_id, "thread": thread_id, "user": user_id},
        )
