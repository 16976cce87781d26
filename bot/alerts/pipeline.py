"""Routing alerts to chats and writing them to the outbox, with the cursor, in ONE transaction.

    watcher.poll(cursor) -> alerts, new cursor
    pipeline.commit(source, alerts, new cursor)   # outbox rows + cursor, atomically
    sender drains the outbox

Kill the process at any instant: either the rows and the cursor are both written, or neither
is and the next poll fetches the same events again (dedupe keys keep them single).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.kinds import INHIBITIONS, KINDS, STATE_ENDED_BY, matches
from integrations.base import Alert, Severity, Snapshot
from storage import Repos
from storage.chats import ChatStatus
from storage.cycle import CycleWrite, commit_cycle
from storage.db import utcnow
from storage.outbox import NewOutboxRow
from storage.subscriptions import ChatPrefs, Subscription, effective_zone

log = logging.getLogger(__name__)


@dataclass
class RoutingSnapshot:
    """Everything routing needs, read once per commit (not once per alert)."""

    subscriptions: list[Subscription]
    prefs: dict[tuple[int, int], ChatPrefs]
    allowed_chats: set[int]
    silences: dict[tuple[int, int, str, str], datetime | None]
    states: set[tuple[str, str]]
    down: set[str] = field(default_factory=set)
    # Subscriptions by filter ('' = any subject), so an alert looks only at the subscriptions
    # that could match it instead of scanning them all.
    by_filter: dict[str, list[Subscription]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_filter = {}
        for sub in self.subscriptions:
            self.by_filter.setdefault(filter_key(sub.filter), []).append(sub)

    def candidates(self, alert: Alert) -> Iterable[Subscription]:
        keys = ["", filter_key(alert.subject.key)]
        keys += [f"tag:{tag.casefold()}" for tag in alert.subject.tags]
        for key in keys:
            yield from self.by_filter.get(key, ())


def filter_key(text: str) -> str:
    """A subject filter or key as compared: any case, and an id of digits with or without its
    leading zeros (`task:23` is task №000023, as people type it)."""
    kind, colon, value = text.casefold().partition(":")
    if colon and value.isdigit():
        value = value.lstrip("0") or "0"
    return f"{kind}{colon}{value}"


def severity_of(alert: Alert) -> Severity:
    if alert.severity is not None:
        return alert.severity
    spec = KINDS.get(alert.kind)
    return spec.severity if spec else Severity.NORMAL


def quiet_until(prefs: ChatPrefs, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When quiet hours are on now (read in ``tz``), the moment they end (aware); else None."""
    if prefs.quiet_from is None or prefs.quiet_to is None or prefs.quiet_from == prefs.quiet_to:
        return None
    local = now.astimezone(tz)
    start, end, current = prefs.quiet_from, prefs.quiet_to, local.time()
    inside = start <= current < end if start < end else (current >= start or current < end)
    if not inside:
        return None
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends


class AlertRouter:
    """Pure routing: which (chat, topic) pairs hear an alert, and from when."""

    def __init__(self, default_tz: ZoneInfo) -> None:
        self.default_tz = default_tz

    def route(
        self,
        alert: Alert,
        snapshot: RoutingSnapshot,
        now: datetime,
        *,
        extra_chats: Iterable[int] = (),
    ) -> list[NewOutboxRow]:
        spec = KINDS.get(alert.kind)
        if spec is not None and spec.unreachable and alert.source in snapshot.down:
            return []  # one system alert speaks for the whole integration
        subject = alert.subject.key
        for state, inhibited in INHIBITIONS.items():
            if alert.kind in inhibited and (subject, state) in snapshot.states:
                return []
        targets: set[tuple[int, int]] = {(chat, 0) for chat in extra_chats}
        for sub in snapshot.candidates(alert):
            if sub.chat_id in snapshot.allowed_chats and matches(sub.selector, alert.kind):
                targets.add((sub.chat_id, sub.thread_id))
        severity = severity_of(alert)
        payload = alert.to_json()
        rows = []
        for chat_id, thread_id in sorted(targets):
            prefs = snapshot.prefs.get((chat_id, thread_id)) or ChatPrefs(chat_id, thread_id)
            if prefs.muted_until is not None and prefs.muted_until > now:
                continue
            if self._silenced(snapshot, chat_id, thread_id, subject, alert.kind, now):
                continue
            not_before = now
            if severity < Severity.HIGH:
                chat_prefs = snapshot.prefs.get((chat_id, 0)) if thread_id else None
                tz = effective_zone(prefs, chat_prefs, self.default_tz)
                not_before = quiet_until(prefs, now, tz) or now
            rows.append(
                NewOutboxRow(
                    chat_id=chat_id,
                    thread_id=thread_id,
                    dedupe_key=alert.dedupe_key,
                    kind=alert.kind,
                    severity=int(severity),
                    subject_key=subject,
                    payload=payload,
                    not_before=not_before,
                )
            )
        return rows

    @staticmethod
    def _silenced(
        snapshot: RoutingSnapshot,
        chat_id: int,
        thread_id: int,
        subject: str,
        kind: str,
        now: datetime,
    ) -> bool:
        for key in ((chat_id, thread_id, subject, ""), (chat_id, thread_id, subject, kind)):
            if key in snapshot.silences:
                until = snapshot.silences[key]
                if until is None or until > now:
                    return True
        return False


class AlertPipeline:
    def __init__(
        self,
        repos: Repos,
        default_tz: ZoneInfo,
        *,
        on_new_rows: Callable[[], None] = lambda: None,
    ) -> None:
        self.repos = repos
        self.router = AlertRouter(default_tz)
        self.on_new_rows = on_new_rows
        self.down: set[str] = set()  # integrations currently down (held back "unreachable")

    async def snapshot(self) -> RoutingSnapshot:
        chats = await self.repos.chats.all()
        users = await self.repos.users.with_role()
        allowed = {c.id for c in chats if c.status is ChatStatus.APPROVED}
        allowed |= {u.id for u in users}  # a user's private chat has the user's id
        return RoutingSnapshot(
            subscriptions=await self.repos.subscriptions.all(),
            prefs=await self.repos.subscriptions.all_prefs(),
            allowed_chats=allowed,
            silences=await self.repos.alert_state.silences(),
            states=await self.repos.alert_state.active_states(),
            down=set(self.down),
        )

    async def chat_snapshot(self, chat_id: int) -> RoutingSnapshot | None:
        """What routing needs to know about ONE chat (for the check at send time); None for a
        group the bot no longer knows by this id: it became a supergroup, and its rows go to
        Telegram, whose answer leads the sender to the new id."""
        if chat_id < 0:
            chat = await self.repos.chats.get(chat_id)
            if chat is None:
                return None
            allowed = chat.status is ChatStatus.APPROVED
        else:
            user = await self.repos.users.get(chat_id)
            allowed = user is not None and user.role is not None
        return RoutingSnapshot(
            subscriptions=await self.repos.subscriptions.of_chat(chat_id),
            prefs=await self.repos.subscriptions.all_prefs(chat_id),
            allowed_chats={chat_id} if allowed else set(),
            silences=await self.repos.alert_state.silences(chat_id),
            states=await self.repos.alert_state.active_states(),
        )

    async def still_wanted(
        self, chat_id: int, thread_id: int, alert: Alert, snapshot: RoutingSnapshot
    ) -> str | None:
        """None when this chat (and topic) still wants ``alert`` now; else why not.

        A row waits in the outbox (quiet hours, 429s, a backlog). By the time it can go, the chat
        may have been muted or unsubscribed, its user revoked or the group disabled: then it is
        dropped. (Inhibitions and silences are decided when an alert is routed, not here: an
        alert queued before "left route" still says the driver was late.)
        """
        if chat_id not in snapshot.allowed_chats:
            return "dropped: chat no longer served"
        prefs = snapshot.prefs.get((chat_id, thread_id))
        if prefs is not None and prefs.muted_until is not None and prefs.muted_until > utcnow():
            return "dropped: muted"
        for sub in snapshot.candidates(alert):
            if sub.thread_id == thread_id and matches(sub.selector, alert.kind):
                return None
        if alert.kind.startswith("system.") and thread_id == 0:
            admins = await self.repos.users.admins()
            if any(admin.id == chat_id for admin in admins):
                return None  # integration news for an admin, subscribed or not
        return "dropped: no longer subscribed"

    async def commit(
        self,
        source: str,
        alerts: list[Alert],
        cursor: str | None,
        *,
        extra_chats: Iterable[int] = (),
        snapshots: Mapping[str, Snapshot | None] | None = None,
        admins: Iterable[int] = (),
    ) -> int:
        """Route ``alerts`` and write their outbox rows, ``cursor`` and the watcher's
        ``snapshots`` atomically.

        ``extra_chats`` get every alert; ``admins`` get the system-area ones among them.
        Returns the number of new outbox rows.
        """
        snapshot = await self.snapshot()
        now = utcnow()
        rows: list[NewOutboxRow] = []
        state_changes: list[tuple[str, str, bool]] = []  # (subject, state, active)
        extra = list(extra_chats)
        admin_chats = list(admins)
        for alert in alerts:
            spec = KINDS.get(alert.kind)
            targets = extra + admin_chats if spec and spec.area == "system" else extra
            rows += self.router.route(alert, snapshot, now, extra_chats=targets)
            subject = alert.subject.key
            if alert.kind in INHIBITIONS:
                snapshot.states.add((subject, alert.kind))
                state_changes.append((subject, alert.kind, True))
            for state, enders in STATE_ENDED_BY.items():
                if alert.kind in enders and (subject, state) in snapshot.states:
                    snapshot.states.discard((subject, state))
                    state_changes.append((subject, state, False))
        inserted = await commit_cycle(
            self.repos.db,
            CycleWrite(
                source=source,
                rows=rows,
                state_changes=state_changes,
                # An acknowledgement holds until the subject does something new.
                changed_subjects={(a.subject.key, a.kind) for a in alerts},
                snapshots=dict(snapshots or {}),
                cursor=cursor,
            ),
            now,
        )
        if inserted:
            log.info("%s: %s alerts -> %s outbox rows", source, len(alerts), inserted)
            self.on_new_rows()
        return inserted
