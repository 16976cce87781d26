"""One-shot "are you sure?" buttons.

:func:`ask` stores a confirmation and shows Yes / Cancel. The Yes button claims it atomically
(storage.confirmations), so a double tap, or Telegram re-sending the tap after a network error,
performs the action once. Routers register what an action does with :func:`on_confirm`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ConfirmCb
from storage import Repos
from storage.confirmations import Confirmation

# action name -> coroutine(callback, confirmation, handler data) returning the text to show.
ConfirmAction = Callable[[CallbackQuery, Confirmation, dict[str, Any]], Awaitable[str]]
ACTIONS: dict[str, ConfirmAction] = {}


def on_confirm(action: str) -> Callable[[ConfirmAction], ConfirmAction]:
    def decorate(fn: ConfirmAction) -> ConfirmAction:
        ACTIONS[action] = fn
        return fn

    return decorate


async def ask_to_confirm(
    message: Message,
    repos: Repos,
    *,
    user_id: int,
    action: str,
    payload: dict[str, object],
    question: str,
) -> None:
    if action not in ACTIONS:
        raise KeyError(f"no confirm action {action!r}")
    token = await repos.confirmations.create(
        user_id=user_id, chat_id=message.chat.id, action=action, payload=payload
    )
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=_("btn.yes"), callback_data=ConfirmCb(token=token, yes=True))
    keyboard.button(text=_("btn.no"), callback_data=ConfirmCb(token=token, yes=False))
    await message.answer(question, reply_markup=keyboard.as_markup())
