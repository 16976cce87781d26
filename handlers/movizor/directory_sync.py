"""Keep the drivers directory in step with the Movizor account, in the background.

Events carry only a phone; an alert names the driver by the title the directory holds. Drivers
added in Movizor's own cabinet are unknown to the bot until this sync learns them. The document
lists no titles in bulk (``object_list`` gives phones and statuses, ``pos_objects`` positions),
so a sync is one ``object_list`` and one ``object_get`` per phone: unknown phones first, then the
known ones (a title renamed in the cabinet is picked up).

The calls are spread within the hourly request budget: the sync has its own leaky bucket of
``share`` of the client's hourly limit (a small account is learnt at once, a big one at that
pace), and it waits while the client's budget has less than ``reserve`` of it left, so it never
takes what the watcher and the commands need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiolimiter import AsyncLimiter

from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import MovizorError, MovizorObjectNotFound
from storage import Repos

log = logging.getLogger(__name__)

T = TypeVar("T")

SYNC_SHARE = 0.1  # of the hourly limit, at most, for the sync's own calls
RESERVE_SHARE = 0.5  # of the hourly limit left untouched for the watcher and commands
WAIT_FOR_ROOM_SECONDS = 30.0


class DirectorySync:
    def __init__(self, client: MovizorClient, repos: Repos, *, every_hours: float) -> None:
        self.client = client
        self.repos = repos
        self.every_seconds = every_hours * 3600
        hourly = client.hourly_limit
        self._bucket = AsyncLimiter(max(1, int(hourly * SYNC_SHARE)), 3600)
        self._reserve = hourly * RESERVE_SHARE
        self._task: asyncio.Task[None] | None = None
        self.calls_last_sync = 0
        self.syncs = 0

    def start(self) -> None:
        if self._task is None and self.every_seconds > 0:
            self._task = asyncio.create_task(self._loop(), name="movizor-directory-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.sync_once()
            except MovizorError as exc:  # down, locked or out of budget: try next period
                log.warning("movizor directory sync stopped: %s", type(exc).__name__)
            except Exception:  # a bug must not end the loop for good
                log.exception("movizor directory sync failed")
            await asyncio.sleep(self.every_seconds)

    async def sync_once(self) -> int:
        """Learn the titles of the account's phones; returns how many titles changed."""
        self.calls_last_sync = 0
        phones = sorted({item.phone for item in await self._call(self.client.object_list)})
        known = await self.repos.drivers.many(set(phones))
        unknown_first = sorted(phones, key=lambda phone: phone in known)
        changed = 0
        for phone in unknown_first:
            try:
                info = await self._call(self.client.object_get, phone)
            except MovizorObjectNotFound:  # deleted since object_list
                continue
            driver = known.get(phone)
            if info.title and (driver is None or driver.title != info.title):
                await self.repos.drivers.upsert(phone, info.title, driver.tags if driver else ())
                changed += 1
        self.syncs += 1
        log.info("movizor directory sync: %s phones, %s titles learnt", len(phones), changed)
        return changed

    async def _call(self, method: Callable[..., Awaitable[T]], *args: str) -> T:
        await self._bucket.acquire()
        # The client's budget refills continuously: look again after a while (no event to wait on).
        while True:
            if self.client.has_room(self._reserve):
                self.calls_last_sync += 1
                return await method(*args)
            await asyncio.sleep(WAIT_FOR_ROOM_SECONDS)
