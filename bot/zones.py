"""Every time a chat sees is in that chat's zone.

The one rule (``storage.subscriptions.effective_zone``): a forum topic's own zone, else its
chat's (/timezone), else BOT_TIMEZONE. This middleware resolves it once per update and hands it
to handlers as ``timezone``, so /locate, /events, the wizards and every card show local times
without each handler asking. (Alerts resolve the same rule in the sender.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject

from storage import Repos


class ChatZoneMiddleware(BaseMiddleware):
    def __init__(self, repos: Repos, default: ZoneInfo) -> None:
        self.repos = repos
        self.default = default

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is not None:
            thread = data.get("event_thread_id") or 0
            data["timezone"] = await self.repos.subscriptions.zone(chat.id, thread, self.default)
        return await handler(event, data)
