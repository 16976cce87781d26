"""Movizor as a service of the bot: its client, its watcher, live locations, its check."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.services import ServiceContext, ServiceSpec, register
from handlers.movizor import settings as movizor_settings
from handlers.movizor.account import movizor_balance
from handlers.movizor.directory_sync import DirectorySync
from handlers.movizor.live_locations import LiveLocations
from handlers.movizor.router import make_router
from handlers.movizor.settings import budget_rule
from integrations.base import Watcher
from integrations.movizor.client import MovizorClient
from integrations.movizor.watcher import DriverInfo, MovizorWatcher
from storage.db import utcnow


def configured(settings: Settings) -> bool:
    return bool(settings.movizor_project and settings.movizor_key)


def client_for(settings: Settings, **options: Any) -> MovizorClient:
    assert settings.movizor_project and settings.movizor_key
    return MovizorClient(
        settings.movizor_base_url,
        settings.movizor_project,
        settings.movizor_key.get_secret_value(),
        **options,
    )


class MovizorRuntime:
    def __init__(self, ctx: ServiceContext) -> None:
        settings = ctx.settings
        self.repos = ctx.repos
        self.client = client_for(settings, hourly_limit=settings.movizor_hourly_limit)
        self.live_locations = LiveLocations(
            ctx.bot,
            self.client,
            ctx.i18n,
            poll_seconds=settings.movizor_poll_seconds,
            store=ctx.repos.live_follows,
        )
        self.watcher = MovizorWatcher(self.client, self._directory, self._remember, clock=utcnow)
        self.directory_sync = DirectorySync(
            self.client, self.repos, every_hours=settings.movizor_directory_sync_hours
        )
        self.poll_seconds = settings.movizor_poll_seconds
        self._started = False
        values = ctx.settings_values
        values.add_rule(movizor_settings.POLL_SECONDS, budget_rule(self.client.hourly_limit))
        values.on_change(movizor_settings.POLL_SECONDS, self._poll_changed)
        values.on_change(movizor_settings.DIRECTORY_SYNC_HOURS, self._sync_changed)

    async def _poll_changed(self, seconds: int, _chat: object) -> None:
        self.poll_seconds = seconds
        self.live_locations.poll_seconds = seconds  # the /follow live locations move with it

    async def _sync_changed(self, hours: float, _chat: object) -> None:
        """From the next sync on (one under way, or its wait, finishes first); 0 stops it."""
        self.directory_sync.every_seconds = hours * 3600
        if self._started and hours:
            self.directory_sync.start()
        elif not hours:
            await self.directory_sync.stop()

    async def _directory(self, phones: set[str]) -> dict[str, DriverInfo]:
        drivers = await self.repos.drivers.many(phones)
        return {phone: DriverInfo(d.title, d.tags) for phone, d in drivers.items()}

    async def _remember(self, phone: str, info: DriverInfo) -> None:
        await self.repos.drivers.upsert(phone, info.title, info.tags)

    def dependencies(self) -> dict[str, Any]:
        return {"movizor": self.client, "live_locations": self.live_locations}

    def watchers(self) -> list[tuple[Watcher, int]]:
        return [(self.watcher, self.poll_seconds)]

    async def start(self) -> None:
        await self.live_locations.resume()  # the /follow live locations from before a restart
        await self.live_locations.start()
        self.directory_sync.start()
        self._started = True

    async def stop(self) -> None:
        await self.directory_sync.stop()
        await self.live_locations.stop()
        await self.client.aclose()

    def unlock(self) -> bool:
        locked = self.client.auth_locked
        self.client.reset_auth_lock()
        return locked

    def locked(self) -> bool:
        return self.client.auth_locked


async def check(settings: Settings) -> str:
    """`balance` is the cheapest call that proves both the address and the key."""
    async with client_for(settings, retries=0) as client:
        balance = await client.balance()
    return f"balance {balance.balance:.2f} ₽"


SPEC = register(
    ServiceSpec(
        name="movizor",
        title="Movizor",
        make_router=make_router,
        configured=configured,
        build=MovizorRuntime,
        check=check,
        dependency_names=("movizor", "live_locations"),
        area="drivers",
        balance=movizor_balance,
    )
)
