"""A pick list of the wizard (templates, executors) that never cuts silently: eight buttons a
page with ◀️ ▶️, and a typed part of a name narrows the list (the text says how many match)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.texts import clip
from handlers.mobiforce.callbacks import NewTaskCb
from storage.mobiforce import Entry

PICK_PAGE: Final = 8
BUTTON_TEXT: Final = 64


def matching(entries: Sequence[Entry], query: str) -> list[Entry]:
    """Entries whose name holds ``query`` (any case; all for an empty query)."""
    wanted = query.strip().casefold()
    return [entry for entry in entries if wanted in entry.name.casefold()]


def page_count(entries: Sequence[Entry]) -> int:
    return max(1, -(-len(entries) // PICK_PAGE))


def pick_keyboard(
    entries: Sequence[Entry],
    page: int,
    *,
    pick: str,
    turn: str,
    extra: Sequence[tuple[str, NewTaskCb]] = (),
) -> InlineKeyboardMarkup:
    """Page ``page`` of ``entries`` as buttons (``pick`` with the entry's id), ◀️ ▶️ (``turn``
    with the page), then ``extra`` buttons."""
    page = max(0, min(page, page_count(entries) - 1))
    shown = entries[page * PICK_PAGE : (page + 1) * PICK_PAGE]
    keyboard = InlineKeyboardBuilder()
    for entry in shown:
        keyboard.button(
            text=clip(entry.name, BUTTON_TEXT), callback_data=NewTaskCb(step=pick, value=entry.id)
        )
    nav = 0
    if page > 0:
        keyboard.button(text="◀️", callback_data=NewTaskCb(step=turn, value=page - 1))
        nav += 1
    if page + 1 < page_count(entries):
        keyboard.button(text="▶️", callback_data=NewTaskCb(step=turn, value=page + 1))
        nav += 1
    for text, data in extra:
        keyboard.button(text=clip(text, BUTTON_TEXT), callback_data=data)
    keyboard.adjust(*([1] * len(shown)), *([nav] if nav else []), *([1] * len(extra)))
    return keyboard.as_markup()
