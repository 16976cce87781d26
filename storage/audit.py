"""The audit log: every state-changing command, who did it and when."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Transaction, from_db_time, to_db_time, utcnow


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    action: str
    target: str | None
    details: dict[str, object]


class AuditRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        actor_id: int | None,
        action: str,
        target: str | int | None = None,
        **details: object,
    ) -> None:
        async with self.db.transaction() as tx:
            await self.record_in(tx, actor_id, action, target, **details)

    @staticmethod
    async def record_in(
        tx: Transaction,
        actor_id: int | None,
        action: str,
        target: str | int | None = None,
        **details: object,
    ) -> None:
        """The same entry, inside a transaction of the caller's (written with the change)."""
        await tx.execute(
            "INSERT INTO audit_log (at, actor_id, action, target, details) "
            "VALUES (:at, :actor_id, :action, :target, :details)",
            {
                "at": to_db_time(utcnow()),
                "actor_id": actor_id,
                "action": action,
                "target": None if target is None else str(target),
                "details": json.dumps(details, ensure_ascii=False, default=str),
            },
        )

    async def latest(self, limit: int = 20) -> list[AuditEntry]:
        rows = await self.db.fetchall(
            "SELECT id, at, actor_id, action, target, details FROM audit_log "
            "ORDER BY id DESC LIMIT :limit",
            {"limit": limit},
        )
        return [
            AuditEntry(
                id=row.id,
                at=from_db_time(row.at) or utcnow(),
                actor_id=row.actor_id,
                action=row.action,
                target=row.target,
                details=json.loads(row.details or "{}"),
            )
            for row in rows
        ]
