"""Small helpers every Mobiforce handler module uses: the chat topic of a message, an error in
the chat's language, a column of wizard buttons."""

from __future__ import annotations

from typing import Final

from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import PoI18n
from bot.texts import error_html
from handlers.mobiforce.callbacks import NewTaskCb
from integrations.mobiforce.errors import MobiforceError

BUTTON_TEXT: Final = 64


def topic_of(message: Message) -> int:
    return (message.message_thread_id if message.is_topic_message else None) or 0


def error_text(exc: MobiforceError, i18n: PoI18n) -> str:
    return error_html(exc, i18n.current_locale)


def button_keyboard(buttons: list[tuple[str, NewTaskCb]]) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    for text, data in buttons:
        keyboard.button(text=text[:BUTTON_TEXT], callback_data=data)
    keyboard.adjust(1)
    return keyboard.as_markup()
