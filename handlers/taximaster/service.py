"""Taxi-Master as a service of the bot: its client, its watcher, its check and its demo."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.services import ServiceContext, ServiceSpec, register
from handlers.taximaster import settings as taximaster_settings
from handlers.taximaster.reconcile import reconcile_creates
from handlers.taximaster.router import make_router
from integrations.base import Snapshot, Watcher
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.watcher import SOURCE, TaxiMasterWatcher
from storage.db import utcnow

log = logging.getLogger(__name__)


def configured(settings: Settings) -> bool:
    return settings.taximaster_enabled


def client_for(settings: Settings, **options: Any) -> TaxiMasterClient:
    assert settings.taximaster_base_url and settings.taximaster_secret
    return TaxiMasterClient(
        settings.taximaster_base_url,
        settings.taximaster_secret.get_secret_value(),
        verify_tls=settings.taximaster_verify_tls,
        ca_file=settings.taximaster_ca_file,
        legacy_tls=settings.taximaster_legacy_tls,
        user_id=settings.taximaster_user_id,
        tz=ZoneInfo(settings.taximaster_timezone),
        requests_per_second=settings.taximaster_rps,
        **options,
    )


class TaxiMasterRuntime:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.repos = ctx.repos
        self.client = client_for(ctx.settings)
        self.watcher = TaxiMasterWatcher(
            self.client,
            self._snapshots,
            poll_seconds=ctx.settings.taximaster_poll_seconds,
            max_calls=ctx.settings.taximaster_max_calls_per_cycle,
            clock=utcnow,  # the demo's one clock in `make demo`
            no_crew_after=timedelta(minutes=ctx.settings.taximaster_no_crew_minutes),
        )
        self.poll_seconds = ctx.settings.taximaster_poll_seconds
        ctx.settings_values.on_change(taximaster_settings.POLL_SECONDS, self._poll_changed)
        ctx.settings_values.on_change(taximaster_settings.NO_CREW_MINUTES, self._no_crew_changed)
        self._reconcile: asyncio.Task[None] | None = None

    async def _snapshots(self, ids: Collection[str] | None = None) -> dict[str, Snapshot]:
        """The orders being watched: those the bot created or a chat asked about."""
        return await self.repos.snapshots.get(SOURCE, ids)

    async def _no_crew_changed(self, minutes: int, _chat: object) -> None:
        self.watcher.no_crew_after = timedelta(minutes=minutes)

    async def _poll_changed(self, seconds: int, _chat: object) -> None:
        # The orders' own intervals are counted in polls (integrations/taximaster/schedule.py).
        self.poll_seconds = seconds
        self.watcher.schedule.poll = timedelta(seconds=seconds)

    def dependencies(self) -> dict[str, Any]:
        return {"taximaster": self.client}

    def watchers(self) -> list[tuple[Watcher, int]]:
        return [(self.watcher, self.poll_seconds)]

    async def start(self) -> None:
        """Creates left in flight or unknown by the last run are reconciled in the background
        (it asks TMWeb, which may be slow; the bot does not wait for it to start)."""
        self._reconcile = asyncio.create_task(self._reconcile_creates(), name="taxi-reconcile")

    async def _reconcile_creates(self) -> None:
        ctx = self.ctx
        try:
            await reconcile_creates(
                ctx.bot, ctx.repos, self.client, ctx.i18n, ctx.settings.timezone
            )
        except Exception:  # logged; the rows stay for the next start or a button
            log.exception("taxi: reconciling unsettled creates failed")

    async def stop(self) -> None:
        if self._reconcile is not None and not self._reconcile.done():
            self._reconcile.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconcile
        await self.client.aclose()

    def unlock(self) -> bool:
        locked = self.client.auth_locked
        self.client.reset_auth_lock()
        return locked

    def locked(self) -> bool:
        return self.client.auth_locked


async def check(settings: Settings) -> str:
    """``ping`` proves the address only (TMWeb checks no signature for it); the tariff list
    proves the secret too."""
    async with client_for(settings, retries=0) as client:
        await client.ping()
        tariffs = await client.get_tariffs_list()
    return f"signature accepted, {len(tariffs)} tariffs"


SPEC = register(
    ServiceSpec(
        name="taximaster",
        title="Taxi-Master",
        make_router=make_router,
        configured=configured,
        build=TaxiMasterRuntime,
        check=check,
        dependency_names=("taximaster",),
        area="taxi",
    )
)
