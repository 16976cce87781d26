"""Per-chat (and per forum topic) alert subscriptions and preferences: mute, quiet hours, zone."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.db import AnyRow, Database, Transaction, from_db_time, in_lists, to_db_time, utcnow


@dataclass(frozen=True)
class Subscription:
    chat_id: int
    thread_id: int
    selector: str  # 'all' | 'area:drivers' | 'kind:driver.late'
    filter: str  # '' (any subject) | 'driver:79991234567' | 'tag:Склад'


@dataclass(frozen=True)
class ChatPrefs:
    chat_id: int
    thread_id: int = 0
    muted_until: datetime | None = None
    quiet_from: time | None = None
    quiet_to: time | None = None
    timezone: str | None = None


log = logging.getLogger(__name__)


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone a chat set, or None when unset or no longer known to tzdata."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r in chat preferences", name)
        return None


def filter_key(text: str) -> str:
    """A subject filter or key as compared: any case, and an id of digits with or without its
    leading zeros (`task:23` is task №000023, as people type it)."""
    kind, colon, value = text.casefold().partition(":")
    if colon and value.isdigit():
        value = value.lstrip("0") or "0"
    return f"{kind}{colon}{value}"


def effective_zone(topic: ChatPrefs, chat: ChatPrefs | None, default: ZoneInfo) -> ZoneInfo:
    """A forum topic's own zone, else its chat's, else the bot's (BOT_TIMEZONE).

    The one rule for every time a chat sees: alert times, quiet hours, mute ends.
    """
    return zone_named(topic.timezone) or (zone_named(chat.timezone) if chat else None) or default


_ADD = (
    "INSERT INTO subscriptions "
    "(chat_id, thread_id, selector, filter, filter_key, created_by, created_at) "
    "VALUES (:chat_id, :thread_id, :selector, :filter, :key, :by, :now) "
    "ON CONFLICT (chat_id, thread_id, selector, filter) DO NOTHING"
)
_REMOVE = (
    "DELETE FROM subscriptions WHERE chat_id = :chat_id AND thread_id = :thread_id "
    "AND selector = :selector AND filter = :filter"
)
_SUBSCRIPTION = "SELECT chat_id, thread_id, selector, filter FROM subscriptions"
_PREFS = "SELECT chat_id, thread_id, muted_until, quiet_from, quiet_to, timezone FROM chat_prefs"


def _subscription(row: AnyRow) -> Subscription:
    return Subscription(*row)  # routing reads every subscription: by position, the fastest


def _prefs(row: AnyRow) -> ChatPrefs:
    chat_id, thread_id, muted_until, quiet_from, quiet_to, timezone = row  # _PREFS's order
    return ChatPrefs(
        chat_id=chat_id,
        thread_id=thread_id,
        muted_until=from_db_time(muted_until),
        quiet_from=time.fromisoformat(quiet_from) if quiet_from else None,
        quiet_to=time.fromisoformat(quiet_to) if quiet_to else None,
        timezone=timezone,
    )


class SubscriptionsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Every update reads its chat's zone: the preferences are remembered until the next
        # commit of anything here or a change anywhere (storage/changes.py), so a quiet bot
        # reads them once.
        self._prefs: dict[tuple[int, int], ChatPrefs] = {}
        self._prefs_as_of = -1  # Changes.generation when they were read

    async def add(
        self, chat_id: int, thread_id: int, selector: str, filter: str = "", *, by: int | None
    ) -> bool:
        """True if the subscription is new."""
        changed = await self.db.execute(
            _ADD,
            {
                "chat_id": chat_id,
                "thread_id": thread_id,
                "selector": selector,
                "filter": filter,
                "key": filter_key(filter),
                "by": by,
                "now": to_db_time(utcnow()),
            },
        )
        return changed == 1

    async def change(
        self,
        chat_id: int,
        thread_id: int,
        filter: str,
        *,
        add: Iterable[str],
        remove: Iterable[str],
        by: int | None,
    ) -> None:
        """Remove some selectors and add others in ONE transaction: nobody ever sees the chat
        hearing neither (or both)."""
        key = {"chat_id": chat_id, "thread_id": thread_id, "filter": filter}
        extra = {"key": filter_key(filter), "by": by, "now": to_db_time(utcnow())}
        async with self.db.transaction() as tx:
            await tx.executemany(_REMOVE, [{**key, "selector": s} for s in remove])
            await tx.executemany(_ADD, [{**key, **extra, "selector": s} for s in add])

    async def remove(self, chat_id: int, thread_id: int, selector: str, filter: str = "") -> bool:
        changed = await self.db.execute(
            _REMOVE,
            {"chat_id": chat_id, "thread_id": thread_id, "selector": selector, "filter": filter},
        )
        return changed > 0

    async def for_chat(self, chat_id: int, thread_id: int = 0) -> list[Subscription]:
        rows = await self.db.fetchall(
            f"{_SUBSCRIPTION} WHERE chat_id = :chat_id AND thread_id = :thread_id "
            "ORDER BY selector, filter",
            {"chat_id": chat_id, "thread_id": thread_id},
        )
        return [_subscription(row) for row in rows]

    async def of_chat(self, chat_id: int) -> list[Subscription]:
        """Every subscription of one chat, all its forum topics included."""
        rows = await self.db.fetchall(
            f"{_SUBSCRIPTION} WHERE chat_id = :chat_id", {"chat_id": chat_id}
        )
        return [_subscription(row) for row in rows]

    async def all(self) -> list[Subscription]:
        return [_subscription(row) for row in await self.db.fetchall(_SUBSCRIPTION)]

    async def for_subjects(self, subject_keys: Collection[str]) -> list[Subscription]:
        """The subscriptions that could match alerts about ``subject_keys``: those for any
        subject, those with a tag filter (people type a few; routing compares the tags), and
        those naming one of these subjects (by :func:`filter_key`). Indexed reads: the
        subscriptions made for other subjects (every order, task and wagon a chat ever
        watched) are not read at all."""
        rows = list(await self.db.fetchall(f"{_SUBSCRIPTION} WHERE filter_key = ''"))
        rows += await self.db.fetchall(
            f"{_SUBSCRIPTION} WHERE filter_key >= :low AND filter_key < :high",
            {"low": "tag:", "high": "tag;"},
        )
        for marks, params in in_lists("f", {filter_key(key) for key in subject_keys}):
            rows += await self.db.fetchall(f"{_SUBSCRIPTION} WHERE filter_key IN ({marks})", params)
        return [_subscription(row) for row in rows]

    async def watchers(self, subject_keys: Collection[str]) -> dict[str, set[int]]:
        """The chats watching each of ``subject_keys``: those with a subscription naming it
        (by :func:`filter_key`; any selector, any topic). Subjects nobody watches are absent."""
        found: dict[str, set[int]] = {}
        for marks, params in in_lists("f", {filter_key(key) for key in subject_keys}):
            rows = await self.db.fetchall(
                "SELECT DISTINCT filter_key, chat_id FROM subscriptions "
                f"WHERE filter_key IN ({marks})",
                params,
            )
            for row in rows:
                found.setdefault(row.filter_key, set()).add(row.chat_id)
        return found

    async def key_filters(self) -> int:
        """Key the subscriptions written before ``filter_key`` existed (once, at start)."""
        rows = await self.db.fetchall(
            "SELECT id, filter FROM subscriptions WHERE filter_key = '' AND filter != ''"
        )
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE subscriptions SET filter_key = :key WHERE id = :id",
                [{"key": filter_key(row.filter), "id": row.id} for row in rows],
            )
        return len(rows)

    async def prefs_of(self, chat_ids: Collection[int]) -> dict[tuple[int, int], ChatPrefs]:
        """Preferences of these chats (all their topics)."""
        found: dict[tuple[int, int], ChatPrefs] = {}
        for marks, params in in_lists("c", chat_ids):
            rows = await self.db.fetchall(f"{_PREFS} WHERE chat_id IN ({marks})", params)
            found.update({(p.chat_id, p.thread_id): p for p in map(_prefs, rows)})
        return found

    async def remove_chat(self, chat_id: int) -> None:
        await self.db.execute(
            "DELETE FROM subscriptions WHERE chat_id = :chat_id", {"chat_id": chat_id}
        )

    # --- preferences -------------------------------------------------------------------
    async def prefs(self, chat_id: int, thread_id: int = 0) -> ChatPrefs:
        changes = self.db.changes
        as_of = changes.generation
        if self._prefs_as_of != as_of:
            self._prefs.clear()
            self._prefs_as_of = as_of
        remembered = self._prefs.get((chat_id, thread_id))
        if remembered is not None:
            return remembered
        row = await self.db.fetchone(
            f"{_PREFS} WHERE chat_id = :chat_id AND thread_id = :thread_id",
            {"chat_id": chat_id, "thread_id": thread_id},
        )
        prefs = _prefs(row) if row else ChatPrefs(chat_id, thread_id)
        if changes.trusted and changes.generation == as_of:  # nothing changed meanwhile
            self._prefs[(chat_id, thread_id)] = prefs
        return prefs

    async def zone(self, chat_id: int, thread_id: int, default: ZoneInfo) -> ZoneInfo:
        topic = await self.prefs(chat_id, thread_id)
        chat = await self.prefs(chat_id, 0) if thread_id else None
        return effective_zone(topic, chat, default)

    async def all_prefs(self, chat_id: int | None = None) -> dict[tuple[int, int], ChatPrefs]:
        """Preferences of every chat, or of one chat's topics."""
        if chat_id is None:
            rows = await self.db.fetchall(_PREFS)
        else:
            rows = await self.db.fetchall(
                f"{_PREFS} WHERE chat_id = :chat_id", {"chat_id": chat_id}
            )
        return {(prefs.chat_id, prefs.thread_id): prefs for prefs in map(_prefs, rows)}

    async def _set(
        self,
        chat_id: int,
        thread_id: int,
        column: str,
        value: object,
        tx: Transaction | None = None,
    ) -> None:
        assert column in {"muted_until", "quiet_from", "quiet_to", "timezone"}
        statement = (
            f"INSERT INTO chat_prefs (chat_id, thread_id, {column}) "
            "VALUES (:chat_id, :thread_id, :value) "
            f"ON CONFLICT (chat_id, thread_id) DO UPDATE SET {column} = excluded.{column}"
        )
        params = {"chat_id": chat_id, "thread_id": thread_id, "value": value}
        if tx is None:
            await self.db.execute(statement, params)
        else:
            await tx.execute(statement, params)

    async def set_mute(self, chat_id: int, thread_id: int, until: datetime | None) -> None:
        await self._set(chat_id, thread_id, "muted_until", to_db_time(until) if until else None)

    async def set_quiet(
        self,
        chat_id: int,
        thread_id: int,
        start: time | None,
        end: time | None,
        tx: Transaction | None = None,
    ) -> None:
        # Both ends in one statement: the window is never half old, half new.
        statement = (
            "INSERT INTO chat_prefs (chat_id, thread_id, quiet_from, quiet_to) "
            "VALUES (:chat_id, :thread_id, :start, :end) "
            "ON CONFLICT (chat_id, thread_id) DO UPDATE SET quiet_from = excluded.quiet_from, "
            "quiet_to = excluded.quiet_to"
        )
        params = {
            "chat_id": chat_id,
            "thread_id": thread_id,
            "start": start.strftime("%H:%M") if start else None,
            "end": end.strftime("%H:%M") if end else None,
        }
        if tx is None:
            await self.db.execute(statement, params)
        else:
            await tx.execute(statement, params)

    async def set_timezone(
        self, chat_id: int, thread_id: int, zone: str | None, tx: Transaction | None = None
    ) -> None:
        await self._set(chat_id, thread_id, "timezone", zone, tx)
