"""A button acts on the message it was pressed on, and only when it is really that message's.

A callback carries two things: the message it was pressed on and the button's data (which
names a subject: an order, a task, a driver, an alert's outbox row). A button that edits "its"
card must edit the card of that subject, never another message: so the data must be one of the
message's own buttons now. An old keyboard replaced since, a client that sends stale data, or a
message Telegram no longer shows (older than 48 hours) is answered "button expired" instead.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


def buttons_data(markup: InlineKeyboardMarkup | None) -> set[str]:
    if markup is None:
        return set()
    return {b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data}


def pressed_on_its_message(callback: CallbackQuery) -> Message | None:
    """The message the button was pressed on, if that button is one of the message's own."""
    message = callback.message
    if not isinstance(message, Message) or callback.data is None:
        return None
    if callback.data not in buttons_data(message.reply_markup):
        return None
    return message
