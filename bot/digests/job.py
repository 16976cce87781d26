"""The digest job: every minute, the chats whose digest hour has come in their own zone get
their digest — once per chat (forum topic) per local day, across restarts.

Each round reads, for all chats at once, the hours set (one query), their zones (one) and the
day's sent-marks (one); then per due chat a constant handful: the claim, its subscriptions, its
24 hours of history, the send, the mark. The mark is claimed in the database BEFORE sending
(storage/digest_marks.py): two processes, or a restart in the middle, never send a day twice.
A bot that was down at the hour sends the day's digest when it starts, marked late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bot.alerts.kinds import KINDS
from bot.alerts.sender import chat_context
from bot.digests.content import Summary, subscribed_areas, summarize
from bot.digests.render import digest_keyboard, digest_text, nothing_text
from bot.digests.settings import DIGEST_EMPTY_DAY, DIGEST_HOUR, EMPTY_SILENT
from bot.i18n import PoI18n
from bot.settings.registry import ChatKey, SettingError
from bot.settings.values import SettingsValues
from storage import Repos
from storage.cycle import read_audience
from storage.db import utcnow
from storage.digest_marks import chats_with
from storage.subscriptions import ChatPrefs, effective_zone

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
LATE_AFTER = timedelta(minutes=10)  # sent later than this after the hour: said to be late
EVERY_SECONDS = 60


@dataclass(frozen=True)
class Due:
    chat_id: int
    thread_id: int
    day: str  # the chat's local date
    due_at: datetime  # the hour, today, in the chat's zone (aware)


def due_moment(hour: time, now: datetime, tz: ZoneInfo) -> datetime:
    """Today's ``hour`` in ``tz`` (today as ``tz`` sees it), aware."""
    local = now.astimezone(tz)
    return datetime.combine(local.date(), hour, tzinfo=tz)


def kind_areas() -> dict[str, str]:
    return {name: spec.area for name, spec in KINDS.items()}


class DigestJob:
    def __init__(
        self,
        bot: Bot,
        repos: Repos,
        settings_values: SettingsValues,
        i18n: PoI18n,
        default_tz: ZoneInfo,
    ) -> None:
        self.bot = bot
        self.repos = repos
        self.values = settings_values
        self.i18n = i18n
        self.default_tz = default_tz

    async def hour_changed(self, hour: time | None, chat: ChatKey | None) -> None:
        """A chat's hour set (by /digest or /settings) after it has passed today: the first
        digest is tomorrow's, so today is marked as not owed — else the next round would take
        the new hour for a missed one and send a "late" digest at once."""
        if hour is None or chat is None:
            return
        now = utcnow()
        prefs = await self.repos.subscriptions.prefs_of([chat.chat_id])
        due_at = due_moment(hour, now, self._zone(prefs, chat.chat_id, chat.thread_id))
        if due_at <= now:
            await self.repos.digest_marks.skip(
                chat.chat_id, chat.thread_id, due_at.date().isoformat(), now
            )

    async def run_once(self) -> int:
        """Send every digest due now; returns how many went out."""
        now = utcnow()
        sent = 0
        for due in await self.due(now):
            if await self.send(due, now):
                sent += 1
        return sent

    async def due(self, now: datetime) -> list[Due]:
        """The chats whose hour has come today (their zone) and whose day has no mark yet."""
        hours: dict[tuple[int, int], time] = {}
        for chat_id, thread_id, raw in await chats_with(self.repos.db, DIGEST_HOUR.name):
            try:
                hour = DIGEST_HOUR.kind.load(raw)
            except (SettingError, TypeError, ValueError):
                log.warning("digest: chat %s has an unreadable hour %r", chat_id, raw)
                continue
            if hour is not None:
                hours[(chat_id, thread_id)] = hour
        if not hours:
            return []
        prefs = await self.repos.subscriptions.prefs_of({chat for chat, _ in hours})
        candidates = []
        for (chat_id, thread_id), hour in hours.items():
            due_at = due_moment(hour, now, self._zone(prefs, chat_id, thread_id))
            if due_at <= now:
                candidates.append(Due(chat_id, thread_id, due_at.date().isoformat(), due_at))
        marked = await self.repos.digest_marks.marked({due.day for due in candidates}, now)
        return [d for d in candidates if (d.chat_id, d.thread_id, d.day) not in marked]

    def _zone(
        self, prefs: dict[tuple[int, int], ChatPrefs], chat_id: int, thread_id: int
    ) -> ZoneInfo:
        """The chat's (topic's) zone: the topic's own, its chat's, the bot's."""
        topic = prefs.get((chat_id, thread_id)) or ChatPrefs(chat_id, thread_id)
        return effective_zone(topic, prefs.get((chat_id, 0)), self.default_tz)

    async def summary(self, chat_id: int, thread_id: int, end: datetime) -> Summary:
        subs = await self.repos.subscriptions.for_chat(chat_id, thread_id)
        areas = subscribed_areas([sub.selector for sub in subs], kind_areas())
        start = end - WINDOW
        events = await self.repos.history.between(chat_id, thread_id, start, end) if areas else []
        return summarize(events, areas, start, end)

    async def send(self, due: Due, now: datetime) -> bool:
        """Claim the day, then send; True if a message went out."""
        marks = self.repos.digest_marks
        if not await marks.claim(due.chat_id, due.thread_id, due.day, now):
            return False  # another process (or an earlier round) has it
        audience = await read_audience(self.repos.db, [due.chat_id])
        if due.chat_id not in audience.allowed:
            await marks.failed(due.chat_id, due.thread_id, due.day)  # not served any more
            return False
        summary = await self.summary(due.chat_id, due.thread_id, now)
        late = now - due.due_at > LATE_AFTER
        if not summary.areas:  # nothing subscribed: nothing to sum up
            await marks.sent(due.chat_id, due.thread_id, due.day, now, message_id=None, late=late)
            return False
        ctx = await chat_context(self.repos, self.i18n, self.default_tz, due.chat_id, due.thread_id)
        late_from = due.due_at if late else None
        if summary.empty:
            empty_day = await self.values.get(DIGEST_EMPTY_DAY, ChatKey(due.chat_id, due.thread_id))
            if empty_day == EMPTY_SILENT:
                await marks.sent(
                    due.chat_id, due.thread_id, due.day, now, message_id=None, late=late
                )
                return False
            text, keyboard = nothing_text(summary, ctx, late_from=late_from), None
        else:
            text = digest_text(summary, ctx, late_from=late_from)
            keyboard = digest_keyboard(summary, ctx)
        try:
            message = await self.bot.send_message(
                due.chat_id,
                text.html,
                message_thread_id=due.thread_id or None,
                reply_markup=keyboard,
                disable_notification=True,
            )
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            # The chat is gone or the bot was removed: not owed again today.
            log.warning("digest for chat %s not sent: %s", due.chat_id, exc)
            await marks.failed(due.chat_id, due.thread_id, due.day)
            return False
        # Any other failure (network, 429) leaves the claim to lapse: the next round after
        # its lease sends the digest, marked late, rather than skipping the day.
        await marks.sent(
            due.chat_id, due.thread_id, due.day, now, message_id=message.message_id, late=late
        )
        log.info("digest sent to chat %s (topic %s)%s", due.chat_id, due.thread_id, " late" * late)
        return True
