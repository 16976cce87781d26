"""Routing alerts to chats and writing them to the outbox, with the cursor, in ONE transaction.

    watcher.poll(cursor) -> alerts, new cursor
    pipeline.commit(source, alerts, new cursor)   # outbox rows + cursor, atomically
    sender drains the outbox

Kill the process at any instant: either the rows and the cursor are both written, or neither
is and the next poll fetches the same events again (dedupe keys keep them single).

Who hears what:
- a subscription matches by selector (all / area / kind) and filter (any subject, a tag, one
  subject);
- the ``system`` area (integration errors, skipped event ids) reaches admins only, in private:
  a group or a non-admin subscribed to ``system`` or ``all`` gets none of it;
- a muted chat hears only the subjects it asked about itself — the orders, tasks, wagons and
  drivers it put on watch (a subscription naming that subject): a mute silences the area feed,
  not the answer to what the chat asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.kinds import INHIBITIONS, KINDS, STATE_ENDED_BY, matches
from bot.escalation.opening import chains_for, may_escalate, resolutions_for
from bot.history.events import TASK_OPENED, alert_event, recorded
from integrations.base import Alert, Severity, Snapshot
from storage import Repos
from storage.cycle import CycleWrite, EndedSubject, commit_cycle, read_audience
from storage.db import utcnow
from storage.escalations import NewEscalation, Resolution
from storage.history import HistoryEvent
from storage.outbox import NewOutboxRow
from storage.subscriptions import ChatPrefs, Subscription, effective_zone, filter_key

log = logging.getLogger(__name__)


@dataclass
class RoutingSnapshot:
    """Everything routing needs, read once per commit (not once per alert) and only for the
    commit's subjects and the chats they could reach."""

    subscriptions: list[Subscription]
    prefs: dict[tuple[int, int], ChatPrefs]
    allowed_chats: set[int]
    silences: dict[tuple[int, int, str, str], datetime | None]
    states: set[tuple[str, str]]
    down: set[str] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)  # among the chats read: admins' private chats
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

    def hears(self, chat_id: int, thread_id: int, alert: Alert) -> tuple[bool, bool]:
        """(whether this chat/topic is subscribed to ``alert``, whether by a subscription that
        names its subject — something the chat asked about itself)."""
        own = False
        heard = False
        subject = filter_key(alert.subject.key)
        for sub in self.candidates(alert):
            if (sub.chat_id, sub.thread_id) == (chat_id, thread_id) and matches(
                sub.selector, alert.kind
            ):
                heard = True
                own = own or filter_key(sub.filter) == subject
        return heard, own


def is_system(kind: str) -> bool:
    spec = KINDS.get(kind)
    return spec is not None and spec.area == "system"


def muted(prefs: ChatPrefs | None, now: datetime) -> bool:
    return prefs is not None and prefs.muted_until is not None and prefs.muted_until > now


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


def silenced(
    snapshot: RoutingSnapshot, chat_id: int, thread_id: int, subject: str, kind: str, now: datetime
) -> bool:
    """Whether «Тишина» (any kind) or «Принял» (this kind) holds this subject in this chat."""
    for key in ((chat_id, thread_id, subject, ""), (chat_id, thread_id, subject, kind)):
        if key in snapshot.silences:
            until = snapshot.silences[key]
            if until is None or until > now:
                return True
    return False


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
        audience: set[tuple[int, int]],
        payload: str,
    ) -> list[NewOutboxRow]:
        """The outbox rows of ``alert`` for ``audience`` (:meth:`audience`) after mutes,
        silences and quiet hours; ``payload`` is ``alert.to_json()``. The caller computes both
        once: an urgent alert's escalation chains need them too."""
        subject = alert.subject.key
        severity = severity_of(alert)
        rows = []
        for chat_id, thread_id in sorted(audience):
            prefs = snapshot.prefs.get((chat_id, thread_id)) or ChatPrefs(chat_id, thread_id)
            if muted(prefs, now) and not snapshot.hears(chat_id, thread_id, alert)[1]:
                continue  # a mute silences the feed, not what the chat asked about itself
            if silenced(snapshot, chat_id, thread_id, subject, alert.kind, now):
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
    def audience(
        alert: Alert, snapshot: RoutingSnapshot, extra_chats: Iterable[int] = ()
    ) -> set[tuple[int, int]]:
        """The (chat, topic) pairs subscribed to ``alert`` that may hear it, before mute,
        silences and quiet hours; none for an alert inhibited or held back."""
        spec = KINDS.get(alert.kind)
        if spec is not None and spec.unreachable and alert.source in snapshot.down:
            return set()  # one system alert speaks for the whole integration
        subject = alert.subject.key
        for state, inhibited in INHIBITIONS.items():
            if alert.kind in inhibited and (subject, state) in snapshot.states:
                return set()
        targets: set[tuple[int, int]] = {(chat, 0) for chat in extra_chats}
        for sub in snapshot.candidates(alert):
            if sub.chat_id in snapshot.allowed_chats and matches(sub.selector, alert.kind):
                targets.add((sub.chat_id, sub.thread_id))
        if is_system(alert.kind):  # internals: admins' private chats only, whoever subscribed
            targets = {(chat, 0) for chat, _thread in targets if chat in snapshot.admins}
        return targets


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

    async def snapshot(
        self, alerts: Iterable[Alert], extra_chats: Iterable[int] = ()
    ) -> RoutingSnapshot:
        """What routing ``alerts`` needs: the subscriptions that could match them, and the
        preferences, access and silences of the chats those reach (indexed reads only)."""
        subjects = {alert.subject.key for alert in alerts}
        subscriptions = await self.repos.subscriptions.for_subjects(subjects)
        chats = {sub.chat_id for sub in subscriptions} | set(extra_chats)
        audience = await read_audience(self.repos.db, chats)
        return RoutingSnapshot(
            subscriptions=subscriptions,
            prefs=await self.repos.subscriptions.prefs_of(chats),
            allowed_chats=audience.allowed,
            silences=await self.repos.alert_state.silences_of(subjects),
            states=await self.repos.alert_state.states_of(subjects),
            down=set(self.down),
            admins=audience.admins,
        )

    async def chat_snapshot(self, chat_id: int) -> RoutingSnapshot | None:
        """What routing needs to know about ONE chat (for the check at send time); None for a
        group the bot no longer knows by this id: it became a supergroup, and its rows go to
        Telegram, whose answer leads the sender to the new id."""
        if chat_id < 0 and await self.repos.chats.get(chat_id) is None:
            return None
        audience = await read_audience(self.repos.db, [chat_id])
        return RoutingSnapshot(
            subscriptions=await self.repos.subscriptions.of_chat(chat_id),
            prefs=await self.repos.subscriptions.all_prefs(chat_id),
            allowed_chats=audience.allowed,
            silences={},  # decided when routed (see still_wanted)
            states=set(),
            admins=audience.admins,
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
        if is_system(alert.kind):
            # Integration news for an admin, subscribed or not; for no one else.
            if chat_id in snapshot.admins and thread_id == 0:
                return None
            return "dropped: system alerts are for admins"
        heard, own = snapshot.hears(chat_id, thread_id, alert)
        if muted(snapshot.prefs.get((chat_id, thread_id)), utcnow()) and not own:
            return "dropped: muted"
        return None if heard else "dropped: no longer subscribed"

    async def tell(self, chat_id: int, thread_id: int, alert: Alert) -> bool:
        """``alert`` to one chat (topic) only, outside any watcher's cycle: what someone did to
        an item from another chat, told to the chat that owns it (bot/ownership.py). It goes
        through the outbox like every alert (Telegram's limits, retries, quiet hours), and the
        sender still checks that the chat hears it. True if a row was written."""
        now = utcnow()
        prefs = await self.repos.subscriptions.prefs(chat_id, thread_id)
        not_before = now
        if severity_of(alert) < Severity.HIGH:
            chat_prefs = await self.repos.subscriptions.prefs(chat_id, 0) if thread_id else None
            tz = effective_zone(prefs, chat_prefs, self.router.default_tz)
            not_before = quiet_until(prefs, now, tz) or now
        row = NewOutboxRow(
            chat_id=chat_id,
            thread_id=thread_id,
            dedupe_key=alert.dedupe_key,
            kind=alert.kind,
            severity=int(severity_of(alert)),
            subject_key=alert.subject.key,
            payload=alert.to_json(),
            not_before=not_before,
        )
        history = [alert_event(alert, chat_id, thread_id)] if recorded(alert) else []
        inserted = await commit_cycle(
            self.repos.db, CycleWrite(source=alert.source, rows=[row], history=history), now
        )
        if inserted:
            self.on_new_rows()
        return inserted > 0

    async def _tasks_opened(self, alerts: list[Alert]) -> dict[str, datetime]:
        """When the tasks that close in this cycle were created, as the history knows it (for
        the minutes to close): one read, and none in a cycle that closes no task."""
        closing = {a.subject.key for a in alerts if a.kind == "task.closed"}
        return await self.repos.history.first_seen(closing, TASK_OPENED) if closing else {}

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
        extra = list(extra_chats)
        admin_chats = list(admins)
        snapshot = await self.snapshot(alerts, extra + admin_chats)
        now = utcnow()
        rows: list[NewOutboxRow] = []
        history: list[HistoryEvent] = []
        opened = await self._tasks_opened(alerts)
        state_changes: list[tuple[str, str, bool]] = []  # (subject, state, active)
        ended: dict[str, EndedSubject] = {}
        revived: set[str] = set()
        escalations: list[NewEscalation] = []
        resolutions: list[Resolution] = []
        for alert in alerts:
            targets = extra + admin_chats if is_system(alert.kind) else extra
            # Once per alert, for its outbox rows and its escalation chains alike.
            audience = self.router.audience(alert, snapshot, targets)
            payload = alert.to_json()
            routed = self.router.route(alert, snapshot, now, audience=audience, payload=payload)
            rows += routed
            if recorded(alert):
                when = opened.get(alert.subject.key)
                history += [alert_event(alert, r.chat_id, r.thread_id, opened=when) for r in routed]
            if may_escalate(alert):
                key = alert.subject.key
                escalations += chains_for(
                    alert,
                    [t for t in audience if not silenced(snapshot, *t, key, alert.kind, now)],
                    payload,
                )
            resolutions += resolutions_for(alert)
            spec = KINDS.get(alert.kind)
            key = alert.subject.key
            if spec is not None and spec.ends:
                ended[key] = EndedSubject(key, alert.source, alert.subject.id)
                revived.discard(key)
            else:
                ended.pop(key, None)
                revived.add(key)
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
                ended=list(ended.values()),
                revived=revived,
                snapshots=dict(snapshots or {}),
                cursor=cursor,
                history=history,
                escalations=escalations,
                resolutions=resolutions,
            ),
            now,
        )
        if inserted:
            log.info("%s: %s alerts -> %s outbox rows", source, len(alerts), inserted)
            self.on_new_rows()
        return inserted
