"""A middleware on every Bot API request: metrics, polling liveness, and 429 patience.

Polling liveness (for /healthz) is what getUpdates does: when it began, when Telegram last
answered it, and whether the latest one failed (Telegram unreachable or refusing).

Direct replies to commands must survive Telegram's flood control: when a send answers 429, wait
``retry_after`` and send again instead of dropping the reply. The alert sender manages its own
pacing and turns this off for its calls with :data:`retry_on_flood`.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.health import PollingWatch
from bot.metrics import Metrics

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)

retry_on_flood: ContextVar[bool] = ContextVar("retry_on_flood", default=True)
MAX_FLOOD_RETRIES = 5
MAX_FLOOD_WAIT = 120  # seconds; longer waits are Telegram telling us to stop, not to wait

# Methods that put something new in a chat (what "messages sent" counts).
SEND_METHODS = frozenset(
    {"sendMessage", "sendLocation", "sendVenue", "sendPhoto", "sendDocument", "sendMediaGroup"}
)


class TelegramRequestMiddleware(BaseRequestMiddleware):
    def __init__(self, metrics: Metrics, polling: PollingWatch) -> None:
        self.metrics = metrics
        self.polling = polling

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not isinstance(method, GetUpdates):
            return await self._request(make_request, bot, method)
        self.polling.sent()
        try:
            response = await self._request(make_request, bot, method)
        except Exception as exc:
            self.polling.failed(f"{type(exc).__name__}: {exc}")
            raise
        self.polling.answered()
        return response

    async def _request(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = type(method).__api_method__
        for attempt in range(MAX_FLOOD_RETRIES + 1):
            try:
                response = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.metrics.telegram_429.inc()
                patient = retry_on_flood.get() and name != "getUpdates"
                if not patient or attempt == MAX_FLOOD_RETRIES or exc.retry_after > MAX_FLOOD_WAIT:
                    self.metrics.telegram_errors.labels(name).inc()
                    raise
                log.warning("flood control on %s: waiting %ss", name, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramAPIError:
                self.metrics.telegram_errors.labels(name).inc()
                raise
            if name in SEND_METHODS:
                self.metrics.messages_sent.labels(name).inc()
            return response
        raise AssertionError("unreachable")
