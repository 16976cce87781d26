"""What each watcher remembers of its subjects between cycles (integrations.base.Snapshot).

Handlers put a subject on watch by storing a first snapshot; watchers read them back and return
changes that the alert pipeline applies in its outbox transaction (:meth:`SnapshotsRepo.apply`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import bindparam, text

from storage.db import Database, Transaction, to_db_time, utcnow

_UPSERT = (
    "INSERT INTO watch_snapshots (source, subject_id, data, updated_at) "
    "VALUES (:source, :subject_id, :data, :now) "
    "ON CONFLICT (source, subject_id) DO UPDATE SET data = excluded.data, "
    "updated_at = excluded.updated_at"
)
_SOME = text(
    "SELECT subject_id, data FROM watch_snapshots WHERE source = :source AND subject_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


class SnapshotsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(
        self, source: str, ids: Collection[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The snapshots of ``source``: of ``ids`` only, or all of them when ``ids`` is None."""
        if ids is None:
            rows = await self.db.fetchall(
                "SELECT subject_id, data FROM watch_snapshots WHERE source = :source",
                {"source": source},
            )
        else:
            wanted = list(dict.fromkeys(ids))
            if not wanted:
                return {}
            rows = await self.db.fetchall(_SOME, {"source": source, "ids": wanted})
        return {row.subject_id: json.loads(row.data) for row in rows}

    async def put(self, source: str, subject_id: str, data: Mapping[str, Any]) -> None:
        """Start (or refresh) watching one subject."""
        async with self.db.transaction() as tx:
            await self.apply(tx, source, {subject_id: dict(data)})

    @staticmethod
    async def apply(
        tx: Transaction, source: str, changes: Mapping[str, Mapping[str, Any] | None]
    ) -> None:
        """Write a cycle's snapshot changes inside the caller's transaction (None deletes)."""
        now = to_db_time(utcnow())
        await tx.executemany(
            _UPSERT,
            [
                {
                    "source": source,
                    "subject_id": subject_id,
                    "data": json.dumps(data, ensure_ascii=False, default=str),
                    "now": now,
                }
                for subject_id, data in changes.items()
                if data is not None
            ],
        )
        await tx.executemany(
            "DELETE FROM watch_snapshots WHERE source = :source AND subject_id = :subject_id",
            [
                {"source": source, "subject_id": subject_id}
                for subject_id, data in changes.items()
                if data is None
            ],
        )
