"""Movizor handlers' flags and the middleware that answers "not configured" while Movizor is off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from storage.users import Role

VIEWER: Final = {"role": Role.VIEWER.value, "movizor": True}
DISPATCHER: Final = {"role": Role.DISPATCHER.value, "movizor": True}


class RequireMovizor(BaseMiddleware):
    """Handlers flagged ``movizor`` answer "not configured" while the integration is off.

    Runs after the access middleware (routers' inner middlewares come after the
    dispatcher's), so a stranger still gets the access answer first.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get("movizor") is not None or not get_flag(data, "movizor"):
            return await handler(event, data)
        text = _("error.integration_off").format(name="Movizor")
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None
