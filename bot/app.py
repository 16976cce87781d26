"""Wiring: settings -> database, bot, dispatcher, routers, middlewares, health server.

:class:`LogiBot` is used the same way by `logibot run`, the demo and the tests:
``await app.start()`` then ``await app.run()``; ``await app.request_stop()`` from outside.

Roles (bot/leader.py): the background work — watchers and scheduler jobs, the alert sender,
each service's own loops (directory syncs, live-location follows), command menus — runs only
in the leader; so does getUpdates in polling mode (bot/webhook.py). In webhook mode every
process serves updates from start to stop. A standby waits in :meth:`LogiBot.run` until it
becomes the leader; a leader that loses its lock stops the background work at once and
:meth:`LogiBot.run` raises :class:`LeadershipLost` (the process exits; its supervisor starts
it again, as a standby).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bot.access import AccessMiddleware
from bot.alerts.chat_tail import ChatTail
from bot.alerts.pipeline import AlertPipeline
from bot.alerts.scheduler import AlertScheduler
from bot.alerts.sender import AlertSender, SendLimits
from bot.alerts.watching import WatchRunner
from bot.config import Settings
from bot.database_access import open_database
from bot.digests.job import EVERY_SECONDS as DIGEST_EVERY_SECONDS
from bot.digests.job import DigestJob
from bot.digests.settings import DIGEST_HOUR, HISTORY_DAYS
from bot.escalation.prefs import EscalationPrefs
from bot.escalation.service import Escalation
from bot.fsm_storage import build_fsm_storage
from bot.health import HealthServer, HealthState, IntegrationHealth, StartupProgress
from bot.i18n import LocaleMiddleware, build_i18n
from bot.leader import leadership_for
from bot.menus import publish_all_menus
from bot.metrics import Metrics
from bot.ownership import Ownership
from bot.periodic import Periodic
from bot.services import REGISTRY, ServiceContext, ServiceRuntime
from bot.settings import general
from bot.settings.chat import chat_language
from bot.settings.registry import ChangeHook, ChatKey, find_setting
from bot.settings.wiring import build_settings_values
from bot.startup import wait_for_telegram
from bot.telegram_requests import TelegramRequestMiddleware
from bot.updates import UpdateTracker
from bot.webhook import leave_webhook_mode, serve_webhook, set_webhook
from bot.zones import ChatZoneMiddleware
from handlers import build_root_router
from integrations.base import Watcher
from storage import Repos
from storage.changes import ChangeListener
from storage.db import Database
from storage.retention import Retention

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 20
_heap_frozen = False


def freeze_startup_heap() -> None:
    """What start-up made (modules, routers, the SQL compiled cache…) lives as long as the
    process: move it out of the garbage collector's way (gc.freeze), or every full collection
    walks it again. Measured by `make bench` it was a third of the CPU an alert costs. Once per
    process, after a collection so no garbage is kept forever."""
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        _heap_frozen = True


class LeadershipLost(RuntimeError):
    """The leader lost its lock; its background work has stopped (the process should exit)."""


class LogiBot:
    def __init__(
        self,
        settings: Settings,
        *,
        extra_routers: Sequence[Router] = (),
        extra_watchers: Sequence[tuple[Watcher, int]] = (),
        send_limits: SendLimits | None = None,
    ) -> None:
        if settings.bot_token is None:
            raise ValueError("BOT_TOKEN is required")
        self.settings = settings
        self.metrics = Metrics()
        self.i18n = build_i18n(settings.bot_language)
        # exclusive: on SQLite, a second bot on the same file refuses to start.
        self.db = Database(settings.database, exclusive=True)
        self.repos = Repos.on(self.db)
        # PostgreSQL: what every update reads is remembered while other replicas' changes are
        # heard (storage/changes.py); SQLite: this process is the only writer anyway.
        self.change_listener = (
            None
            if self.db.sole_writer
            else ChangeListener(self.db.changes, self.db.dedicated_connection)
        )
        # Every setting's effective value (bot/settings): stored, else environment, else default.
        self.settings_values = build_settings_values(settings, self.repos, self.i18n)
        self.leadership = leadership_for(self.db, settings.leader_takeover_seconds)
        self.health = HealthState(
            integrations={
                name: IntegrationHealth(name, name in REGISTRY and enabled)
                for name, enabled in settings.enabled_integrations().items()
            },
            startup=StartupProgress(grace_seconds=settings.startup_grace_seconds),
            updates="webhook" if settings.webhook_url else "polling",
            role=lambda: self.leadership.role,
        )
        self.requests = TelegramRequestMiddleware(self.metrics, self.health.polling)
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        session.middleware(self.requests)
        self.tail = ChatTail()  # the newest message and open wizard questions per chat
        session.middleware(self.tail)
        self.bot = Bot(
            token=settings.bot_token.get_secret_value(),
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        self._menus: asyncio.Task[None] | None = None
        self._telegram_wait: asyncio.Task[object] | None = None
        self._refresh: asyncio.Task[None] | None = None  # settings changed by another process
        self._settings_dirty = False
        self._start_cancelled = False
        self._stop = asyncio.Event()
        self.leading = asyncio.Event()  # set once this process leads (background work started)
        self._polling: asyncio.Task[None] | None = None
        self._polling_error: Exception | None = None
        self.health_server = HealthServer(self.db, self.health, self.metrics)
        self.pipeline = AlertPipeline(
            self.repos, settings.timezone, on_new_rows=self._on_new_alerts
        )
        self.sender = AlertSender(
            self.bot,
            self.repos,
            self.pipeline,
            self.i18n,
            self.metrics,
            default_tz=settings.timezone,
            limits=self._send_limits(send_limits or SendLimits()),
            tail=self.tail,
            routine_window=timedelta(minutes=settings.alert_routine_minutes),
        )
        self.ownership = Ownership(self.bot, self.repos, self.pipeline)
        # The daily digests (bot/digests): each chat at its hour, once a day across restarts.
        self.digests = DigestJob(
            self.bot, self.repos, self.settings_values, self.i18n, settings.timezone
        )
        self._digest_loop = Periodic("digests", self.digests.run_once, DIGEST_EVERY_SECONDS)
        self.settings_values.on_change(DIGEST_HOUR, self.digests.hour_changed)
        self.scheduler = AlertScheduler(
            self.repos,
            Retention(audit_days=settings.audit_days, history_days=settings.history_days),
        )
        self.escalation = Escalation(
            self.bot,
            self.repos,
            self.i18n,
            self.metrics,
            self.ownership,
            settings.timezone,
            EscalationPrefs(self.settings_values),
        )
        self.scheduler.chores.append(
            ("escalation", self.escalation.tick, settings.escalation_tick_seconds)
        )
        context = ServiceContext(
            settings,
            self.bot,
            self.repos,
            self.i18n,
            self.metrics,
            self.pipeline,
            self.settings_values,
        )
        # One runtime per configured service (bot/services.py); the rest answer "not configured".
        self.services: dict[str, ServiceRuntime] = {
            name: spec.build(context)
            for name, spec in REGISTRY.items()
            if spec.configured(settings)
        }
        service_watchers = [w for runtime in self.services.values() for w in runtime.watchers()]
        for watcher, every_seconds in [*service_watchers, *extra_watchers]:
            self.add_watcher(watcher, every_seconds)
        self._follow_settings(send_limits or SendLimits())
        self.tracker = UpdateTracker(self.metrics)
        self.dp = self._build_dispatcher(extra_routers)
        if settings.webhook_url:
            serve_webhook(self.health_server.app, self.dp, self.bot, settings)

    def _follow_settings(self, limits: SendLimits) -> None:
        """What the bot itself reads from the settings registry, changed live: each watcher's
        poll period (a service's "<name>.poll_seconds"), the alert windows, the audit's days."""
        values = self.settings_values
        for name in self.scheduler.runners:
            poll = find_setting(f"{name}.poll_seconds")
            if poll is not None:
                values.on_change(poll, self._rescheduler(name))

        async def routine(minutes: int, _chat: ChatKey | None) -> None:
            # The next routine line obeys it (the sender's hold and its cards' window).
            self.sender.routine_window = self.sender.cards.window = timedelta(minutes=minutes)

        async def storm(on: bool, _chat: ChatKey | None) -> None:
            self.sender.storm.enabled = limits.storm and on

        async def audit_days(days: int, _chat: ChatKey | None) -> None:
            self.scheduler.retention = replace(self.scheduler.retention, audit_days=days)

        async def history_days(days: float, _chat: ChatKey | None) -> None:
            self.scheduler.retention = replace(self.scheduler.retention, history_days=int(days))

        values.on_change(general.ALERT_ROUTINE_MINUTES, routine)
        values.on_change(general.ALERT_STORM_MODE, storm)
        values.on_change(general.AUDIT_DAYS, audit_days)
        values.on_change(HISTORY_DAYS, history_days)
        if not self.db.sole_writer:
            # Another process on the same PostgreSQL may change a setting: the leader looks
            # when the database says one changed, and every half minute in case it could not
            # hear (a change made here applies at once).
            self.scheduler.chores.append(("settings-refresh", values.refresh, 30))
            self.db.changes.on_remote_change("setting_values", self._settings_changed)

    def _settings_changed(self) -> None:
        if not self.leading.is_set():
            return  # a standby applies everything when it becomes the leader
        self._settings_dirty = True
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._refresh_settings(), name="settings-refresh")

    async def _refresh_settings(self) -> None:
        # Again while notices came during a refresh: it may have read the value before them.
        while self._settings_dirty:
            self._settings_dirty = False
            try:
                await self.settings_values.refresh()
            except Exception:
                log.exception("settings: refreshing after another process's change failed")

    def _rescheduler(self, name: str) -> ChangeHook:
        async def reschedule(seconds: int, _chat: ChatKey | None) -> None:
            self.scheduler.reschedule(name, seconds)

        return reschedule

    def _send_limits(self, limits: SendLimits) -> SendLimits:
        """``ALERT_STORM_MODE=off`` turns storm mode off whatever the limits say."""
        return replace(limits, storm=limits.storm and self.settings.alert_storm_mode)

    def _build_dispatcher(self, extra_routers: Sequence[Router]) -> Dispatcher:
        # One update at a time per (chat, user): two fast taps or messages never interleave in a
        # wizard or toggle twice (updates of different people still run concurrently).
        # Wizard state outside the process (bot/fsm_storage.py): every replica sees the same step.
        dp = Dispatcher(
            storage=build_fsm_storage(
                self.repos.fsm,
                self.settings.redis_url.get_secret_value() if self.settings.redis_url else None,
            ),
            events_isolation=SimpleEventIsolation(),
        )
        dp.update.outer_middleware(self.tracker)
        dp.message.outer_middleware(self.tail.incoming)
        self.tail.step_open = self._step_open
        LocaleMiddleware(self.i18n, partial(chat_language, self.repos)).setup(dp)
        access = AccessMiddleware(self.repos, self.i18n)
        dp.message.middleware(access)
        dp.callback_query.middleware(access)
        zones = ChatZoneMiddleware(self.repos, self.settings.timezone)
        dp.message.middleware(zones)
        dp.callback_query.middleware(zones)
        dp.include_routers(*extra_routers, build_root_router())
        dp.workflow_data.update(self.dependencies())
        return dp

    async def _step_open(self, chat_id: int, user_id: int, thread_id: int) -> bool:
        """Whether this person has a wizard step open in this chat (topic): an FSM state."""
        context = self.dp.fsm.resolve_context(self.bot, chat_id, user_id, thread_id or None)
        return context is not None and await context.get_state() is not None

    def add_watcher(self, watcher: Watcher, every_seconds: int) -> WatchRunner:
        health = self.health.integrations.setdefault(
            watcher.name, IntegrationHealth(watcher.name, enabled=True)
        )
        runner = WatchRunner(watcher, self.pipeline, self.repos, health, self.metrics)
        self.scheduler.add(runner, every_seconds)
        return runner

    def _on_new_alerts(self) -> None:
        """The pipeline committed outbox rows: the sender should look now, not at its next tick."""
        self.sender.wake()

    def dependencies(self) -> dict[str, Any]:
        """What handlers may ask for by name (typed keyword arguments)."""
        return {
            "settings": self.settings,
            "settings_values": self.settings_values,
            "i18n": self.i18n,
            "repos": self.repos,
            "metrics": self.metrics,
            "health": self.health,
            "admin_ids": list(self.settings.admin_ids),
            "timezone": self.settings.timezone,
            "pipeline": self.pipeline,
            "ownership": self.ownership,
            "scheduler": self.scheduler,
            "escalation": self.escalation,
            "services": self.services,
            # Every service's names, None while it is not configured.
            **{name: None for spec in REGISTRY.values() for name in spec.dependency_names},
            **{
                k: v
                for runtime in self.services.values()
                for k, v in runtime.dependencies().items()
            },
        }

    async def start(self) -> None:
        """Open the database, serve /healthz, wait for Telegram (as long as it takes: see
        bot/startup.py); in webhook mode, tell Telegram where to post (updates are served from
        here on). The background work waits for leadership: :meth:`run`."""
        await open_database(self.db)
        if self.change_listener is not None:
            self.change_listener.start()
        await self.repos.subscriptions.key_filters()  # rows from before migration 13
        await self.repos.users.ensure_admins(self.settings.admin_ids)
        await self.settings_values.apply_all()  # values set from the chat before a restart
        if self.settings.http_port:
            await self.health_server.start(self.settings.http_port)
        self._telegram_wait = asyncio.create_task(wait_for_telegram(self.bot, self.health.startup))
        if self._start_cancelled:
            self._telegram_wait.cancel()
        await self._telegram_wait  # CancelledError after cancel_start()
        if self.settings.webhook_url:
            await set_webhook(self.bot, self.settings, self.dp.resolve_used_update_types())
            self.health.webhook_set = True

    def cancel_start(self) -> None:
        """Stop waiting for Telegram (SIGTERM during start-up). Only the wait is cancelled: the
        local steps before it (opening and migrating the database) are left to finish, since a
        connect cancelled half-way leaves aiosqlite's thread behind."""
        self._start_cancelled = True
        if self._telegram_wait is not None:
            self._telegram_wait.cancel()

    async def run(self) -> None:
        """Stand by until this process leads, then lead until :meth:`request_stop`; close.

        Raises :class:`LeadershipLost` when the lock was lost (the background work is stopped
        by then, before a standby could start its own)."""
        lost = False
        try:
            if await self._unless_stopped(self.leadership.acquire()):
                lost = await self._lead()
        finally:
            await self.close()
        if lost:
            raise LeadershipLost("this process lost the leader's lock")
        if self._polling_error is not None:
            raise self._polling_error

    async def _lead(self) -> bool:
        """Run the background work (and, in polling mode, poll) until stopped or the lock is
        lost; returns whether it was lost."""
        self.metrics.leader.set(1)
        await self._start_background()
        if not self.settings.webhook_url:
            await leave_webhook_mode(self.bot)
            self._polling = asyncio.create_task(self._poll(), name="polling")
        self.leading.set()
        ended: list[asyncio.Task[Any]] = [
            asyncio.create_task(self._stop.wait()),
            asyncio.create_task(self.leadership.lost.wait()),
        ]
        if self._polling is not None:
            ended.append(self._polling)
        await asyncio.wait(ended, return_when=asyncio.FIRST_COMPLETED)
        for waiter in ended[:2]:
            waiter.cancel()
        lost = self.leadership.lost.is_set() and not self._stop.is_set()
        if lost:
            self.leading.clear()
            self.metrics.leader.set(0)
            await self._stop_background(grace=0)
        return lost

    async def _unless_stopped(self, work: Any) -> bool:
        """Await ``work`` unless :meth:`request_stop` comes first (then cancel it): whether it
        finished."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.create_task(self._stop.wait())
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return False
        task.result()
        return True

    async def _poll(self) -> None:
        await self.dp.start_polling(
            self.bot,
            handle_signals=False,
            allowed_updates=self.dp.resolve_used_update_types(),
            close_bot_session=False,
        )

    async def _start_background(self) -> None:
        self._menus = asyncio.create_task(self._publish_menus(), name="publish-menus")
        # A standby that becomes the leader: what was changed meanwhile (by the old leader).
        await self.settings_values.refresh()
        await self.scheduler.start()
        for runtime in self.services.values():
            await runtime.start()
        await self.sender.start()
        self._digest_loop.start()  # its first round sends what a restart made late
        freeze_startup_heap()

    async def _publish_menus(self) -> None:
        try:
            await publish_all_menus(self.bot, self.i18n, self.repos)
        except TelegramAPIError as exc:
            # Menus are a convenience; the bot still works without them.
            log.warning("could not publish command menus: %s", exc)
        except Exception:
            log.exception("could not publish command menus")

    async def close(self) -> None:
        """Release everything `start()` opened: updates stop coming in, the handlers in flight
        finish, then the background work stops. Safe to call twice, and after a start that
        never reached :meth:`run` (a signal during start-up)."""
        await self._stop_updates()
        await self._stop_background()
        refresh, self._refresh = self._refresh, None
        if refresh is not None:
            refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresh
        await self.leadership.release()
        self.metrics.leader.set(0)
        await self.bot.session.close()
        await self.health_server.stop()
        await self.dp.storage.close()
        if self.change_listener is not None:
            await self.change_listener.stop()
        await self.db.close()
        log.info("logibot stopped")

    async def request_stop(self) -> None:
        self._stop.set()

    async def _stop_updates(self) -> None:
        polling, self._polling = self._polling, None
        if polling is not None:
            if not polling.done():
                with contextlib.suppress(RuntimeError):  # polling had not started yet
                    await self.dp.stop_polling()
            try:
                await polling
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # polling gave up by itself: run() says so after closing
                log.exception("polling stopped with an error")
                self._polling_error = exc
        if self.settings.webhook_url:
            await self.health_server.stop()  # the webhook is served there: in-flight ones end
        # (The last getUpdates already carried offset=last+1, so Telegram will not deliver the
        # updates being handled again.)
        if not await self.tracker.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.warning("%s handlers still running at shutdown", self.tracker.in_flight)

    async def _stop_background(self, *, grace: float | None = None) -> None:
        """Stop the leader's work; ``grace=0`` (a lost lock): sends in flight are cut off too."""
        menus, self._menus = self._menus, None
        if menus is not None:
            menus.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await menus
        await self.scheduler.stop()
        await self._digest_loop.stop()
        await self.sender.stop(grace=grace)
        services, self.services = self.services, {}  # stopped once, even if close() runs twice
        for runtime in services.values():
            await runtime.stop()
