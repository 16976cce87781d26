"""Escalation chains (bot/escalation): the open ones and their next step, the copies they sent,
and each chat's (topic's) own chain.

A chain's step is performed exactly once per step, at most once more after a crash: the job
*claims* the chain (this process, a lease) before it performs the step, records every message
it sends as a copy (a step redone after a crash skips whoever already has one), and advances
the step and releases the claim in one statement.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import AnyRow, Database, Transaction, from_db_time, in_lists, to_db_time

OPEN = "open"


@dataclass(frozen=True)
class NewEscalation:
    chat_id: int
    thread_id: int
    subject_key: str
    kind: str
    dedupe_key: str
    payload: str


@dataclass(frozen=True)
class Resolution:
    """News that ends a subject's chains of ``kinds`` by itself (``by_kind``: the news)."""

    subject_key: str
    kinds: tuple[str, ...]
    by_kind: str


@dataclass(frozen=True)
class Escalation:
    id: int
    chat_id: int
    thread_id: int
    subject_key: str
    kind: str
    dedupe_key: str
    payload: str
    steps: str | None  # JSON, set when armed
    rounds: int
    step: int
    next_at: datetime
    state: str
    opened_at: datetime
    closed_at: datetime | None
    closed_by: int | None
    closed_reason: str | None


@dataclass(frozen=True)
class Copy:
    escalation_id: int
    step: int
    chat_id: int
    message_id: int | None
    text: str
    error: str | None


_COLUMNS = (
    "id, chat_id, thread_id, subject_key, kind, dedupe_key, payload, steps, rounds, step, "
    "next_at, state, opened_at, closed_at, closed_by, closed_reason"
)
_COPY_COLUMNS = "escalation_id, step, chat_id, message_id, text, error"


def _escalation(row: AnyRow) -> Escalation:
    return Escalation(
        id=row.id,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        subject_key=row.subject_key,
        kind=row.kind,
        dedupe_key=row.dedupe_key,
        payload=row.payload,
        steps=row.steps,
        rounds=row.rounds,
        step=row.step,
        next_at=from_db_time(row.next_at),  # type: ignore[arg-type]
        state=row.state,
        opened_at=from_db_time(row.opened_at),  # type: ignore[arg-type]
        closed_at=from_db_time(row.closed_at),
        closed_by=row.closed_by,
        closed_reason=row.closed_reason,
    )


def _copy(row: AnyRow) -> Copy:
    return Copy(row.escalation_id, row.step, row.chat_id, row.message_id, row.text, row.error)


async def open_escalations(tx: Transaction, new: Sequence[NewEscalation], now: datetime) -> None:
    """Open a chain per (chat, topic, subject, kind) unless one is open already (inside the
    watcher's transaction: the chain exists exactly when its alert was routed). It waits to be
    armed (the chat's chain read) by the escalation job at once.

    One statement for the whole batch (run once per chain, each seeing the ones before it): a
    burst of urgent alerts into many chats costs one round trip, not two per chain. The casts
    type the selected values for PostgreSQL, which cannot infer a bare parameter's type there."""
    if not new:
        return
    await tx.execute(
        "INSERT INTO escalations (chat_id, thread_id, subject_key, kind, dedupe_key, payload, "
        "next_at, opened_at) "
        "SELECT CAST(:chat AS BIGINT), CAST(:thread AS BIGINT), CAST(:subject AS TEXT), "
        "CAST(:kind AS TEXT), CAST(:dedupe AS TEXT), CAST(:payload AS TEXT), CAST(:now AS TEXT), "
        "CAST(:now AS TEXT) "
        "WHERE NOT EXISTS (SELECT 1 FROM escalations WHERE subject_key = :subject "
        "AND state = 'open' AND chat_id = :chat AND thread_id = :thread AND kind = :kind) "
        "ON CONFLICT (chat_id, thread_id, dedupe_key) DO NOTHING",
        [
            {
                "chat": chain.chat_id,
                "thread": chain.thread_id,
                "subject": chain.subject_key,
                "kind": chain.kind,
                "dedupe": chain.dedupe_key,
                "payload": chain.payload,
                "now": to_db_time(now),
            }
            for chain in new
        ],
    )


async def resolve_escalations(
    tx: Transaction, resolutions: Sequence[Resolution], now: datetime
) -> None:
    """The condition cleared by itself: the subject's open chains of those kinds end, and their
    copies are owed a line saying so (``notice``)."""
    for item in resolutions:
        for marks, params in in_lists("k", item.kinds):
            await tx.execute(
                "UPDATE escalations SET state = 'resolved', closed_at = :now, "
                "closed_reason = :reason, notice = 1, claimed_by = NULL, claimed_until = NULL "
                f"WHERE subject_key = :subject AND state = 'open' AND kind IN ({marks})",
                {
                    **params,
                    "now": to_db_time(now),
                    "reason": item.by_kind,
                    "subject": item.subject_key,
                },
            )


class EscalationsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, escalation_id: int) -> Escalation | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM escalations WHERE id = :id", {"id": escalation_id}
        )
        return _escalation(row) if row else None

    async def due(self, now: datetime, limit: int = 100) -> list[Escalation]:
        """Open chains whose next step is due and that no live process holds."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM escalations WHERE state = 'open' AND next_at <= :now "
            "AND (claimed_until IS NULL OR claimed_until < :now) ORDER BY next_at, id LIMIT :limit",
            {"now": to_db_time(now), "limit": limit},
        )
        return [_escalation(row) for row in rows]

    async def claim(
        self, escalation_id: int, step: int, owner: str, until: datetime, now: datetime
    ) -> bool:
        """Take the chain's step ``step`` for this process; False when another has it, it moved
        on, or it closed meanwhile."""
        changed = await self.db.execute(
            "UPDATE escalations SET claimed_by = :owner, claimed_until = :until "
            "WHERE id = :id AND state = 'open' AND step = :step "
            "AND (claimed_until IS NULL OR claimed_until < :now)",
            {
                "owner": owner,
                "until": to_db_time(until),
                "id": escalation_id,
                "step": step,
                "now": to_db_time(now),
            },
        )
        return changed == 1

    async def arm(
        self, escalation_id: int, owner: str, steps: str, rounds: int, next_at: datetime
    ) -> bool:
        """The chat's chain, fixed for this escalation, and when its first step is due."""
        changed = await self.db.execute(
            "UPDATE escalations SET steps = :steps, rounds = :rounds, next_at = :next, "
            "claimed_by = NULL, claimed_until = NULL "
            "WHERE id = :id AND claimed_by = :owner AND state = 'open'",
            {
                "steps": steps,
                "rounds": rounds,
                "next": to_db_time(next_at),
                "id": escalation_id,
                "owner": owner,
            },
        )
        return changed == 1

    async def advance(
        self, escalation_id: int, owner: str, step: int, next_at: datetime | None, now: datetime
    ) -> bool:
        """The step is done: the next one is due at ``next_at``; None ends the chain (every
        round done, nobody took it)."""
        if next_at is None:
            sql = (
                "UPDATE escalations SET step = :step, state = 'exhausted', closed_at = :now, "
                "closed_reason = 'exhausted', claimed_by = NULL, claimed_until = NULL "
                "WHERE id = :id AND claimed_by = :owner AND state = 'open'"
            )
        else:
            sql = (
                "UPDATE escalations SET step = :step, next_at = :next, claimed_by = NULL, "
                "claimed_until = NULL WHERE id = :id AND claimed_by = :owner AND state = 'open'"
            )
        changed = await self.db.execute(
            sql,
            {
                "step": step,
                "next": to_db_time(next_at) if next_at else None,
                "now": to_db_time(now),
                "id": escalation_id,
                "owner": owner,
            },
        )
        return changed == 1

    async def release(self, escalation_id: int, owner: str, retry_at: datetime) -> None:
        """The step could not be done now (Telegram's flood wait, the network): later."""
        await self.db.execute(
            "UPDATE escalations SET claimed_by = NULL, claimed_until = NULL, next_at = :at "
            "WHERE id = :id AND claimed_by = :owner",
            {"at": to_db_time(retry_at), "id": escalation_id, "owner": owner},
        )

    async def close(
        self, escalation_id: int, *, state: str, by: int | None, reason: str, now: datetime
    ) -> bool:
        """End an open chain (taken, switched off); True when this call ended it."""
        changed = await self.db.execute(
            "UPDATE escalations SET state = :state, closed_at = :now, closed_by = :by, "
            "closed_reason = :reason, notice = :notice, claimed_by = NULL, claimed_until = NULL "
            "WHERE id = :id AND state = 'open'",
            {
                "state": state,
                "now": to_db_time(now),
                "by": by,
                "reason": reason,
                "notice": 0 if state == "off" else 1,
                "id": escalation_id,
            },
        )
        return changed == 1

    async def open_of(
        self, chat_id: int, thread_id: int, subjects: Collection[str]
    ) -> list[Escalation]:
        """A chat's (topic's) open chains about these subjects."""
        found: list[Escalation] = []
        for marks, params in in_lists("s", subjects):
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM escalations WHERE state = 'open' "
                f"AND subject_key IN ({marks}) AND chat_id = :chat AND thread_id = :thread",
                {**params, "chat": chat_id, "thread": thread_id},
            )
            found += [_escalation(row) for row in rows]
        return found

    async def open_chains(self, limit: int = 50) -> list[Escalation]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM escalations WHERE state = 'open' "
            "ORDER BY opened_at, id LIMIT :limit",
            {"limit": limit},
        )
        return [_escalation(row) for row in rows]

    async def count_open(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM escalations WHERE state = 'open'")
        return int(row.n) if row else 0

    async def with_notice(self, limit: int = 50) -> list[Escalation]:
        """Closed chains whose copies still need the line that says how it ended."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM escalations WHERE notice = 1 ORDER BY id LIMIT :limit",
            {"limit": limit},
        )
        return [_escalation(row) for row in rows]

    async def take_notice(self, escalation_id: int) -> bool:
        """Take the owed edits of a chain's copies for this caller (one caller makes them)."""
        changed = await self.db.execute(
            "UPDATE escalations SET notice = 0 WHERE id = :id AND notice = 1", {"id": escalation_id}
        )
        return changed == 1

    # --- the copies a chain sent ---------------------------------------------------------------
    async def add_copy(
        self,
        escalation_id: int,
        step: int,
        chat_id: int,
        *,
        message_id: int | None,
        text: str,
        error: str | None,
        now: datetime,
    ) -> None:
        await self.db.execute(
            "INSERT INTO escalation_copies "
            "(escalation_id, step, chat_id, message_id, text, error, sent_at) "
            "VALUES (:id, :step, :chat, :message, :text, :error, :now) "
            "ON CONFLICT (escalation_id, step, chat_id) DO NOTHING",
            {
                "id": escalation_id,
                "step": step,
                "chat": chat_id,
                "message": message_id,
                "text": text,
                "error": error,
                "now": to_db_time(now),
            },
        )

    async def copies(self, escalation_id: int) -> list[Copy]:
        rows = await self.db.fetchall(
            f"SELECT {_COPY_COLUMNS} FROM escalation_copies WHERE escalation_id = :id "
            "ORDER BY step, chat_id",
            {"id": escalation_id},
        )
        return [_copy(row) for row in rows]

    async def copy_at(self, chat_id: int, message_id: int) -> Copy | None:
        """The copy that is this message (a button on it was pressed)."""
        row = await self.db.fetchone(
            f"SELECT {_COPY_COLUMNS} FROM escalation_copies "
            "WHERE chat_id = :chat AND message_id = :message",
            {"chat": chat_id, "message": message_id},
        )
        return _copy(row) if row else None

    # --- each chat's chain ---------------------------------------------------------------------
    async def chain(self, chat_id: int, thread_id: int) -> str | None:
        """The chat's (topic's) own chain as JSON; a topic without one has its chat's."""
        for thread in dict.fromkeys((thread_id, 0)):
            row = await self.db.fetchone(
                "SELECT steps FROM escalation_chains WHERE chat_id = :chat AND thread_id = :thread",
                {"chat": chat_id, "thread": thread},
            )
            if row is not None:
                return str(row.steps)
        return None

    async def set_chain(
        self, chat_id: int, thread_id: int, steps: str | None, *, by: int, now: datetime
    ) -> None:
        """Store the chat's chain (None: back to the default)."""
        params = {
            "chat": chat_id,
            "thread": thread_id,
            "steps": steps,
            "by": by,
            "now": to_db_time(now),
        }
        if steps is None:
            await self.db.execute(
                "DELETE FROM escalation_chains WHERE chat_id = :chat AND thread_id = :thread",
                params,
            )
            return
        await self.db.execute(
            "INSERT INTO escalation_chains (chat_id, thread_id, steps, updated_by, updated_at) "
            "VALUES (:chat, :thread, :steps, :by, :now) ON CONFLICT (chat_id, thread_id) "
            "DO UPDATE SET steps = excluded.steps, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at",
            params,
        )

    async def ack_seconds(self) -> list[float]:
        """Time to acknowledge of every chain a person took (for /metrics and digests)."""
        rows = await self.db.fetchall(
            "SELECT opened_at, closed_at FROM escalations "
            "WHERE state = 'acked' AND closed_at IS NOT NULL"
        )
        return [
            (from_db_time(r.closed_at) - from_db_time(r.opened_at)).total_seconds()  # type: ignore[operator]
            for r in rows
        ]
