"""Wiring: settings -> database, bot, dispatcher, routers, middlewares, health server.

:class:`LogiBot` is used the same way by `logibot run`, the demo and the tests:
``await app.start()`` then ``await app.run_polling()``; ``await app.request_stop()`` from outside,
or SIGTERM/SIGINT when ``handle_signals`` is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
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
from bot.escalation.prefs import EscalationPrefs
from bot.escalation.service import Escalation
from bot.health import HealthServer, HealthState, IntegrationHealth, StartupProgress
from bot.i18n import LocaleMiddleware, build_i18n
from bot.menus import publish_all_menus
from bot.metrics import Metrics
from bot.ownership import Ownership
from bot.services import REGISTRY, ServiceContext, ServiceRuntime
from bot.settings.wiring import build_settings_values
from bot.startup import wait_for_telegram
from bot.telegram_requests import TelegramRequestMiddleware
from bot.updates import UpdateTracker
from bot.zones import ChatZoneMiddleware
from handlers import build_root_router
from integrations.base import Watcher
from storage import Repos
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
        # Every setting's effective value (bot/settings): stored, else environment, else default.
        self.settings_values = build_settings_values(settings, self.repos, self.i18n)
        self.health = HealthState(
            integrations={
                name: IntegrationHealth(name, name in REGISTRY and enabled)
                for name, enabled in settings.enabled_integrations().items()
            },
            startup=StartupProgress(grace_seconds=settings.startup_grace_seconds),
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
        self._start_cancelled = False
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
        self.scheduler = AlertScheduler(self.repos, Retention(audit_days=settings.audit_days))
        self.escalation = Escalation(
            self.bot,
            self.repos,
            self.i18n,
            self.metrics,
            self.ownership,
            settings.timezone,
            EscalationPrefs(self.settings_values),
        )
        self.scheduler.add_job("escalation", self.escalation.tick, settings.escalation_tick_seconds)
        context = ServiceContext(
            settings, self.bot, self.repos, self.i18n, self.metrics, self.pipeline
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
        self.tracker = UpdateTracker(self.metrics)
        self.dp = self._build_dispatcher(extra_routers)

    def _send_limits(self, limits: SendLimits) -> SendLimits:
        """``ALERT_STORM_MODE=off`` turns storm mode off whatever the limits say."""
        return replace(limits, storm=limits.storm and self.settings.alert_storm_mode)

    def _build_dispatcher(self, extra_routers: Sequence[Router]) -> Dispatcher:
        # One update at a time per (chat, user): two fast taps or messages never interleave in a
        # wizard or toggle twice (updates of different people still run concurrently).
        dp = Dispatcher(events_isolation=SimpleEventIsolation())
        dp.update.outer_middleware(self.tracker)
        dp.message.outer_middleware(self.tail.incoming)
        self.tail.step_open = self._step_open
        LocaleMiddleware(self.i18n).setup(dp)
        access = AccessMiddleware(self.repos, self.i18n)
        dp.message.middleware(access)
        dp.callback_query.middleware(access)
        zones = ChatZoneMiddleware(self.repos, self.settings.timezone)
        dp.message.middleware(zones)
        dp.callback_query.middleware(zones)
        dp.include_routers(*extra_routers, build_root_router())
        dp.workflow_data.update(self.dependencies())
        dp.shutdown.register(self._on_shutdown)
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
        bot/startup.py), then start the background work. Menus are published beside polling,
        not before it: with many users that is many calls."""
        await open_database(self.db)
        await self.repos.subscriptions.key_filters()  # rows from before migration 13
        await self.repos.users.ensure_admins(self.settings.admin_ids)
        if self.settings.http_port:
            await self.health_server.start(self.settings.http_port)
        self._telegram_wait = asyncio.create_task(wait_for_telegram(self.bot, self.health.startup))
        if self._start_cancelled:
            self._telegram_wait.cancel()
        await self._telegram_wait  # CancelledError after cancel_start()
        self._menus = asyncio.create_task(self._publish_menus(), name="publish-menus")
        await self.scheduler.start()
        for runtime in self.services.values():
            await runtime.start()
        await self.sender.start()
        freeze_startup_heap()

    def cancel_start(self) -> None:
        """Stop waiting for Telegram (SIGTERM during start-up). Only the wait is cancelled: the
        local steps before it (opening and migrating the database) are left to finish, since a
        connect cancelled half-way leaves aiosqlite's thread behind."""
        self._start_cancelled = True
        if self._telegram_wait is not None:
            self._telegram_wait.cancel()

    async def _publish_menus(self) -> None:
        try:
            await publish_all_menus(self.bot, self.i18n, self.repos)
        except TelegramAPIError as exc:
            # Menus are a convenience; the bot still works without them.
            log.warning("could not publish command menus: %s", exc)
        except Exception:
            log.exception("could not publish command menus")

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        """Poll until stopped; then the shutdown hook finishes work and everything closes."""
        try:
            await self.dp.start_polling(
                self.bot,
                handle_signals=handle_signals,
                allowed_updates=self.dp.resolve_used_update_types(),
                close_bot_session=True,
            )
        finally:
            await self.close()

    async def close(self) -> None:
        """Release everything `start()` opened. Safe to call twice, and after a start that
        never reached polling (a signal during start-up)."""
        await self._stop_background_work()
        await self.bot.session.close()
        await self.health_server.stop()
        await self.db.close()
        log.info("logibot stopped")

    async def request_stop(self) -> None:
        await self.dp.stop_polling()

    async def _on_shutdown(self) -> None:
        # Polling has stopped; updates already received finish their handlers before the
        # session closes. (The last getUpdates already carried offset=last+1, so Telegram will
        # not deliver the handled updates again.)
        await self.scheduler.stop()
        if not await self.tracker.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.warning("%s handlers still running at shutdown", self.tracker.in_flight)
        await self._stop_background_work()

    async def _stop_background_work(self) -> None:
        menus, self._menus = self._menus, None
        if menus is not None:
            menus.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await menus
        await self.scheduler.stop()
        await self.sender.stop()
        services, self.services = self.services, {}  # stopped once, even if close() runs twice
        for runtime in services.values():
            await runtime.stop()
