"""Mobiforce as a service of the bot: its client, watcher, directories, check and demo."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from bot.config import Settings
from bot.services import ServiceContext, ServiceSpec, register
from handlers.mobiforce import settings as mobiforce_settings
from handlers.mobiforce.directory import MobiforceDirectory
from handlers.mobiforce.facts import TaskFactsBook
from handlers.mobiforce.router import make_router
from handlers.mobiforce.settings import feed_rule
from integrations.base import Snapshot, SnapshotReader, Watcher, WatchResult
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.watcher import MobiforceWatcher
from storage import Repos
from storage.db import utcnow

SOURCE = "mobiforce"


def configured(settings: Settings) -> bool:
    return settings.mobiforce_enabled


def client_for(settings: Settings, **options: Any) -> MobiforceClient:
    assert settings.mobiforce_base_url and settings.mobiforce_api_key
    return MobiforceClient(
        settings.mobiforce_base_url, settings.mobiforce_api_key.get_secret_value(), **options
    )


class DirectoryFeedingWatcher:
    """The Mobiforce watcher, plus: every task it read goes into the task directory (the change
    feed keeps task numbers in step between full syncs)."""

    name = SOURCE

    def __init__(self, watcher: MobiforceWatcher, directory: MobiforceDirectory) -> None:
        self.watcher = watcher
        self.directory = directory

    @property
    def calls_last_cycle(self) -> int:
        return self.watcher.calls_last_cycle

    async def poll(self, cursor: str | None) -> WatchResult:
        result = await self.watcher.poll(cursor)
        await self.directory.remember_snapshots(result.snapshots)
        return result


def snapshot_reader(repos: Repos) -> SnapshotReader:
    async def read(ids: Collection[str] | None = None) -> dict[str, Snapshot]:
        return await repos.snapshots.get(SOURCE, ids)

    return read


class MobiforceRuntime:
    def __init__(self, ctx: ServiceContext) -> None:
        settings = ctx.settings
        self.client = client_for(settings)
        self.directory = MobiforceDirectory(
            self.client, ctx.repos.mobiforce, sync_minutes=settings.mobiforce_sync_minutes
        )
        inner = MobiforceWatcher(
            self.client,
            snapshot_reader(ctx.repos),
            max_tasks_per_cycle=settings.mobiforce_max_tasks_per_cycle,
            facts=TaskFactsBook(ctx.repos),
            overdue_after=timedelta(minutes=settings.mobiforce_overdue_minutes),
            clock=utcnow,
        )
        self.watcher = DirectoryFeedingWatcher(inner, self.directory)
        self.poll_seconds = settings.mobiforce_poll_seconds
        values = ctx.settings_values
        values.add_rule(
            mobiforce_settings.POLL_SECONDS,
            feed_rule(settings.mobiforce_max_tasks_per_cycle, self.client.per_minute),
        )
        values.on_change(mobiforce_settings.SYNC_MINUTES, self._sync_changed)
        values.on_change(mobiforce_settings.OVERDUE_MINUTES, self._overdue_changed)
        self._inner = inner

    async def _sync_changed(self, minutes: int, _chat: object) -> None:
        self.directory.sync_seconds = minutes * 60  # from the next sync on

    async def _overdue_changed(self, minutes: int, _chat: object) -> None:
        self._inner.overdue_after = timedelta(minutes=minutes)

    def dependencies(self) -> dict[str, Any]:
        return {"mobiforce": self.client, "mobiforce_directory": self.directory}

    def watchers(self) -> list[tuple[Watcher, int]]:
        return [(self.watcher, self.poll_seconds)]

    async def start(self) -> None:
        self.directory.start()

    async def stop(self) -> None:
        await self.directory.stop()
        await self.client.aclose()

    def unlock(self) -> bool:
        locked = self.client.auth_locked
        self.client.reset_auth_lock()
        return locked

    def locked(self) -> bool:
        return self.client.auth_locked


async def check(settings: Settings) -> str:
    """One page of templates: the cheapest read that proves the address and the key."""
    async with client_for(settings, retries=0) as client:
        templates = await client.get_template_list(0)
    return f"{len(templates)} templates on the first page"


SPEC = register(
    ServiceSpec(
        name=SOURCE,
        title="Mobiforce",
        make_router=make_router,
        configured=configured,
        build=MobiforceRuntime,
        check=check,
        dependency_names=("mobiforce", "mobiforce_directory"),
        area="tasks",
    )
)
