"""The outermost middleware: metrics per update, and knowing what is still in flight.

On shutdown the app waits for in-flight handlers, so a taxi being ordered is ordered (and the
dispatcher told) before the process exits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject, Update

from bot.metrics import Metrics


class UpdateTracker:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        kind = event.event_type
        self.in_flight += 1
        self._idle.clear()
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            self.metrics.updates_handled.labels(kind).inc()
            self.metrics.handler_latency.labels(kind).observe(time.perf_counter() - started)
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
