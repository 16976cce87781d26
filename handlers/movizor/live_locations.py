"""Telegram live locations that follow Movizor drivers (/follow), and the bot's Movizor
background work.

A dispatcher types ``/follow <phone>``: the bot posts a live location (``sendLocation`` with a
``live_period``) and :class:`LiveLocations` moves it after every poll until the driver arrives,
the phone is switched off, someone types ``/unfollow`` or the live period is about to end; then
it stops the location (``stopMessageLiveLocation``) and says why.

One cycle makes ONE position fetch for every followed phone (``pos_objects``) plus one
``object_list`` for the statuses, however many chats follow however many drivers: Movizor
counts requests per account and hour.

The same service owns the short-lived background tasks of the Movizor commands (the "🔄
Обновить" polls of /locate, see :meth:`spawn`), so that stopping the bot cancels them before
the HTTP client closes.

Trouble does not end a follow: a 429 pauses that chat for ``retry_after`` (the other chats
move on), a network or server error backs the whole service off; only Telegram saying the message
is gone ends it (see live_errors.py). Follows are kept in SQLite (``live_follows``) and resumed
at start, so a restart moves the same live messages on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final, TypeVar

from aiogram import Bot, html
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n
from bot.phones import mask_phone
from bot.telegram_requests import retry_on_flood
from handlers.movizor.live_errors import Outcome, judge
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import MovizorError
from integrations.movizor.models import Forecast, ObjectPosition, ObjectStatus, Position
from storage.db import utcnow
from storage.live_follows import LiveFollow, LiveFollowsRepo

log = logging.getLogger(__name__)

LIVE_PERIOD_SECONDS: Final = 8 * 3600
MIN_LIVE_PERIOD_SECONDS: Final = 60  # Telegram's shortest live period
# Telegram refuses a horizontal accuracy above 1500 m; Movizor radii go up to several km.
MAX_ACCURACY_M: Final = 1500
# A driver this close to the end point (with a forecast, i.e. a route) has arrived.
ARRIVED_KM: Final = 1.0
# Statuses after which nothing moves any more.
STOPPED_STATUSES: Final = frozenset({ObjectStatus.OFF, ObjectStatus.OFF_NEW, ObjectStatus.REJECTED})
# After a network or server error Telegram is left alone this long, doubling up to the cap.
NETWORK_BACKOFF_SECONDS: Final = 30.0
NETWORK_BACKOFF_MAX_SECONDS: Final = 15 * 60.0
OK: Final = Outcome("done")

T = TypeVar("T")

FollowKey = tuple[int, int, str]  # (chat id, forum topic or 0, msisdn)


@dataclass
class Followed:
    """One live location on screen: where it is, whose it is, and what it shows now."""

    chat_id: int
    thread_id: int
    phone: str
    title: str
    locale: str
    message_id: int
    until: float  # on the service's clock: when Telegram stops accepting edits
    lat: float
    lon: float

    @property
    def key(self) -> FollowKey:
        return (self.chat_id, self.thread_id, self.phone)


def accuracy_of(position: Position) -> float | None:
    """Movizor's radius as Telegram's horizontal accuracy (capped at Telegram's maximum)."""
    if position.radius is None or position.radius <= 0:
        return None
    return float(min(position.radius, MAX_ACCURACY_M))


def has_arrived(position: Position) -> bool:
    """Arrival: Movizor says the route is finished, or the forecast's km left are ~0.

    A distance without a forecast is not trusted: Movizor sends ``distance: 0`` for a phone
    that has no route at all.
    """
    if position.distance_forecast_status == Forecast.FINISHED:
        return True
    has_forecast = position.distance_forecast_status in (Forecast.OK, Forecast.LATE)
    return has_forecast and position.distance is not None and position.distance <= ARRIVED_KM


class LiveLocations:
    """Followed live locations plus the background tasks of the Movizor commands."""

    def __init__(
        self,
        bot: Bot,
        movizor: MovizorClient | None,
        i18n: PoI18n,
        *,
        poll_seconds: int,
        live_period: int = LIVE_PERIOD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        store: LiveFollowsRepo | None = None,
    ) -> None:
        self.bot = bot
        self.movizor = movizor
        self.i18n = i18n
        self.poll_seconds = poll_seconds
        self.live_period = live_period
        self.clock = clock
        self.store = store
        self._followed: dict[FollowKey, Followed] = {}
        self._flood_until: dict[int, float] = {}  # chat id -> end of its 429 wait (our clock)
        self._backoff_until = 0.0  # after a network error: no Telegram calls before this
        self._backoff = 0.0  # the current back-off step (0: none)
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cycle_lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------------------------

    async def resume(self) -> None:
        """Take back the follows saved before a restart; those whose live period is over
        are forgotten (Telegram stopped them itself)."""
        if self.store is None:
            return
        now, wall = self.clock(), utcnow()
        for saved in await self.store.all():
            left = (saved.live_until - wall).total_seconds()
            if left <= 0:
                await self.store.delete(saved.chat_id, saved.thread_id, saved.phone)
                continue
            followed = Followed(
                chat_id=saved.chat_id,
                thread_id=saved.thread_id,
                phone=saved.phone,
                title=saved.title,
                locale=saved.locale,
                message_id=saved.message_id,
                until=now + left,
                lat=saved.lat,
                lon=saved.lon,
            )
            self._followed[followed.key] = followed
        if self._followed:
            log.info("live locations: resumed %d follow(s)", len(self._followed))

    async def start(self) -> None:
        """Start the poll loop (nothing to do when Movizor is not configured)."""
        if self.movizor is not None and self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="live-locations")

    async def stop(self) -> None:
        """Cancel the poll loop and every background task, and wait for them to end."""
        tasks = [*self._tasks, *([self._loop_task] if self._loop_task else [])]
        self._loop_task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference until it ends (asyncio only
        keeps weak ones) so :meth:`stop` can cancel it."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def busy(self, name: str) -> bool:
        """Whether a background task of that name is still running (one refresh per card)."""
        return any(task.get_name() == name for task in self._tasks)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.cycle()
            except Exception:  # the loop must outlive one bad cycle
                log.exception("live locations: cycle failed")

    # --- following --------------------------------------------------------------------------------

    def followed(self) -> list[Followed]:
        return list(self._followed.values())

    def get(self, chat_id: int, thread_id: int, phone: str) -> Followed | None:
        return self._followed.get((chat_id, thread_id, phone))

    async def follow(
        self,
        chat_id: int,
        thread_id: int,
        phone: str,
        *,
        title: str,
        locale: str,
        position: Position,
    ) -> Followed:
        """Post the live location at ``position`` (which must have a fix) and keep moving it."""
        assert position.lat is not None and position.lon is not None
        message = await self._post(chat_id, thread_id, position, self.live_period)
        followed = Followed(
            chat_id=chat_id,
            thread_id=thread_id,
            phone=phone,
            title=title,
            locale=locale,
            message_id=message.message_id,
            until=self.clock() + self.live_period,
            lat=position.lat,
            lon=position.lon,
        )
        self._followed[followed.key] = followed
        await self._save(followed)
        return followed

    async def _post(
        self, chat_id: int, thread_id: int, position: Position, live_period: int
    ) -> Message:
        assert position.lat is not None and position.lon is not None
        return await self.bot.send_location(
            chat_id,
            position.lat,
            position.lon,
            message_thread_id=thread_id or None,
            live_period=live_period,
            horizontal_accuracy=accuracy_of(position),
        )

    async def _save(self, followed: Followed) -> None:
        if self.store is None:
            return
        left = timedelta(seconds=max(followed.until - self.clock(), 0))
        await self.store.save(
            LiveFollow(
                chat_id=followed.chat_id,
                thread_id=followed.thread_id,
                phone=followed.phone,
                title=followed.title,
                locale=followed.locale,
                message_id=followed.message_id,
                live_until=utcnow() + left,
                lat=followed.lat,
                lon=followed.lon,
            )
        )

    async def unfollow(self, chat_id: int, thread_id: int, phone: str) -> Followed | None:
        """Stop one live location; ``None`` when this chat was not following the phone."""
        followed = self._followed.get((chat_id, thread_id, phone))
        if followed is not None:
            await self._forget(followed)
            await self._stop_message(followed)
        return followed

    async def _forget(self, followed: Followed) -> None:
        self._followed.pop(followed.key, None)
        if self.store is not None:
            await self.store.delete(followed.chat_id, followed.thread_id, followed.phone)

    # --- the poll cycle ---------------------------------------------------------------------------

    async def cycle(self) -> None:
        """One poll: fetch every position once, then move, or end, each live location."""
        async with self._cycle_lock:
            if not self._followed or self.movizor is None:
                return
            if self.clock() < self._backoff_until:
                return  # Telegram was unreachable: not even Movizor's requests are spent
            try:
                positions = {p.phone: p for p in await self.movizor.pos_objects()}
                statuses = {o.phone: o.status for o in await self.movizor.object_list()}
            except MovizorError as exc:
                log.warning("live locations: Movizor poll failed: %s", exc)
                return
            for followed in list(self._followed.values()):
                if self.clock() < self._backoff_until:
                    break  # a network error in this cycle: the rest waits too
                if self._flood_wait(followed.chat_id):
                    continue  # 429 in this chat: it waits, the others move
                await self._update(followed, positions.get(followed.phone), statuses)

    def _flood_wait(self, chat_id: int) -> bool:
        """Whether the chat is still inside a 429 wait (a wait that is over is forgotten)."""
        until = self._flood_until.get(chat_id)
        if until is None:
            return False
        if self.clock() < until:
            return True
        del self._flood_until[chat_id]
        return False

    async def _update(
        self,
        followed: Followed,
        position: ObjectPosition | None,
        statuses: dict[str, Any],
    ) -> None:
        reason = self._end_reason(followed, position, statuses.get(followed.phone))
        if position is not None and position.has_fix:
            outcome = await self._show(followed, position)
            if outcome.verdict == "moved":
                followed = await self._moved(followed, outcome.new_chat_id)
                outcome = await self._show(followed, position)
            if outcome.verdict == "gone":
                await self._forget(followed)
                await self._say_why(followed, "gone")
                return
            if outcome.verdict in ("flood", "network", "moved"):
                return  # this follow ends (if it should) once Telegram answers again
        if reason is not None:
            stopped = await self._stop_message(followed)
            if stopped.verdict in ("flood", "network"):
                return  # stopped on a later poll
            await self._forget(followed)
            await self._say_why(followed, reason)

    async def _show(self, followed: Followed, position: ObjectPosition) -> Outcome:
        """Move the live location, or post a new one if it has none in this chat yet."""
        if followed.message_id == 0:
            return await self._repost(followed, position)
        return await self._move(followed, position)

    async def _moved(self, followed: Followed, new_chat_id: int) -> Followed:
        """The group became a supergroup: the follow goes on there (its old live location
        stays behind in the old group, where the bot can no longer write)."""
        await self._forget(followed)
        moved = replace(followed, chat_id=new_chat_id, message_id=0)
        self._followed[moved.key] = moved
        await self._save(moved)
        log.info(
            "live location of %s follows chat %s to %s",
            mask_phone(followed.phone),
            followed.chat_id,
            new_chat_id,
        )
        return moved

    async def _repost(self, followed: Followed, position: ObjectPosition) -> Outcome:
        """A new live location for the rest of the live period, and a word on why."""
        left = max(int(followed.until - self.clock()), MIN_LIVE_PERIOD_SECONDS)
        posted: list[Message] = []

        async def post() -> None:
            posted.append(await self._post(followed.chat_id, followed.thread_id, position, left))

        outcome = await self._call(followed, "post", post)
        if posted:
            assert position.lat is not None and position.lon is not None
            followed.message_id = posted[0].message_id
            followed.lat, followed.lon = position.lat, position.lon
            await self._save(followed)
            await self._say_why(followed, "moved")
        return outcome

    def _end_reason(
        self, followed: Followed, position: ObjectPosition | None, status: Any
    ) -> str | None:
        """Why following ends now: ``arrived``, ``off`` or ``expired`` (``None``: go on).

        ``expired`` fires one poll early: after the live period Telegram refuses even the stop,
        so the location is stopped while it still can be.
        """
        if status is None or status in STOPPED_STATUSES:
            return "off"
        if position is not None and has_arrived(position):
            return "arrived"
        if self.clock() + self.poll_seconds >= followed.until:
            return "expired"
        return None

    async def _move(self, followed: Followed, position: ObjectPosition) -> Outcome:
        """Edit the live location; an unchanged point is not sent (Telegram refuses it)."""
        lat, lon = position.lat, position.lon
        assert lat is not None and lon is not None
        if (lat, lon) == (followed.lat, followed.lon):
            return OK
        outcome = await self._call(
            followed,
            "move",
            lambda: self.bot.edit_message_live_location(
                latitude=lat,
                longitude=lon,
                chat_id=followed.chat_id,
                message_id=followed.message_id,
                horizontal_accuracy=accuracy_of(position),
            ),
        )
        if outcome.verdict == "done":
            followed.lat, followed.lon = lat, lon
            if self.store is not None:
                await self.store.moved(
                    followed.chat_id, followed.thread_id, followed.phone, lat, lon
                )
        return outcome

    async def _stop_message(self, followed: Followed) -> Outcome:
        if followed.message_id == 0:
            return OK  # its live location stayed in a group that became a supergroup
        return await self._call(
            followed,
            "stop",
            lambda: self.bot.stop_message_live_location(
                chat_id=followed.chat_id, message_id=followed.message_id
            ),
        )

    async def _call(
        self, followed: Followed, what: str, request: Callable[[], Awaitable[T]]
    ) -> Outcome:
        """One Bot API call on a live location, and what its failure means (live_errors).

        The request middleware's 429 patience is off here: sleeping on one chat's wait would
        hold up every other chat's move; this service remembers the wait instead.
        """
        token = retry_on_flood.set(False)
        try:
            await request()
        except TelegramAPIError as exc:
            error, outcome = exc, judge(exc)
        else:
            self._backoff = 0.0
            return OK
        finally:
            retry_on_flood.reset(token)
        where = f"{what} live location of {mask_phone(followed.phone)} in {followed.chat_id}"
        if outcome.verdict == "flood":
            self._flood_until[followed.chat_id] = self.clock() + outcome.retry_after
            log.warning("%s: flood control, chat waits %ss", where, outcome.retry_after)
        elif outcome.verdict == "network":
            self._backoff = min(
                max(self._backoff * 2, NETWORK_BACKOFF_SECONDS), NETWORK_BACKOFF_MAX_SECONDS
            )
            self._backoff_until = self.clock() + self._backoff
            log.warning("%s failed, Telegram left alone for %.0fs: %s", where, self._backoff, error)
        elif outcome.verdict == "gone":
            log.info("%s: the message is gone, follow ends: %s", where, error)
        elif outcome.verdict == "moved":
            log.info("%s: the group became supergroup %s", where, outcome.new_chat_id)
        elif outcome.verdict == "retry":
            log.warning("%s refused, retried next poll: %s", where, error)
        return outcome

    async def _say_why(self, followed: Followed, reason: str) -> None:
        """Tell the chat, in the follower's language, why the location stopped moving."""
        with self.i18n.context(), self.i18n.use_locale(followed.locale):
            values = {
                "title": html.quote(followed.title),
                "msisdn": followed.phone,
                "hours": self.live_period // 3600,
            }
            if reason == "arrived":
                text = _("drivers.follow.arrived").format(**values)
            elif reason == "off":
                text = _("drivers.follow.off").format(**values)
            elif reason == "gone":
                text = _("drivers.follow.gone").format(**values)
            elif reason == "moved":
                text = _("drivers.follow.moved").format(**values)
            else:
                text = _("drivers.follow.expired").format(**values)
        try:
            await self.bot.send_message(
                followed.chat_id, text, message_thread_id=followed.thread_id or None
            )
        except TelegramAPIError as exc:
            log.info("could not tell %s the live location ended: %s", followed.chat_id, exc)
