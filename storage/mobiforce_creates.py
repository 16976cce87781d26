"""Mobiforce tasks the bot creates, by their marker: the number the bot gives the task.

create-task cannot be undone, and its answer can be lost after the task was made. So the bot
records a confirmed task BEFORE sending it, under a number of its own (create-task's documented
``number``; get-task answers it as ``name``), and looks for that number before anything is
sent again. The states:

``sending``  the request is out (or about to be); no answer yet
``unknown``  the answer was lost and the task was not found (yet): the person decides
``created``  Mobiforce has the task (``task_id`` known)
``dropped``  the person chose not to send it again; if it turns up after all, it is ``created``

What the bot set (client, executor, address) stays here: get-task does not show them, so cards
and alerts name them from this record.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from storage.db import Database, from_db_time, to_db_time, utcnow

State = Literal["sending", "unknown", "created", "dropped"]
# How long a task sent without an answer may still turn up (the change feed keeps a week).
TURN_UP_WINDOW = timedelta(days=7)
_COLUMNS = "marker, task_id, state, chat_id, thread_id, user_id, payload, feed_usn, created_at"


@dataclass(frozen=True)
class TaskCreate:
    marker: str
    task_id: int | None
    state: State
    chat_id: int
    thread_id: int
    user_id: int
    payload: dict[str, Any]
    feed_usn: int | None
    created_at: datetime


def _record(row: Any) -> TaskCreate:
    created = from_db_time(row.created_at)
    assert created is not None
    return TaskCreate(
        marker=row.marker,
        task_id=row.task_id,
        state=row.state,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        user_id=row.user_id,
        payload=json.loads(row.payload),
        feed_usn=row.feed_usn,
        created_at=created,
    )


class MobiforceCreatesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def sending(
        self,
        marker: str,
        *,
        chat_id: int,
        thread_id: int,
        user_id: int,
        payload: Mapping[str, Any],
        feed_usn: int | None,
    ) -> bool:
        """Record a task about to be sent; False if this marker was recorded before."""
        now = to_db_time(utcnow())
        added = await self.db.execute(
            "INSERT INTO mobiforce_creates (marker, task_id, state, chat_id, thread_id, user_id, "
            "payload, feed_usn, created_at, updated_at) VALUES (:marker, NULL, 'sending', "
            ":chat_id, :thread_id, :user_id, :payload, :feed_usn, :now, :now) "
            "ON CONFLICT (marker) DO NOTHING",
            {
                "marker": marker,
                "chat_id": chat_id,
                "thread_id": thread_id,
                "user_id": user_id,
                "payload": json.dumps(dict(payload), ensure_ascii=False),
                "feed_usn": feed_usn,
                "now": now,
            },
        )
        return added == 1

    async def get(self, marker: str) -> TaskCreate | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM mobiforce_creates WHERE marker = :marker", {"marker": marker}
        )
        return _record(row) if row else None

    async def move(self, marker: str, wanted: Collection[State], to: State) -> bool:
        """``wanted`` -> ``to`` if the record is in one of ``wanted`` now: a button pressed
        twice, or by two people at once, acts once."""
        names = {f"s{i}": state for i, state in enumerate(wanted)}
        moved = await self.db.execute(
            f"UPDATE mobiforce_creates SET state = :to, updated_at = :now "
            f"WHERE marker = :marker AND state IN ({', '.join(':' + n for n in names)})",
            {"to": to, "now": to_db_time(utcnow()), "marker": marker, **names},
        )
        return moved == 1

    async def created(self, marker: str, task_id: int) -> None:
        await self.db.execute(
            "UPDATE mobiforce_creates SET state = 'created', task_id = :task_id, updated_at = :now "
            "WHERE marker = :marker",
            {"task_id": task_id, "now": to_db_time(utcnow()), "marker": marker},
        )

    async def turned_up(self, numbers: Mapping[str, int]) -> list[TaskCreate]:
        """Tasks the feed shows (number -> id) that were sent and not known to exist: now they
        are (a create whose answer was lost went through after all)."""
        if not numbers:
            return []
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM mobiforce_creates "
            "WHERE state <> 'created' AND created_at > :since",
            {"since": to_db_time(utcnow() - TURN_UP_WINDOW)},
        )
        found = [_record(row) for row in rows if row.marker in numbers]
        for record in found:
            await self.created(record.marker, numbers[record.marker])
        return found

    async def payloads(self, task_ids: Collection[int]) -> dict[int, dict[str, Any]]:
        """What the bot set on each of these tasks that it created."""
        if not task_ids:
            return {}
        names = {f"t{i}": task_id for i, task_id in enumerate(task_ids)}
        rows = await self.db.fetchall(
            f"SELECT task_id, payload FROM mobiforce_creates "
            f"WHERE task_id IN ({', '.join(':' + n for n in names)})",
            names,
        )
        return {int(row.task_id): json.loads(row.payload) for row in rows}
