"""One watcher cycle's writes, in ONE transaction: outbox rows, inhibiting states, the silences
a new event ends, the watcher's snapshots and its cursor.

Kill the process at any instant: either all of it is written or none of it, and the next poll
fetches the same events again (dedupe keys keep them single).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.alert_state import AlertStateRepo
from storage.db import Database, to_db_time
from storage.outbox import NewOutboxRow, insert_rows
from storage.snapshots import SnapshotsRepo


@dataclass
class CycleWrite:
    source: str
    rows: list[NewOutboxRow] = field(default_factory=list)
    state_changes: list[tuple[str, str, bool]] = field(default_factory=list)  # subject, state, on
    changed_subjects: set[tuple[str, str]] = field(default_factory=set)  # (subject, kind)
    snapshots: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    cursor: str | None = None  # None: keep the stored cursor


async def commit_cycle(db: Database, write: CycleWrite, now: datetime) -> int:
    """Write it all atomically; returns the number of new outbox rows."""
    async with db.transaction() as conn:
        inserted = await insert_rows(conn, write.rows)
        for subject, state, active in write.state_changes:
            if active:
                await conn.execute(
                    "INSERT OR IGNORE INTO subject_states (subject_key, state, since) "
                    "VALUES (?, ?, ?)",
                    (subject, state, to_db_time(now)),
                )
            else:
                await conn.execute(
                    "DELETE FROM subject_states WHERE subject_key = ? AND state = ?",
                    (subject, state),
                )
        # A subject that does something new ends the "acknowledged" silences of its other kinds.
        await conn.executemany(
            "DELETE FROM subject_silences WHERE subject_key = ? AND kind != '' AND kind != ?",
            list(write.changed_subjects),
        )
        if write.snapshots:
            await SnapshotsRepo.apply(conn, write.source, write.snapshots)
        if write.cursor is not None:
            await AlertStateRepo.set_cursor(conn, write.source, write.cursor)
    return inserted
