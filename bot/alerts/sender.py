"""The alert sender: one long-running task that drains the outbox into Telegram.

    pipeline.commit(...) -> outbox rows -> sender.wake() -> due rows, per chat -> Telegram

- Each round reads the due rows in id order and starts a job per chat (at most one job per chat,
  a few chats at once), so one slow or throttled chat never holds up the others.
- A job groups what waits for one chat/topic into ONE message ("N оповещений", split under
  4096), except status cards (bot/alerts/cards.py); routine news is folded per subject and
  window (bot/alerts/packing.py, bot/alerts/send_check.py).
- When that needs more messages than the chat's budget sends in time, the job sends denser
  messages instead (storm mode, bot/alerts/storm.py): a line per subject, a line per kind.
- Pacing is ours (aiolimiter, per chat and global), and the request middleware's own 429
  patience is off in this task: a 429 postpones that chat's rows instead of sleeping.
- Rows are marked sent right after Telegram accepted their message, so a crash in between
  repeats at most that one message.
- Alerts come first: the map pins under them are owed (bot/alerts/pins_owed.py) and paid only
  when the chat has nothing due and its budget has room to spare, so under a sustained stream
  pins give way instead of holding the next alerts back.
- After alerts land in a chat, a wizard question they pushed up is asked again as the newest
  message (bot/alerts/chat_tail.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import aiohttp
from aiogram import Bot
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
from aiogram.types import ForceReply, Message, ReplyParameters
from aiolimiter import AsyncLimiter

from bot.alerts.cards import CardDesk
from bot.alerts.chat_tail import ChatTail
from bot.alerts.packing import Density, Item, Outgoing, Recipient, compose, plan_units
from bot.alerts.pins_owed import OwedPin, OwedPins
from bot.alerts.pipeline import AlertPipeline
from bot.alerts.refusals import Refusals
from bot.alerts.render import RenderContext, local_time
from bot.alerts.render_dense import storm_ended_line
from bot.alerts.send_check import drop_unwanted, hold_routine
from bot.alerts.storm import CALM, HORIZON, StormDesk
from bot.i18n import PoI18n, locale_for
from bot.metrics import Metrics
from bot.settings.chat import chat_language
from bot.telegram_requests import retry_on_flood
from bot.texts import Rich
from integrations.base import Alert
from integrations.redact import redact_text
from storage import Repos
from storage.db import utcnow
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)
T = TypeVar("T")

DUE_BATCH = 500  # rows read per round
ROUTINE_WINDOW = timedelta(minutes=10)  # ALERT_ROUTINE_MINUTES
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
    storm: bool = True  # denser messages when alerts outrun the budget (bot/alerts/storm.py)
    storm_horizon_seconds: float = HORIZON
    storm_calm_seconds: float = CALM


def rate_limiter(count: float, period: float) -> AsyncLimiter:
    """``count`` per ``period`` seconds; bursts of ``count`` (at least one send at a time)."""
    burst = max(1.0, count)
    return AsyncLimiter(burst, period * burst / count)


async def chat_context(
    repos: Repos, i18n: PoI18n, default_tz: ZoneInfo, chat_id: int, thread_id: int = 0
) -> RenderContext:
    """The language and time zone a chat (topic) reads alerts in.

    A topic without its own zone uses the chat's, then the bot's. The language a chat chose
    in its /settings comes first; else a private chat reads its user's language, and groups
    the bot's default language.
    """
    tz = await repos.subscriptions.zone(chat_id, thread_id, default_tz)
    locale = i18n.default_locale
    chosen = await chat_language(repos, chat_id, thread_id)
    if chosen is not None:
        locale = chosen
    elif chat_id > 0:
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
        tail: ChatTail | None = None,
        routine_window: timedelta = ROUTINE_WINDOW,
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
        self.tail = tail or ChatTail()
        self.routine_window = routine_window
        self.cards = CardDesk(repos, self, self.tail, routine_window)
        self.refusals = Refusals(bot, repos, i18n, self._owed)
        self.storm = StormDesk(
            repos,
            metrics,
            enabled=limits.storm,
            horizon=limits.storm_horizon_seconds,
            calm=limits.storm_calm_seconds,
        )
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
            try:
                await self.storm.load()
            except Exception:
                log.exception("alert storms could not be read: they start afresh")
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
            self._jobs[chat_id] = asyncio.create_task(self._job(Recipient(chat_id), rows))
        # Then the pins owed to chats with nothing due (a job checks the outbox again first).
        # A full batch may not show every chat's due rows: the alerts of that backlog go first.
        if len(due) >= DUE_BATCH:
            return
        # Chats whose storm is over (a job tells them so), then the pins.
        for chat_id in [*self.storm.over(utcnow()), *self._owed.chats()]:
            if len(self._jobs) >= self.limits.chats_in_flight or self._stopping:
                return
            if chat_id in by_chat or chat_id in self._jobs or self._paused.get(chat_id, 0.0) > now:
                continue
            if self._has_spare(chat_id):
                self._jobs[chat_id] = asyncio.create_task(self._job(Recipient(chat_id), []))

    async def _idle_timeout(self) -> float:
        self.metrics.outbox_depth.set(await self.repos.outbox.depth())
        idle = PIN_RECHECK if self._owed else IDLE_MAX
        storm_end = self.storm.next_end_in(utcnow())
        if storm_end is not None:
            idle = max(min(idle, storm_end), RECHECK)
        next_due = await self.repos.outbox.next_due_at()
        if next_due is None:
            return idle
        wait = (next_due - utcnow()).total_seconds()
        return idle if wait > idle else max(wait, RECHECK)

    async def _job(self, chat: Recipient, rows: list[OutboxRow]) -> None:
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
    async def _serve(self, chat: Recipient, rows: list[OutboxRow]) -> None:
        """Send one chat's due rows message by message, until done, throttled or refused;
        then the pins it is owed, if it has nothing else due and budget to spare."""
        if rows:
            rows = await drop_unwanted(self.repos, self.pipeline, self.metrics, chat.id, rows)
            rows = await hold_routine(self.repos, chat.id, rows, self.routine_window, utcnow())
        queue = await self._plan(chat.id, rows)
        topics: set[int] = set()
        try:
            for index, out in enumerate(queue):
                if self._stopping or not self._limiter(chat.id).has_capacity():
                    return  # the rest stays due; it goes out (grouped anew) in a later round
                rest = [row for later in queue[index:] for row in later.rows]
                if not await self._attempt(chat, out, rest):
                    return
                topics.add(out.thread_id)
        finally:
            for thread_id in sorted(topics):
                await self._ask_again(chat, thread_id)
        if self.storm.is_over(chat.id, utcnow()):
            await self._end_storm(chat)
        await self._pay_pins(chat)

    async def _ask_again(self, chat: Recipient, thread_id: int) -> None:
        """Wizard questions the alerts just pushed up are asked again below them, while the
        step is open (best effort: the question is still there, higher up)."""
        for prompt in await self.tail.stale_prompts(chat.id, thread_id):
            try:
                await self._call(
                    chat,
                    lambda chat_id, p=prompt: self.bot.send_message(  # type: ignore[misc]
                        chat_id,
                        p.html_text,
                        parse_mode=ParseMode.HTML,
                        message_thread_id=p.thread_id or None,
                        reply_markup=ForceReply(selective=True),
                    ),
                )
            except Exception as exc:
                log.warning("wizard question in chat %s not asked again: %s", chat.id, exc)

    async def _pay_pins(self, chat: Recipient) -> None:
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

    async def _plan(self, chat_id: int, rows: list[OutboxRow]) -> list[Outgoing]:
        """The messages for the chat's due rows, at the density its budget allows."""
        pairs: list[tuple[OutboxRow, Alert]] = []
        for row in rows:
            try:
                pairs.append((row, Alert.from_json(row.payload)))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("outbox row %s has a bad payload: %s", row.id, exc)
                await self.repos.outbox.mark_failed([row.id], f"bad payload: {exc}")
        contexts: dict[int, RenderContext] = {}

        async def lay_out(density: Density, entering: bool) -> list[Outgoing]:
            return await self._compose(chat_id, pairs, density, contexts, entering)

        return await self.storm.fit(chat_id, self._limiter(chat_id), lay_out)

    async def _compose(
        self,
        chat_id: int,
        pairs: list[tuple[OutboxRow, Alert]],
        density: Density,
        contexts: dict[int, RenderContext],
        entering: bool,
    ) -> list[Outgoing]:
        queue: list[Outgoing] = []
        for unit in plan_units(pairs, density=density):
            thread_id = unit[0].rows[0].thread_id
            if thread_id not in contexts:
                contexts[thread_id] = await chat_context(
                    self.repos, self.i18n, self.default_tz, chat_id, thread_id
                )
            try:
                queue += compose(unit, contexts[thread_id], density, entering=entering)
            except Exception as exc:
                # A rendering bug must cost these alerts, not block the chat's queue forever.
                await self._unrenderable(unit, pairs, exc)
        return queue

    async def _unrenderable(
        self, unit: list[Item], pairs: list[tuple[OutboxRow, Alert]], exc: Exception
    ) -> None:
        ids = {row.id for item in unit for row in item.rows}
        log.exception("could not render outbox rows %s", sorted(ids))
        await self.repos.outbox.mark_failed(sorted(ids), repr(exc))
        pairs[:] = [(row, alert) for row, alert in pairs if row.id not in ids]

    async def _attempt(self, chat: Recipient, out: Outgoing, rest: list[OutboxRow]) -> bool:
        """Send one message and deal with Telegram's answer; False: stop serving this chat."""
        try:
            await self._deliver(chat, out)
        except TelegramRetryAfter as exc:
            await self._on_flood(chat.id, rest, exc.retry_after)
            return False
        except TelegramForbiddenError as exc:
            await self.refusals.forbidden(chat.id, exc.message)
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
            await self.refusals.refused(chat.id, redact_text(exc.message))
        except Exception as exc:
            log.exception("alert to chat %s failed", chat.id)
            await self.repos.outbox.mark_failed(out.ids, redact_text(repr(exc)))
        return True

    # --- sending ----------------------------------------------------------------------------------
    async def _deliver(self, chat: Recipient, out: Outgoing) -> None:
        if out.card is not None:
            message_id, fresh = await self.cards.put(chat, out)
        else:
            message_id, fresh = (await self.send(chat, out)).message_id, True
        await self.repos.outbox.mark_sent(out.ids, message_id)
        await self.refusals.over(chat.id)
        if out.dense:
            await self.storm.delivered(chat.id, out.thread_id, len(out.rows))
        if fresh:
            now = asyncio.get_running_loop().time()
            for key, location in out.pins:
                self._owed.owe(chat.id, OwedPin(out.thread_id, key, location, message_id, now))

    async def send(self, chat: Recipient, out: Outgoing, *, reply_to: int | None = None) -> Message:
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

        return await self.with_fallback(chat, send, out.text)

    async def _pin(self, chat: Recipient, pin: OwedPin) -> bool:
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

    async def _end_storm(self, chat: Recipient) -> None:
        """ "The storm is over, N alerts went out in summaries", in each topic that had them
        (best effort, like a pin: a 429 tries again later, any other refusal gives up)."""
        since, counts = self.storm.ending(chat.id)
        for thread_id, count in sorted(counts.items()):
            ctx = await chat_context(self.repos, self.i18n, self.default_tz, chat.id, thread_id)
            line = storm_ended_line(count, local_time(since, ctx.tz), ctx)
            out = Outgoing([], thread_id, line, None, silent=True, pins=[])
            try:
                await self.send(chat, out)
            except TelegramRetryAfter as exc:
                self._paused[chat.id] = asyncio.get_running_loop().time() + exc.retry_after
                return
            except Exception as exc:
                log.warning("storm-ended line to chat %s not sent: %s", chat.id, exc)
            await self.storm.told(chat.id, thread_id)
        await self.storm.forget(chat.id)

    async def with_fallback(
        self,
        chat: Recipient,
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

    async def _call(self, chat: Recipient, make: Callable[[int], Awaitable[T]]) -> T:
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

    async def _migrate(self, chat: Recipient, new_id: int) -> None:
        """A group became a supergroup: its approval, subscriptions and pending rows move."""
        old_id = chat.id
        log.info("chat %s migrated to %s", old_id, new_id)
        # The groups handler may have moved the chat already (it sees the service messages).
        await self.repos.chats.move(old_id, new_id)
        self._owed.move(old_id, new_id)
        self.storm.move(old_id, new_id)
        chat.id = new_id
        chat.ids.append(new_id)
        job = self._jobs.get(chat.ids[0])
        if job is not None:
            self._jobs.setdefault(new_id, job)  # one job per chat, whatever its id
