"""History: what each chat (forum topic) heard and what the bot did for it, kept HISTORY_DAYS.

One row per alert routed to a chat (written by the alert pipeline in the cycle's transaction)
and per action the bot took for a chat (a taxi ordered, a task created or closed, a wagon put on
or taken off tracking, an escalation acknowledged — written by bot/history/recorder.py). The
digests and /report read it by chat and time range (index ``history_chat_at``). A row is unique
per (chat, topic, dedupe key): recording the same event twice keeps one row.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from storage.db import Database, Transaction, from_db_time, in_lists, insert_for, to_db_time
from storage.schema import history


@dataclass(frozen=True)
class HistoryEvent:
    chat_id: int
    thread_id: int
    at: datetime  # aware
    area: str  # drivers | tasks | taxi | wagons | escalations
    kind: str  # an alert kind ("driver.late"), "action.*" or "escalation.acked"
    subject_key: str  # "driver:7999…", "task:T-1", "order:555", "wagon:5467…"
    dedupe_key: str
    subject_title: str = ""
    minutes: int | None = None  # late by / to close / to ack
    amount: Decimal | None = None  # roubles
    fields: dict[str, Any] = field(default_factory=dict)

    def as_values(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "thread_id": self.thread_id,
            "at": to_db_time(self.at),
            "area": self.area,
            "kind": self.kind,
            "subject_key": self.subject_key,
            "subject_title": self.subject_title,
            "minutes": self.minutes,
            "amount_kopecks": _kopecks(self.amount),
            "fields": json.dumps(self.fields, ensure_ascii=False, default=str),
            "dedupe_key": self.dedupe_key,
        }


def _kopecks(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


_COLUMNS = (
    history.c.chat_id,
    history.c.thread_id,
    history.c.at,
    history.c.area,
    history.c.kind,
    history.c.subject_key,
    history.c.dedupe_key,
    history.c.subject_title,
    history.c.minutes,
    history.c.amount_kopecks,
    history.c.fields,
)


def _event(row: Sequence[Any]) -> HistoryEvent:
    chat_id, thread_id, at, area, kind, subject, dedupe, title, minutes, amount, fields = row
    when = from_db_time(at)
    assert when is not None
    return HistoryEvent(
        chat_id=chat_id,
        thread_id=thread_id,
        at=when,
        area=area,
        kind=kind,
        subject_key=subject,
        dedupe_key=dedupe,
        subject_title=title,
        minutes=minutes,
        amount=None if amount is None else Decimal(int(amount)) / 100,
        fields=json.loads(fields or "{}"),
    )


def _range(chat_id: int, thread_id: int, start: datetime, end: datetime) -> Select[Any]:
    """A chat's (topic's) events with ``start <= at < end``, oldest first (``history_chat_at``)."""
    return (
        select(*_COLUMNS)
        .where(
            history.c.chat_id == chat_id,
            history.c.thread_id == thread_id,
            history.c.at >= to_db_time(start),
            history.c.at < to_db_time(end),
        )
        .order_by(history.c.at, history.c.id)
    )


async def insert_events(tx: Transaction, events: Sequence[HistoryEvent]) -> int:
    """Inside the caller's transaction; an event already recorded is skipped. Returns how many
    were new."""
    if not events:
        return 0
    statement = (
        insert_for(tx, history)
        .on_conflict_do_nothing(index_elements=["chat_id", "thread_id", "dedupe_key"])
        .returning(history.c.id)
    )
    return len((await tx.execute(statement, [e.as_values() for e in events])).all())


class HistoryRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, events: Sequence[HistoryEvent]) -> int:
        async with self.db.transaction() as tx:
            return await insert_events(tx, events)

    async def between(
        self, chat_id: int, thread_id: int, start: datetime, end: datetime
    ) -> list[HistoryEvent]:
        """The chat's (topic's) events with ``start <= at < end``, oldest first: one indexed
        range read."""
        query = _range(chat_id, thread_id, start, end)
        return [_event(row) for row in await self.db.fetchall(query)]

    async def stream_between(
        self, chat_id: int, thread_id: int, start: datetime, end: datetime, *, batch: int = 5000
    ) -> AsyncIterator[list[HistoryEvent]]:
        """:meth:`between`, ``batch`` events at a time, each batch its own short read (keyset
        pages on the index): a month's report over a busy chat is never all in memory, and it
        never holds a connection other reads wait for."""
        after: tuple[str, int] | None = None
        while True:
            query = _range(chat_id, thread_id, start, end).add_columns(history.c.id)
            if after is not None:
                query = query.where(
                    or_(
                        history.c.at > after[0],
                        and_(history.c.at == after[0], history.c.id > after[1]),
                    )
                )
            rows = await self.db.fetchall(query.limit(batch))
            if not rows:
                return
            last = rows[-1]
            after = (last[2], last[-1])
            yield [_event(row[:-1]) for row in rows]
            if len(rows) < batch:
                return

    async def first_seen(
        self, subject_keys: Collection[str], kinds: Collection[str]
    ) -> dict[str, datetime]:
        """The earliest event of one of ``kinds`` per subject (when a task was created)."""
        found: dict[str, datetime] = {}
        for _marks, params in in_lists("s", subject_keys):
            query = (
                select(history.c.subject_key, func.min(history.c.at))
                .where(history.c.subject_key.in_(list(params.values())))
                .where(history.c.kind.in_(list(kinds)))
                .group_by(history.c.subject_key)
            )
            for subject, at in await self.db.fetchall(query):
                when = from_db_time(at)
                if when is not None:
                    found[subject] = when
        return found

    async def oldest(self) -> datetime | None:
        return from_db_time(await self.db.scalar(select(func.min(history.c.at))))
