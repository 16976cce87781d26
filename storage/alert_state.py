"""Watcher cursors, inhibiting subject states, per-chat subject silences and status cards."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import AnyRow, Database, Transaction, from_db_time, in_lists, to_db_time, utcnow

SilenceKey = tuple[int, int, str, str]  # chat, topic, subject, kind ('' = every kind)


@dataclass(frozen=True)
class Silence:
    chat_id: int
    thread_id: int
    subject_key: str
    kind: str
    until: datetime | None
    by_user: int | None


_CARD = "chat_id = :chat AND thread_id = :thread AND subject_key = :subject"


def _silences(rows: Sequence[AnyRow]) -> dict[SilenceKey, datetime | None]:
    # By position: routing reads them by the thousand (chat, topic, subject, kind, until).
    return {
        (chat_id, thread_id, subject_key, kind): from_db_time(until)
        for chat_id, thread_id, subject_key, kind, until in rows
    }


class AlertStateRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- cursors (always advanced inside the outbox transaction) ---------------------------
    async def cursor(self, source: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT value FROM cursors WHERE source = :source", {"source": source}
        )
        return row.value if row else None

    @staticmethod
    async def set_cursor(tx: Transaction, source: str, value: str) -> None:
        await tx.execute(
            "INSERT INTO cursors (source, value, updated_at) VALUES (:source, :value, :now) "
            "ON CONFLICT (source) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            {"source": source, "value": value, "now": to_db_time(utcnow())},
        )

    # --- inhibiting states ---------------------------------------------------------------
    async def active_states(self) -> set[tuple[str, str]]:
        rows = await self.db.fetchall("SELECT subject_key, state FROM subject_states")
        return {(subject_key, state) for subject_key, state in rows}

    async def states_of(self, subject_keys: Collection[str]) -> set[tuple[str, str]]:
        """The active states of these subjects only (by primary key)."""
        found: set[tuple[str, str]] = set()
        for marks, params in in_lists("s", subject_keys):
            rows = await self.db.fetchall(
                f"SELECT subject_key, state FROM subject_states WHERE subject_key IN ({marks})",
                params,
            )
            found |= {(subject_key, state) for subject_key, state in rows}
        return found

    # --- silences: "Принял" (until the subject changes) and "Тишина 1 ч" (until a time) -----
    async def silence(
        self,
        chat_id: int,
        thread_id: int,
        subject_key: str,
        *,
        kind: str = "",
        until: datetime | None,
        by: int | None,
    ) -> None:
        await self.db.execute(
            "INSERT INTO subject_silences "
            "(chat_id, thread_id, subject_key, kind, until, by_user, since) "
            "VALUES (:chat, :thread, :subject, :kind, :until, :by, :since) "
            "ON CONFLICT (chat_id, thread_id, subject_key, kind) DO UPDATE SET "
            "until = excluded.until, by_user = excluded.by_user, since = excluded.since",
            {
                "chat": chat_id,
                "thread": thread_id,
                "subject": subject_key,
                "kind": kind,
                "until": to_db_time(until) if until else None,
                "by": by,
                "since": to_db_time(utcnow()),
            },
        )

    async def silences(self, chat_id: int | None = None) -> dict[SilenceKey, datetime | None]:
        """Silences of every chat, or of one chat."""
        sql = "SELECT chat_id, thread_id, subject_key, kind, until FROM subject_silences"
        rows = await (
            self.db.fetchall(sql)
            if chat_id is None
            else self.db.fetchall(sql + " WHERE chat_id = :chat", {"chat": chat_id})
        )
        return _silences(rows)

    async def silences_of(self, subject_keys: Collection[str]) -> dict[SilenceKey, datetime | None]:
        """The silences (in any chat) of these subjects only (indexed by subject)."""
        found: dict[SilenceKey, datetime | None] = {}
        for marks, params in in_lists("s", subject_keys):
            rows = await self.db.fetchall(
                "SELECT chat_id, thread_id, subject_key, kind, until FROM subject_silences "
                f"WHERE subject_key IN ({marks})",
                params,
            )
            found.update(_silences(rows))
        return found

    async def timed_silences(self, chat_id: int, thread_id: int, now: datetime) -> list[Silence]:
        """A chat's (topic's) «Тишина» silences still running at ``now``, ending soonest first."""
        rows = await self.db.fetchall(
            "SELECT chat_id, thread_id, subject_key, kind, until, by_user FROM subject_silences "
            "WHERE chat_id = :chat AND thread_id = :thread AND kind = '' AND until > :now "
            "ORDER BY until, subject_key",
            {"chat": chat_id, "thread": thread_id, "now": to_db_time(now)},
        )
        return [
            Silence(
                row.chat_id,
                row.thread_id,
                row.subject_key,
                row.kind,
                from_db_time(row.until),
                row.by_user,
            )
            for row in rows
        ]

    async def lift(self, chat_id: int, thread_id: int, subject_key: str) -> bool:
        """End a «Тишина» silence of one subject now; False when there was none."""
        changed = await self.db.execute(
            "DELETE FROM subject_silences WHERE chat_id = :chat AND thread_id = :thread "
            "AND subject_key = :subject AND kind = ''",
            {"chat": chat_id, "thread": thread_id, "subject": subject_key},
        )
        return changed > 0

    # --- status cards --------------------------------------------------------------------
    async def card(self, chat_id: int, thread_id: int, subject_key: str) -> int | None:
        row = await self.db.fetchone(
            f"SELECT message_id FROM status_cards WHERE {_CARD}",
            {"chat": chat_id, "thread": thread_id, "subject": subject_key},
        )
        return int(row.message_id) if row else None

    async def set_card(
        self, chat_id: int, thread_id: int, subject_key: str, message_id: int | None
    ) -> None:
        if message_id is None:
            await self.db.execute(
                f"DELETE FROM status_cards WHERE {_CARD}",
                {"chat": chat_id, "thread": thread_id, "subject": subject_key},
            )
            return
        await self.db.execute(
            "INSERT INTO status_cards (chat_id, thread_id, subject_key, message_id, updated_at) "
            "VALUES (:chat, :thread, :subject, :message, :now) "
            "ON CONFLICT (chat_id, thread_id, subject_key) DO UPDATE SET "
            "message_id = excluded.message_id, updated_at = excluded.updated_at",
            {
                "chat": chat_id,
                "thread": thread_id,
                "subject": subject_key,
                "message": message_id,
                "now": to_db_time(utcnow()),
            },
        )
