"""The alert sender: one long-running task that drains the outbox into Telegram.

    pipeline.commit(...) -> outbox rows -> sender.wake() -> due rows, per chat -> Telegram

- Each round reads the due rows in id order and starts a job per chat (at most one job per chat,
  a few chats at once), so one slow or throttled chat never holds up the others.
- A job groups what waits for one chat/topic into ONE message ("N оповещений", split under
  4096), except status cards (one per subject, edited in place).
- Pacing is ours (aiolimiter, per chat and global), and the request middleware's own 429
  patience is off in this task: a 429 postpones that chat's rows instead of sleeping.
- Rows are marked sent right after Telegram accepted their message, so a crash in between
  repeats at most that one message.
- Alerts come first: the map pins under them are owed (bot/alerts/pins_owed.py) and paid only
  when the chat has nothing due and its budget has room to spare, so under a sustained stream
  pins give way instead of holding the next alerts back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import aiohttp
from aiogram import Bot, html
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters
from aiogram.utils.i18n import gettext as _
from aiolimiter import AsyncLimiter

from bot.alerts.kinds import KINDS
from bot.alerts.pins_owed import OwedPin, OwedPins
from bot.alerts.pipeline import AlertPipeline
from bot.alerts.render import (
    RenderContext,
    Rich,
    alert_keyboard,
    latest_places,
    render_alert,
    render_group,
)
from bot.i18n import PoI18n, locale_for
from bot.metrics import Metrics
from bot.telegram_requests import retry_on_flood
from integrations.base import Alert, Location, Severity
from integrations.redact import redact_text
from storage import Repos
from storage.chats import ChatStatus
from storage.db import utcnow
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)
T = TypeVar("T")

DUE_BATCH = 500  # rows read per round
# Setting: chats whose "Telegram refuses alerts here" the admins were told, so they hear it
# once per chat (across restarts) until a message there goes through again.
REFUSALS_TOLD = "alerts.refusals_told"
MAX_GROUP = 50  # alerts per grouped message (before the 4096 split)
MAX_GROUP_PINS = 3  # map pins owed for a grouped message: the latest per subject
# Pins are paid only while this share of the chat's burst stays free after the pin, so the
# next alert finds the budget it needs (a group: 5 of its 20; a private chat: no reserve).
PIN_RESERVE = 0.25
PIN_RECHECK = 1.0  # while pins are owed: how often to look for spare budget
IDLE_MAX = 30.0  # look at the outbox at least this often (quiet hours end, other writers)
RECHECK = 0.5  # while due rows wait for a busy or throttled chat
ERROR_PAUSE = 5.0  # after a round failed unexpectedly (the database, a bug)
STOP_GRACE = 15.0  # how long stop() lets sends in flight finish
RETRYABLE = (
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,  # a revoked token is fixed by an operator; keep the alerts
    aiohttp.ClientError,
    TimeoutError,
)


@dataclass(frozen=True)
class SendLimits:
    """Telegram's flood limits as we pace ourselves (a little under the published ones)."""

    per_private_chat_per_second: float = 1.0
    per_group_per_minute: float = 20
    group_window_seconds: float = 60.0  # what "a minute" is (the bench compresses the clock)
    global_per_second: float = 29
    chats_in_flight: int = 8
    retry_base_seconds: float = 1.0  # network errors: base * 2**attempts, up to the cap
    retry_max_seconds: float = 300.0


@dataclass
class _Chat:
    """The chat a job is sending to; a group's id changes when it becomes a supergroup."""

    id: int
    ids: list[int] = field(default_factory=list)  # every id it had during the job

    def __post_init__(self) -> None:
        self.ids.append(self.id)


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message to send for some outbox rows."""

    rows: list[OutboxRow]
    thread_id: int
    text: Rich
    keyboard: InlineKeyboardMarkup
    silent: bool
    pins: list[tuple[str, Location]]  # (subject key, place): owed once the message is sent
    card: str | None = None  # subject key: a status card, edited in place
    buzz: bool = False  # a card update that also posts a new message

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]


def rate_limiter(count: float, period: float) -> AsyncLimiter:
    """``count`` per ``period`` seconds; bursts of ``count`` (at least one send at a time)."""
    burst = max(1.0, count)
    return AsyncLimiter(burst, period * burst / count)


def severity(row: OutboxRow) -> Severity:
    try:
        return Severity(row.severity)
    except ValueError:
        return Severity.NORMAL


def is_card(kind: str) -> bool:
    spec = KINDS.get(kind)
    return spec is not None and spec.card


def plan_units(
    pairs: list[tuple[OutboxRow, Alert]], max_group: int = MAX_GROUP
) -> list[list[tuple[OutboxRow, Alert]]]:
    """Split one chat's rows into sends, in order of their first row: every card alone, the
    rest grouped per forum topic (up to ``max_group`` alerts per group)."""
    units: list[list[tuple[OutboxRow, Alert]]] = []
    open_groups: dict[int, list[tuple[OutboxRow, Alert]]] = {}
    for row, alert in pairs:
        if is_card(row.kind):
            units.append([(row, alert)])
            continue
        group = open_groups.get(row.thread_id)
        if group is None or len(group) >= max_group:
            group = open_groups[row.thread_id] = []
            units.append(group)
        group.append((row, alert))
    return units


async def chat_context(
    repos: Repos, i18n: PoI18n, default_tz: ZoneInfo, chat_id: int, thread_id: int = 0
) -> RenderContext:
    """The language and time zone a chat (topic) reads alerts in.

    A topic without its own zone uses the chat's, then the bot's. A private chat reads its
    user's language; groups read the bot's default language.
    """
    tz = await repos.subscriptions.zone(chat_id, thread_id, default_tz)
    locale = i18n.default_locale
    if chat_id > 0:
        user = await repos.users.get(chat_id)
        if user is not None:
            locale = locale_for(user.language_code, i18n.default_locale)
    return RenderContext(i18n, locale, tz)


class AlertSender:
    def __init__(
        self,
        bot: Bot,
        repos: Repos,
        pipeline: AlertPipeline,
        i18n: PoI18n,
        metrics: Metrics,
        *,
        default_tz: ZoneInfo,
        limits: SendLimits = SendLimits(),  # frozen, so sharing the default is safe
    ) -> None:
        self.bot = bot
        self.repos = repos
        self.pipeline = pipeline
        self.i18n = i18n
        self.metrics = metrics
        self.default_tz = default_tz
        self.limits = limits
        self._global = rate_limiter(limits.global_per_second, 1.0)
        self._chat_limiters: dict[int, AsyncLimiter] = {}
        self._paused: dict[int, float] = {}  # chat -> loop time its 429 wait ends
        self._jobs: dict[int, asyncio.Task[None]] = {}  # chat -> its job
        self._in_flight: set[int] = set()  # outbox row ids some job holds
        self._owed = OwedPins()
        self._told: dict[str, str] | None = None  # chats whose refusals admins heard (lazy)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._stop_grace = STOP_GRACE
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        # Claims of an earlier run (killed while sending) end now: this is the database's one
        # sender (only the leader sends: bot/leader.py).
        await self.repos.outbox.release_all()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="alert-sender")

    async def stop(self, *, grace: float | None = None) -> None:
        """Let the sends in flight finish (up to ``grace``, by default STOP_GRACE seconds; 0:
        cut them off), start no new ones, then return."""
        if self._task is None:
            return
        self._stop_grace = STOP_GRACE if grace is None else grace
        self._stopping = True
        self._wakeup.set()
        if self._stop_grace <= 0:
            self._task.cancel()  # not even the round under way: its jobs are cut off too
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next timer."""
        self._wakeup.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- the drain loop ---------------------------------------------------------------------------
    async def _run(self) -> None:
        # This task's context (and the jobs it starts) only: command replies keep their patience.
        retry_on_flood.set(False)
        try:
            while not self._stopping:
                self._wakeup.clear()
                try:
                    await self._dispatch()
                    timeout = await self._idle_timeout()
                except Exception:
                    log.exception("alert sender round failed")
                    timeout = ERROR_PAUSE
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout)
        finally:
            await self._finish_jobs()

    async def _dispatch(self) -> None:
        """Start a job for each chat with due rows that is free, not throttled, within bounds."""
        by_chat: dict[int, list[OutboxRow]] = {}
        due = await self.repos.outbox.due(DUE_BATCH)
        for row in due:
            if row.id not in self._in_flight:
                by_chat.setdefault(row.chat_id, []).append(row)
        now = asyncio.get_running_loop().time()
        self._paused = {chat: until for chat, until in self._paused.items() if until > now}
        for chat_id in by_chat:
            if len(self._jobs) >= self.limits.chats_in_flight or self._stopping:
                return
            if chat_id in self._jobs or self._paused.get(chat_id, 0.0) > now:
                continue
            if not self._limiter(chat_id).has_capacity():
                continue  # its rows wait (and group up) until the chat may hear more
            # The round's batch may hold only part of this chat's queue: take all of it, claimed
            # (no other sender on the database takes these rows until they are marked).
            rows = [
                row
                for row in await self.repos.outbox.claim_for_chat(chat_id)
                if row.id not in self._in_flight
            ]
            if not rows:
                continue
            self._in_flight.update(row.id for row in rows)
            self._jobs[chat_id] = asyncio.create_task(self._job(_Chat(chat_id), rows))
        # Then the pins owed to chats with nothing due (a job checks the outbox again first).
        # A full batch may not show every chat's due rows: the alerts of that backlog go first.
        if len(due) >= DUE_BATCH:
            return
        for chat_id in self._owed.chats():
            if len(self._jobs) >= self.limits.chats_in_flight or self._stopping:
                return
            if chat_id in by_chat or chat_id in self._jobs or self._paused.get(chat_id, 0.0) > now:
                continue
            if self._has_spare(chat_id):
                self._jobs[chat_id] = asyncio.create_task(self._job(_Chat(chat_id), []))

    async def _idle_timeout(self) -> float:
        self.metrics.outbox_depth.set(await self.repos.outbox.depth())
        idle = PIN_RECHECK if self._owed else IDLE_MAX
        next_due = await self.repos.outbox.next_due_at()
        if next_due is None:
            return idle
        wait = (next_due - utcnow()).total_seconds()
        return idle if wait > idle else max(wait, RECHECK)

    async def _job(self, chat: _Chat, rows: list[OutboxRow]) -> None:
        try:
            await self._serve(chat, rows)
        except Exception:
            # Most likely the database: give the chat a pause rather than a hot retry loop.
            log.exception("alert sender job for chat %s failed", chat.id)
            self._paused[chat.id] = asyncio.get_running_loop().time() + ERROR_PAUSE
        finally:
            await self._release(rows)
            for chat_id in chat.ids:
                self._jobs.pop(chat_id, None)
            self._in_flight.difference_update(row.id for row in rows)
            self.wake()

    async def _release(self, rows: list[OutboxRow]) -> None:
        """The job's rows it did not mark (throttled, stopped) are due again for any sender."""
        try:
            await self.repos.outbox.release([row.id for row in rows])
        except Exception:
            log.exception("could not release outbox rows; their claim ends with its lease")

    async def _finish_jobs(self) -> None:
        jobs = list(self._jobs.values())
        if not jobs:
            return
        pending = set(jobs)
        if self._stop_grace > 0:
            _, pending = await asyncio.wait(jobs, timeout=self._stop_grace)
        for job in pending:
            job.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # --- one chat ---------------------------------------------------------------------------------
    async def _serve(self, chat: _Chat, rows: list[OutboxRow]) -> None:
        """Send one chat's due rows message by message, until done, throttled or refused;
        then the pins it is owed, if it has nothing else due and budget to spare."""
        if rows:
            rows = await self._drop_unwanted(chat.id, rows)
        queue = await self._plan(chat.id, rows)
        for index, out in enumerate(queue):
            if self._stopping or not self._limiter(chat.id).has_capacity():
                return  # the rest stays due; it goes out (grouped anew) in a later round
            rest = [row for later in queue[index:] for row in later.rows]
            if not await self._attempt(chat, out, rest):
                return
        await self._pay_pins(chat)

    async def _pay_pins(self, chat: _Chat) -> None:
        """Owed map pins, oldest first, while nothing is due for the chat and its budget keeps
        a reserve for the next alert: a pin never delays an alert."""
        loop = asyncio.get_running_loop()
        while not self._stopping and self._has_spare(chat.id):
            pin = self._owed.next(chat.id, loop.time())
            if pin is None or await self.repos.outbox.due_for_chat(chat.id, limit=1):
                return
            self._owed.paid(chat.id, pin)
            if not await self._pin(chat, pin):
                return  # Telegram refused it: the rest wait for a later round

    def _has_spare(self, chat_id: int) -> bool:
        limiter = self._limiter(chat_id)
        reserve = int(limiter.max_rate * PIN_RESERVE)
        return limiter.has_capacity(1 + reserve)

    async def _drop_unwanted(self, chat_id: int, rows: list[OutboxRow]) -> list[OutboxRow]:
        """Rows queued for a chat that no longer wants them (muted, unsubscribed, revoked,
        disabled since) are dropped and counted, not delivered."""
        snapshot = await self.pipeline.chat_snapshot(chat_id)
        if snapshot is None:
            return rows
        keep: list[OutboxRow] = []
        dropped: dict[str, list[int]] = {}
        for row in rows:
            try:
                alert = Alert.from_json(row.payload)
            except (ValueError, KeyError, TypeError):
                keep.append(row)  # _plan fails it with the reason
                continue
            reason = await self.pipeline.still_wanted(chat_id, row.thread_id, alert, snapshot)
            if reason is None:
                keep.append(row)
            else:
                dropped.setdefault(reason, []).append(row.id)
        for reason, ids in dropped.items():
            log.info("chat %s: %s queued alerts dropped (%s)", chat_id, len(ids), reason)
            await self.repos.outbox.mark_dropped(ids, reason)
            self.metrics.alerts_dropped.inc(len(ids))
        return keep

    async def _plan(self, chat_id: int, rows: list[OutboxRow]) -> list[Outgoing]:
        pairs: list[tuple[OutboxRow, Alert]] = []
        for row in rows:
            try:
                pairs.append((row, Alert.from_json(row.payload)))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("outbox row %s has a bad payload: %s", row.id, exc)
                await self.repos.outbox.mark_failed([row.id], f"bad payload: {exc}")
        contexts: dict[int, RenderContext] = {}
        queue: list[Outgoing] = []
        for unit in plan_units(pairs):
            thread_id = unit[0][0].thread_id
            if thread_id not in contexts:
                contexts[thread_id] = await chat_context(
                    self.repos, self.i18n, self.default_tz, chat_id, thread_id
                )
            try:
                queue += compose(unit, contexts[thread_id])
            except Exception as exc:
                # A rendering bug must cost these alerts, not block the chat's queue forever.
                log.exception("could not render outbox rows %s", [row.id for row, _a in unit])
                await self.repos.outbox.mark_failed([row.id for row, _a in unit], repr(exc))
        return queue

    async def _attempt(self, chat: _Chat, out: Outgoing, rest: list[OutboxRow]) -> bool:
        """Send one message and deal with Telegram's answer; False: stop serving this chat."""
        try:
            await self._deliver(chat, out)
        except TelegramRetryAfter as exc:
            await self._on_flood(chat.id, rest, exc.retry_after)
            return False
        except TelegramForbiddenError as exc:
            await self._on_forbidden(chat.id, exc.message)
            return False
        except RETRYABLE as exc:
            await self._on_network_error(rest, exc)
            return False
        except TelegramAPIError as exc:
            # A request Telegram will never accept (the bot may no longer write in the group, a
            # deleted topic): retrying cannot help, so these rows fail with the reason rather
            # than block the chat, and the admins hear it once for that chat.
            log.warning("alert to chat %s refused: %s", chat.id, exc.message)
            await self.repos.outbox.mark_failed(out.ids, redact_text(exc.message))
            await self._on_refused(chat.id, redact_text(exc.message))
        except Exception as exc:
            log.exception("alert to chat %s failed", chat.id)
            await self.repos.outbox.mark_failed(out.ids, redact_text(repr(exc)))
        return True

    # --- sending ----------------------------------------------------------------------------------
    async def _deliver(self, chat: _Chat, out: Outgoing) -> None:
        if out.card is not None:
            message_id, fresh = await self._put_card(chat, out)
        else:
            message_id, fresh = (await self._send(chat, out)).message_id, True
        await self.repos.outbox.mark_sent(out.ids, message_id)
        await self._refusal_over(chat.id)
        if fresh:
            now = asyncio.get_running_loop().time()
            for key, location in out.pins:
                self._owed.owe(chat.id, OwedPin(out.thread_id, key, location, message_id, now))

    async def _put_card(self, chat: _Chat, out: Outgoing) -> tuple[int, bool]:
        """Edit the subject's card in place (and post a new message too for a buzzing kind), or
        send a new card. Returns the message the rows belong to and whether it is new."""
        assert out.card is not None
        card_id = await self.repos.alert_state.card(chat.id, out.thread_id, out.card)
        if card_id is not None and await self._edit_card(chat, card_id, out):
            if not out.buzz:
                return card_id, False
            return (await self._send(chat, out, reply_to=card_id)).message_id, True
        message = await self._send(chat, out)
        await self.repos.alert_state.set_card(chat.id, out.thread_id, out.card, message.message_id)
        return message.message_id, True

    async def _edit_card(self, chat: _Chat, card_id: int, out: Outgoing) -> bool:
        """False when the card is gone (deleted, too old to edit) and a new one is needed."""

        async def edit(chat_id: int, text: str, mode: ParseMode | None) -> object:
            return await self.bot.edit_message_text(
                text=text,
                chat_id=chat_id,
                message_id=card_id,
                parse_mode=mode,
                reply_markup=out.keyboard,
            )

        try:
            await self._with_fallback(chat, edit, out.text)
        except TelegramBadRequest as exc:
            reason = exc.message.lower()
            if "not modified" in reason:
                return True  # a retry after a failed buzz: the card already shows this
            if "message to edit not found" in reason or "can't be edited" in reason:
                return False
            raise
        return True

    async def _send(self, chat: _Chat, out: Outgoing, *, reply_to: int | None = None) -> Message:
        reply = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to
            else None
        )

        async def send(chat_id: int, text: str, mode: ParseMode | None) -> Message:
            return await self.bot.send_message(
                chat_id,
                text,
                parse_mode=mode,
                message_thread_id=out.thread_id or None,
                disable_notification=out.silent,
                reply_markup=out.keyboard,
                reply_parameters=reply,
            )

        return await self._with_fallback(chat, send, out.text)

    async def _pin(self, chat: _Chat, pin: OwedPin) -> bool:
        """A map pin under its alert. The alert itself is delivered already (the place is in
        its text), so a pin that fails is logged and dropped, never retried."""
        try:
            await self._call(
                chat,
                lambda chat_id: self.bot.send_location(
                    chat_id,
                    latitude=pin.location.latitude,
                    longitude=pin.location.longitude,
                    message_thread_id=pin.thread_id or None,
                    disable_notification=True,
                    reply_parameters=ReplyParameters(
                        message_id=pin.reply_to, allow_sending_without_reply=True
                    ),
                ),
            )
        except TelegramRetryAfter as exc:
            log.warning("map pin to chat %s not sent: flood control", chat.id)
            self._paused[chat.id] = asyncio.get_running_loop().time() + exc.retry_after
            return False
        except Exception as exc:  # the rows are marked sent already: nothing may undo that
            log.warning("map pin to chat %s not sent: %s", chat.id, exc)
            return False
        return True

    async def _with_fallback(
        self,
        chat: _Chat,
        call: Callable[[int, str, ParseMode | None], Awaitable[T]],
        text: Rich,
    ) -> T:
        """Send as HTML; when Telegram cannot parse it, once more as plain text."""
        try:
            return await self._call(chat, lambda chat_id: call(chat_id, text.html, ParseMode.HTML))
        except TelegramBadRequest as exc:
            if "can't parse entities" not in exc.message:
                raise
            log.warning("alert HTML refused in chat %s (%s): sending plain text", chat.id, exc)
        return await self._call(chat, lambda chat_id: call(chat_id, text.plain, None))

    async def _call(self, chat: _Chat, make: Callable[[int], Awaitable[T]]) -> T:
        """One paced request; a group that became a supergroup is followed to its new id."""
        for _attempt in range(3):
            await self._limiter(chat.id).acquire()
            await self._global.acquire()
            try:
                return await make(chat.id)
            except TelegramMigrateToChat as exc:
                await self._migrate(chat, exc.migrate_to_chat_id)
        raise RuntimeError(f"chat {chat.ids[0]} keeps migrating: {chat.ids}")

    def _limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chat_limiters.get(chat_id)
        if limiter is None:
            if chat_id > 0:
                limiter = rate_limiter(self.limits.per_private_chat_per_second, 1.0)
            else:
                limiter = rate_limiter(
                    self.limits.per_group_per_minute, self.limits.group_window_seconds
                )
            self._chat_limiters[chat_id] = limiter
        return limiter

    # --- Telegram's refusals ----------------------------------------------------------------------
    async def _on_flood(self, chat_id: int, rows: list[OutboxRow], retry_after: int) -> None:
        """429: this chat waits ``retry_after``; nothing is lost and the other chats go on.
        (The request middleware counts the 429 in ``metrics.telegram_429``.)"""
        log.warning("flood control in chat %s: waiting %ss", chat_id, retry_after)
        self._paused[chat_id] = asyncio.get_running_loop().time() + retry_after
        until = utcnow() + timedelta(seconds=retry_after)
        await self.repos.outbox.postpone([row.id for row in rows], until, None)

    async def _on_network_error(self, rows: list[OutboxRow], exc: BaseException) -> None:
        attempts = max((row.attempts for row in rows), default=0)
        delay = min(
            self.limits.retry_max_seconds,
            self.limits.retry_base_seconds * 2 ** min(attempts, 20),
        ) * random.uniform(0.8, 1.2)
        log.warning("alert send failed (%s): retrying in %.1fs", exc, delay)
        until = utcnow() + timedelta(seconds=delay)
        error = redact_text(f"{type(exc).__name__}: {exc}")
        await self.repos.outbox.postpone([row.id for row in rows], until, error)

    async def _migrate(self, chat: _Chat, new_id: int) -> None:
        """A group became a supergroup: its approval, subscriptions and pending rows move."""
        old_id = chat.id
        log.info("chat %s migrated to %s", old_id, new_id)
        # The groups handler may have moved the chat already (it sees the service messages).
        await self.repos.chats.move(old_id, new_id)
        self._owed.move(old_id, new_id)
        chat.id = new_id
        chat.ids.append(new_id)
        job = self._jobs.get(chat.ids[0])
        if job is not None:
            self._jobs.setdefault(new_id, job)  # one job per chat, whatever its id

    async def _on_refused(self, chat_id: int, reason: str) -> None:
        """A 400 other than "can't parse entities": tell the admins once per chat (until a
        message to that chat goes through again), with the chat's name and Telegram's reason."""
        told = await self._refusals_told()
        if str(chat_id) in told:
            return
        told[str(chat_id)] = reason
        await self.repos.settings.set(REFUSALS_TOLD, told, by=None)
        await self.repos.audit.record(None, "chat.refused_alerts", chat_id, reason=reason)
        title = await self._chat_title(chat_id)
        values = {"title": html.quote(title), "id": str(chat_id), "reason": html.quote(reason)}
        await self._tell_admins(chat_id, lambda: _("alert.admin_chat_refused").format(**values))

    async def _refusal_over(self, chat_id: int) -> None:
        told = await self._refusals_told()
        if told.pop(str(chat_id), None) is not None:
            await self.repos.settings.set(REFUSALS_TOLD, told, by=None)

    async def _refusals_told(self) -> dict[str, str]:
        if self._told is None:
            stored = await self.repos.settings.get(REFUSALS_TOLD, {})
            self._told = dict(stored) if isinstance(stored, dict) else {}
        return self._told

    async def _chat_title(self, chat_id: int) -> str:
        if chat_id < 0:
            known = await self.repos.chats.get(chat_id)
            return (known.title if known else "") or str(chat_id)
        user = await self.repos.users.get(chat_id)
        return (user.full_name if user else "") or str(chat_id)

    async def _on_forbidden(self, chat_id: int, reason: str) -> None:
        """403: the bot was kicked or blocked. The chat stops getting alerts, its pending rows
        fail, and the admins hear about it (once: the groups handler may have told them)."""
        log.warning("chat %s refuses the bot: %s", chat_id, reason)
        self._owed.forget(chat_id)
        if chat_id < 0:
            known = await self.repos.chats.get(chat_id)
            news = known is None or known.status is not ChatStatus.DISABLED
            await self.repos.chats.set_status(chat_id, ChatStatus.DISABLED)
            title = known.title if known and known.title else str(chat_id)
        else:
            news = True
            await self.repos.subscriptions.remove_chat(chat_id)
            user = await self.repos.users.get(chat_id)
            title = (user.full_name if user else "") or str(chat_id)
        await self.repos.outbox.fail_chat(chat_id, reason)
        await self.repos.audit.record(None, "chat.unreachable", chat_id, reason=reason)
        if not news:
            return
        values = {"title": html.quote(title), "id": str(chat_id), "reason": html.quote(reason)}
        if chat_id < 0:
            await self._tell_admins(
                chat_id, lambda: _("alert.admin_chat_disabled").format(**values)
            )
        else:
            await self._tell_admins(chat_id, lambda: _("alert.admin_user_blocked").format(**values))

    async def _tell_admins(self, skip: int, text: Callable[[], str]) -> None:
        """A direct message to every admin in their language, outside the outbox (the chat it
        is about may be the one that is broken). These few messages may wait out a 429."""
        token = retry_on_flood.set(True)
        try:
            for admin in await self.repos.users.admins():  # ADMIN_IDS and those granted since
                if admin.id == skip:
                    continue
                with (
                    self.i18n.context(),
                    self.i18n.use_locale(locale_for(admin.language_code, self.i18n.default_locale)),
                ):
                    body = text()
                try:
                    await self.bot.send_message(admin.id, body)
                except TelegramAPIError as exc:
                    log.warning("could not tell admin %s: %s", admin.id, exc.message)
        finally:
            retry_on_flood.reset(token)


def compose(unit: list[tuple[OutboxRow, Alert]], ctx: RenderContext) -> list[Outgoing]:
    """The messages for one unit: a single alert (or card) as is, several as a grouped message
    split into parts, each part carrying the buttons of its own first row."""
    rows = [row for row, _alert in unit]
    thread_id = rows[0].thread_id
    if len(unit) == 1:
        row, alert = unit[0]
        spec = KINDS.get(row.kind)
        card = row.subject_key if spec is not None and spec.card else None
        return [
            Outgoing(
                rows=rows,
                thread_id=thread_id,
                text=render_alert(alert, severity(row), ctx),
                keyboard=alert_keyboard(row.id, ctx),
                silent=severity(row) <= Severity.LOW,
                pins=latest_places([alert], 1),
                card=card,
                buzz=card is not None and spec is not None and spec.buzz,
            )
        ]
    parts = render_group([(alert, severity(row)) for row, alert in unit], ctx)
    queue = []
    for part in parts:
        part_rows = [rows[i] for i in part.indexes]
        queue.append(
            Outgoing(
                rows=part_rows,
                thread_id=thread_id,
                text=part.text,
                keyboard=alert_keyboard(part_rows[0].id, ctx),
                silent=all(severity(row) <= Severity.LOW for row in part_rows),
                pins=latest_places([unit[i][1] for i in part.indexes], MAX_GROUP_PINS),
            )
        )
    return queue
