"""A background job of a service runtime: ``job()`` now and then every ``every_seconds``, until
stopped. An exception is logged and the next round still comes (a bug must not end the loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, job: Callable[[], Awaitable[object]], every_seconds: float):
        self.name = name
        self.job = job
        self.every_seconds = every_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.job()
            except Exception:
                log.exception("%s failed; next round in %ss", self.name, self.every_seconds)
            await asyncio.sleep(self.every_seconds)
