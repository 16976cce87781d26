"""One watcher cycle against the database: what routing reads, and the writes in ONE transaction.

The read (:func:`read_audience`) looks only at the chats an alert could reach: a cycle about a
few subjects costs the same whether the tables hold a thousand rows or a hundred thousand.

The write (:func:`commit_cycle`): outbox rows and their history events, inhibiting states,
the silences a new event ends, the subjects that ended (or came back), the watcher's snapshots
and its cursor. Kill the process at any instant: either all of it is written or none of it, and
the next poll fetches the same events again (dedupe keys keep them single).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.alert_state import AlertStateRepo
from storage.db import Database, in_lists, to_db_time
from storage.escalations import (
    NewEscalation,
    Resolution,
    open_escalations,
    resolve_escalations,
)
from storage.history import HistoryEvent, insert_events
from storage.outbox import NewOutboxRow, insert_rows
from storage.snapshots import SnapshotsRepo


@dataclass(frozen=True)
class Audience:
    """Who among some chats may hear alerts: approved groups, users with a role, admins."""

    allowed: set[int]
    admins: set[int]


async def read_audience(db: Database, chat_ids: Collection[int]) -> Audience:
    """The audience among ``chat_ids`` (a private chat's id is its user's id), by primary key."""
    groups = [chat for chat in chat_ids if chat < 0]
    people = [chat for chat in chat_ids if chat > 0]
    allowed: set[int] = set()
    admins: set[int] = set()
    for marks, params in in_lists("c", groups):
        rows = await db.fetchall(
            f"SELECT id FROM chats WHERE status = 'approved' AND id IN ({marks})", params
        )
        allowed |= {row.id for row in rows}
    for marks, params in in_lists("u", people):
        rows = await db.fetchall(
            f"SELECT id, role FROM users WHERE role IS NOT NULL AND id IN ({marks})", params
        )
        allowed |= {row.id for row in rows}
        admins |= {row.id for row in rows if row.role == "admin"}
    return Audience(allowed, admins)


@dataclass(frozen=True)
class EndedSubject:
    """A subject whose news ended it: pruned later (see storage.retention)."""

    key: str
    source: str
    subject_id: str


@dataclass
class CycleWrite:
    source: str
    rows: list[NewOutboxRow] = field(default_factory=list)
    state_changes: list[tuple[str, str, bool]] = field(default_factory=list)  # subject, state, on
    changed_subjects: set[tuple[str, str]] = field(default_factory=set)  # (subject, kind)
    ended: list[EndedSubject] = field(default_factory=list)
    revived: set[str] = field(default_factory=set)  # subjects with news after they ended
    snapshots: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    cursor: str | None = None  # None: keep the stored cursor
    history: list[HistoryEvent] = field(default_factory=list)  # what the chats heard
    # Escalation chains the alerts open, and the news that ends chains by itself.
    escalations: list[NewEscalation] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)


async def commit_cycle(db: Database, write: CycleWrite, now: datetime) -> int:
    """Write it all atomically; returns the number of new outbox rows."""
    async with db.transaction() as tx:
        inserted = await insert_rows(tx, write.rows)
        await insert_events(tx, write.history)
        # The last change of each (subject, state) is the one that holds.
        final = {(subject, state): on for subject, state, on in write.state_changes}
        await tx.executemany(
            "INSERT INTO subject_states (subject_key, state, since) "
            "VALUES (:subject, :state, :since) ON CONFLICT (subject_key, state) DO NOTHING",
            [
                {"subject": s, "state": st, "since": to_db_time(now)}
                for (s, st), on in final.items()
                if on
            ],
        )
        await tx.executemany(
            "DELETE FROM subject_states WHERE subject_key = :subject AND state = :state",
            [{"subject": s, "state": st} for (s, st), on in final.items() if not on],
        )
        # A subject that does something new ends the "acknowledged" silences of its other kinds.
        await tx.executemany(
            "DELETE FROM subject_silences WHERE subject_key = :subject AND kind != '' "
            "AND kind != :kind",
            [{"subject": subject, "kind": kind} for subject, kind in write.changed_subjects],
        )
        await tx.executemany(
            "DELETE FROM ended_subjects WHERE subject_key = :subject",
            [{"subject": subject} for subject in write.revived],
        )
        await tx.executemany(
            "INSERT INTO ended_subjects (subject_key, source, subject_id, ended_at) "
            "VALUES (:key, :source, :id, :at) ON CONFLICT (subject_key) DO UPDATE SET "
            "source = excluded.source, subject_id = excluded.subject_id, "
            "ended_at = excluded.ended_at",
            [
                {"key": e.key, "source": e.source, "id": e.subject_id, "at": to_db_time(now)}
                for e in write.ended
            ],
        )
        await resolve_escalations(tx, write.resolutions, now)
        await open_escalations(tx, write.escalations, now)
        if write.snapshots:
            await SnapshotsRepo.apply(tx, write.source, write.snapshots)
        if write.cursor is not None:
            await AlertStateRepo.set_cursor(tx, write.source, write.cursor)
    return inserted
