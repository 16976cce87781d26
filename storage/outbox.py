"""The outbox: every alert a chat must hear, written with the watcher's cursor in one
transaction, and drained by the sender. Unique per (chat, topic, dedupe_key).

The sender *claims* a chat's due rows before it sends them (:meth:`OutboxRepo.claim_for_chat`):
the rows are locked with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer anyway)
and marked with this process and a lease, so a second sender on the same database takes other
rows, never these. Marking a row sent, failed, dropped or postponed ends its claim; a sender
that stops early releases what it did not send; a claim whose sender died ends with its lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update

from storage.db import (
    AnyRow,
    Database,
    Transaction,
    from_db_time,
    in_lists,
    insert_for,
    to_db_time,
    utcnow,
)
from storage.schema import outbox

CLAIM_LEASE = timedelta(minutes=5)  # how long a dead sender's claim keeps others off its rows


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    thread_id: int
    kind: str
    severity: int
    subject_key: str
    payload: str
    attempts: int
    message_id: int | None = None


@dataclass(frozen=True)
class NewOutboxRow:
    chat_id: int
    thread_id: int
    dedupe_key: str
    kind: str
    severity: int
    subject_key: str
    payload: str
    not_before: datetime


_COLUMNS = (
    outbox.c.id,
    outbox.c.chat_id,
    outbox.c.thread_id,
    outbox.c.kind,
    outbox.c.severity,
    outbox.c.subject_key,
    outbox.c.payload,
    outbox.c.attempts,
    outbox.c.message_id,
)
_UNCLAIMED = {"claimed_by": None, "claimed_until": None}


def _row(row: AnyRow) -> OutboxRow:
    return OutboxRow(*row)  # _COLUMNS's order


def _due(now: str) -> ColumnElement[bool]:
    """Pending, its time has come, and no live claim of another sender on it."""
    return and_(
        outbox.c.state == "pending",
        outbox.c.not_before <= now,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
    )


async def insert_rows(tx: Transaction, rows: list[NewOutboxRow]) -> int:
    """Insert inside the caller's transaction; rows already there (same dedupe) are skipped.
    Returns how many were new."""
    if not rows:
        return 0
    now = to_db_time(utcnow())
    statement = (
        insert_for(tx, outbox)
        .on_conflict_do_nothing(index_elements=["chat_id", "thread_id", "dedupe_key"])
        .returning(outbox.c.id)
    )
    values = [
        {
            "chat_id": r.chat_id,
            "thread_id": r.thread_id,
            "dedupe_key": r.dedupe_key,
            "kind": r.kind,
            "severity": r.severity,
            "subject_key": r.subject_key,
            "payload": r.payload,
            "not_before": to_db_time(r.not_before),
            "created_at": now,
        }
        for r in rows
    ]
    return len((await tx.execute(statement, values)).all())


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Who claims rows: this process (and this repository, should a process hold two).
        self.claimer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._claimed: set[int] = set()  # claimed here, not yet marked: what release() ends

    async def due(self, limit: int = 500) -> list[OutboxRow]:
        rows = await self.db.fetchall(
            select(*_COLUMNS).where(_due(to_db_time(utcnow()))).order_by(outbox.c.id).limit(limit)
        )
        return [_row(row) for row in rows]

    async def due_for_chat(self, chat_id: int, limit: int = 500) -> list[OutboxRow]:
        """All of one chat's due rows, so everything waiting for it goes out together."""
        rows = await self.db.fetchall(chat_due_query(chat_id, to_db_time(utcnow()), limit=limit))
        return [_row(row) for row in rows]

    async def claim_for_chat(
        self, chat_id: int, *, limit: int = 500, lease: timedelta = CLAIM_LEASE
    ) -> list[OutboxRow]:
        """One chat's due rows, claimed for this sender until they are marked or released."""
        now = utcnow()
        async with self.db.transaction() as tx:
            query = chat_due_query(chat_id, to_db_time(now), limit=limit)
            rows = (await tx.execute(query.with_for_update(skip_locked=True))).all()
            if rows:
                await tx.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in rows]))
                    .values(claimed_by=self.claimer, claimed_until=to_db_time(now + lease))
                )
        self._claimed.update(row.id for row in rows)
        return [_row(row) for row in rows]

    async def release(self, ids: Sequence[int]) -> None:
        """This sender's claims on ``ids`` end (rows it did not send: due again for anyone).
        Rows it marked since are no longer claimed: nothing to write for them."""
        still = [i for i in ids if i in self._claimed]
        if still:
            await self.db.execute(
                update(outbox)
                .where(outbox.c.id.in_(still), outbox.c.claimed_by == self.claimer)
                .values(_UNCLAIMED)
            )
            self._claimed.difference_update(still)

    async def release_all(self) -> int:
        """Every claim ends: for a sender that knows it is the only one (at its start)."""
        self._claimed.clear()
        return await self.db.execute(
            update(outbox).where(outbox.c.claimed_by.is_not(None)).values(_UNCLAIMED)
        )

    async def next_due_at(self) -> datetime | None:
        value = await self.db.scalar(
            select(func.min(outbox.c.not_before)).where(outbox.c.state == "pending")
        )
        return from_db_time(value)

    async def _update(self, ids: list[int], values: dict[str, Any]) -> None:
        """Rows that end their claim (sent, failed, dropped, postponed)."""
        if ids:
            await self.db.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values({**values, **_UNCLAIMED})
            )
            self._claimed.difference_update(ids)

    async def mark_sent(self, ids: list[int], message_id: int | None) -> None:
        await self._update(
            ids,
            {
                "state": "sent",
                "sent_at": to_db_time(utcnow()),
                "message_id": message_id,
                "attempts": outbox.c.attempts + 1,
            },
        )

    async def mark_failed(self, ids: list[int], error: str) -> None:
        await self._update(
            ids, {"state": "failed", "last_error": error[:500], "attempts": outbox.c.attempts + 1}
        )

    async def mark_dropped(self, ids: list[int], reason: str) -> None:
        """Queued, then no longer wanted by its chat when it could be sent (muted, unsubscribed,
        access revoked, group disabled): not delivered, counted apart from failures."""
        await self._update(ids, {"state": "dropped", "last_error": reason[:500]})

    async def postpone(self, ids: list[int], until: datetime, error: str | None) -> None:
        values: dict[str, Any] = {"not_before": to_db_time(until)}
        if error is not None:
            values |= {"last_error": error, "attempts": outbox.c.attempts + 1}
        await self._update(ids, values)

    async def fail_chat(self, chat_id: int, error: str) -> None:
        await self.db.execute(
            update(outbox)
            .where(outbox.c.chat_id == chat_id, outbox.c.state == "pending")
            .values(state="failed", last_error=error, **_UNCLAIMED)
        )

    async def rows_of_message(self, chat_id: int, message_id: int) -> list[OutboxRow]:
        rows = await self.db.fetchall(
            select(*_COLUMNS).where(outbox.c.chat_id == chat_id, outbox.c.message_id == message_id)
        )
        return [_row(row) for row in rows]

    async def of_alert(self, chat_id: int, thread_id: int, dedupe_key: str) -> OutboxRow | None:
        """The row of one alert in one chat (topic): its message, once sent."""
        rows = await self.db.fetchall(
            select(*_COLUMNS).where(
                outbox.c.chat_id == chat_id,
                outbox.c.thread_id == thread_id,
                outbox.c.dedupe_key == dedupe_key,
            )
        )
        return _row(rows[0]) if rows else None

    async def get(self, outbox_id: int) -> OutboxRow | None:
        row = await self.db.fetchone(select(*_COLUMNS).where(outbox.c.id == outbox_id))
        return _row(row) if row else None

    async def depth(self) -> int:
        count = await self.db.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.state == "pending")
        )
        return int(count or 0)

    async def counts_since(self, since: datetime) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT state, count(*) AS n FROM outbox WHERE created_at >= :since GROUP BY state",
            {"since": to_db_time(since)},
        )
        return {row.state: row.n for row in rows}

    async def failed_by_chat(self, since: datetime) -> list[tuple[int, int, str]]:
        """(chat, failed rows, the latest reason) for rows created since ``since``, worst first."""
        rows = await self.db.fetchall(
            "SELECT chat_id, count(*) AS n, "
            "(SELECT last_error FROM outbox AS o2 WHERE o2.chat_id = outbox.chat_id "
            " AND o2.state = 'failed' ORDER BY o2.id DESC LIMIT 1) AS reason "
            "FROM outbox WHERE state = 'failed' AND created_at >= :since "
            "GROUP BY chat_id ORDER BY n DESC LIMIT 10",
            {"since": to_db_time(since)},
        )
        return [(row.chat_id, row.n, row.reason or "") for row in rows]

    async def last_sent_at(
        self, chat_id: int, thread_id: int, subject_key: str, kinds: Collection[str]
    ) -> datetime | None:
        """When news of ``kinds`` about this subject last went out to this chat (topic)."""
        latest: datetime | None = None
        for marks, params in in_lists("k", kinds):
            row = await self.db.fetchone(
                "SELECT max(sent_at) AS latest FROM outbox WHERE chat_id = :chat "
                "AND thread_id = :thread AND subject_key = :subject AND state = 'sent' "
                f"AND kind IN ({marks})",
                {"chat": chat_id, "thread": thread_id, "subject": subject_key, **params},
            )
            moment = from_db_time(row.latest) if row else None
            if moment is not None and (latest is None or moment > latest):
                latest = moment
        return latest


def chat_due_query(chat_id: int, now: str, *, limit: int) -> Select[Any]:
    """One chat's due rows, oldest first (through the index outbox_chat_due)."""
    return (
        select(*_COLUMNS)
        .where(outbox.c.chat_id == chat_id, _due(now))
        .order_by(outbox.c.id)
        .limit(limit)
    )
