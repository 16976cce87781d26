"""Alta as a service of the bot: its client, its watcher, /balance, `logibot check`, the demo."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.money import money
from bot.services import ServiceContext, ServiceSpec, register
from handlers.alta import settings as alta_settings
from handlers.alta.adds import AltaAdds
from handlers.alta.lookup import SOURCE, AltaLookup
from handlers.alta.resolver import AddResolver
from handlers.alta.router import make_router
from integrations.alta.client import AltaClient
from integrations.alta.watcher import AltaWatcher
from integrations.base import Watcher
from storage.db import utcnow


def configured(settings: Settings) -> bool:
    return settings.alta_enabled


def client_for(settings: Settings, **options: Any) -> AltaClient:
    assert settings.alta_login and settings.alta_sa and settings.alta_password
    return AltaClient(
        settings.alta_base_url,
        settings.alta_login,
        settings.alta_sa,
        settings.alta_password.get_secret_value(),
        **options,
    )


class AltaRuntime:
    def __init__(self, ctx: ServiceContext) -> None:
        settings = ctx.settings
        repos = ctx.repos
        self.client = client_for(settings)
        self.lookup = AltaLookup(self.client, repos)
        self.adds = AltaAdds(self.client, self.lookup, repos)
        # Unresolved adds are looked for at the watcher's pace (one track_list each).
        self.resolver = AddResolver(
            self.adds, ctx.bot, ctx.i18n, every_seconds=settings.alta_poll_seconds
        )
        self.watcher = AltaWatcher(
            self.client,
            lambda ids=None: repos.snapshots.get(SOURCE, ids),
            no_data_after=timedelta(hours=settings.alta_no_data_hours),
            stuck_after=timedelta(hours=settings.alta_stuck_hours),
            clock=utcnow,
        )
        self.poll_seconds = settings.alta_poll_seconds
        ctx.settings_values.on_change(alta_settings.POLL_SECONDS, self._poll_changed)
        ctx.settings_values.on_change(alta_settings.NO_DATA_HOURS, self._no_data_changed)
        ctx.settings_values.on_change(alta_settings.STUCK_HOURS, self._stuck_changed)

    async def _poll_changed(self, seconds: int, _chat: object) -> None:
        self.poll_seconds = seconds
        self.resolver.periodic.every_seconds = seconds  # at the watcher's pace, as at start

    async def _no_data_changed(self, hours: int, _chat: object) -> None:
        self.watcher.no_data_after = timedelta(hours=hours)

    async def _stuck_changed(self, hours: int, _chat: object) -> None:
        self.watcher.stuck_after = timedelta(hours=hours)

    def dependencies(self) -> dict[str, Any]:
        return {"alta": self.client, "alta_lookup": self.lookup, "alta_adds": self.adds}

    def watchers(self) -> list[tuple[Watcher, int]]:
        return [(self.watcher, self.poll_seconds)]

    async def start(self) -> None:
        self.resolver.periodic.start()

    async def stop(self) -> None:
        await self.resolver.periodic.stop()
        await self.client.aclose()

    def unlock(self) -> bool:
        locked = self.client.auth_locked
        self.client.reset_auth_lock()
        return locked

    def locked(self) -> bool:
        return self.client.auth_locked


async def alta_balance(data: dict[str, Any]) -> list[str]:
    """Alta's part of /balance (ServiceSpec.balance)."""
    client: AltaClient = data["alta"]
    balance = await client.balance()
    lines = [_("alta.balance.title").format(balance=money(balance.rubles))]
    if balance.bonus:
        lines.append(_("alta.balance.bonus").format(bonus=money(balance.bonus)))
    if balance.sa:
        lines.append(_("alta.balance.sa").format(sa=html.quote(balance.sa)))
    return lines


async def check(settings: Settings) -> str:
    """test_secret proves the address and the credentials; balance says what is left."""
    async with client_for(settings, retries=0) as client:
        await client.test_secret()
        balance = await client.balance()
    return f"credentials accepted, balance {money(balance.rubles, 'en')}"


SPEC = register(
    ServiceSpec(
        name="alta",
        title="Alta",
        make_router=make_router,
        configured=configured,
        build=AltaRuntime,
        check=check,
        dependency_names=("alta", "alta_lookup", "alta_adds"),
        area="wagons",
        balance=alta_balance,
    )
)
