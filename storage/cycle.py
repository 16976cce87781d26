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
    async with db.transaction() as tx:
        inserted = await insert_rows(tx, write.rows)
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
        if write.snapshots:
            await SnapshotsRepo.apply(tx, write.source, write.snapshots)
        if write.cursor is not None:
            await AlertStateRepo.set_cursor(tx, write.source, write.cursor)
    return inserted
