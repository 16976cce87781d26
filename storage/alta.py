"""Alta ``add`` attempts: each recorded BEFORE it is sent, under the marker the bot puts in the
request's comment, so a lost answer or a restart mid-add is resolved by finding that marker in
``track_list`` — never by sending again.

States: ``sending`` (recorded, no answer yet — or the process stopped meanwhile), ``added``
(Alta answered, or the marker was found: ``hashes`` holds the request hashes), ``refused``
(Alta answered with an error: nothing was created), ``unknown`` (the answer was lost and the
marker not found yet), ``declined`` (the same, and the person chose not to send again; still
looked for, so a request that appears late is watched, not billed unwatched), ``absent``
(looked for long enough: it never appeared).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from storage.db import AnyRow, Database, from_db_time, to_db_time, utcnow

STATES: Final = ("sending", "added", "refused", "unknown", "declined", "absent")
UNRESOLVED: Final = ("sending", "unknown", "declined")


@dataclass(frozen=True)
class AddAttempt:
    token: str
    chat_id: int
    thread_id: int
    user_id: int
    payload: dict[str, Any]  # numbers and settings as sent, the chat's locale
    state: str
    hashes: dict[str, str]  # "hash" (wagons) / "cont_hash" (containers) -> request hash
    created_at: datetime
    updated_at: datetime


_COLUMNS = "token, chat_id, thread_id, user_id, payload, state, hashes, created_at, updated_at"


def _attempt(row: AnyRow) -> AddAttempt:
    return AddAttempt(
        token=row.token,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        user_id=row.user_id,
        payload=json.loads(row.payload),
        state=row.state,
        hashes=json.loads(row.hashes),
        created_at=from_db_time(row.created_at) or utcnow(),
        updated_at=from_db_time(row.updated_at) or utcnow(),
    )


class AltaAddsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _select(self, where: str, params: Mapping[str, Any]) -> list[AddAttempt]:
        rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM alta_adds WHERE {where}", params)
        return [_attempt(row) for row in rows]

    async def _write(self, sql: str, params: Mapping[str, Any]) -> int:
        return await self.db.execute(sql, params)

    async def sending(
        self,
        token: str,
        *,
        chat_id: int,
        thread_id: int,
        user_id: int,
        payload: Mapping[str, Any],
    ) -> None:
        """Record an add about to be sent (again, for a retry under the same marker)."""
        now = to_db_time(utcnow())
        await self._write(
            "INSERT INTO alta_adds (token, chat_id, thread_id, user_id, payload, state, hashes, "
            "created_at, updated_at) VALUES (:token, :chat_id, :thread_id, :user_id, :payload, "
            "'sending', '{}', :now, :now) "
            "ON CONFLICT (token) DO UPDATE SET state = 'sending', updated_at = :now",
            {
                "token": token,
                "chat_id": chat_id,
                "thread_id": thread_id,
                "user_id": user_id,
                "payload": json.dumps(dict(payload), ensure_ascii=False),
                "now": now,
            },
        )

    async def get(self, token: str) -> AddAttempt | None:
        found = await self._select("token = :token", {"token": token})
        return found[0] if found else None

    async def set_state(
        self, token: str, state: str, *, hashes: Mapping[str, str] | None = None
    ) -> None:
        if state not in STATES:
            raise ValueError(f"unknown add state {state!r}")
        await self._write(
            "UPDATE alta_adds SET state = :state, hashes = COALESCE(:hashes, hashes), "
            "updated_at = :now WHERE token = :token",
            {
                "token": token,
                "state": state,
                "hashes": json.dumps(dict(hashes)) if hashes is not None else None,
                "now": to_db_time(utcnow()),
            },
        )

    async def unresolved(self, *, younger_than: timedelta) -> list[AddAttempt]:
        """Attempts whose outcome is not known yet, oldest first."""
        return await self._select(
            "state IN ('sending', 'unknown', 'declined') AND created_at >= :since "
            "ORDER BY created_at",
            {"since": to_db_time(utcnow() - younger_than)},
        )

    async def expire(self, *, older_than: timedelta) -> int:
        """Unresolved attempts looked for long enough become ``absent``."""
        return await self._write(
            "UPDATE alta_adds SET state = 'absent', updated_at = :now "
            "WHERE state IN ('sending', 'unknown', 'declined') AND created_at < :since",
            {"now": to_db_time(utcnow()), "since": to_db_time(utcnow() - older_than)},
        )
