"""A digest's area buttons: «🚚 Водители» under the digest posts that area's events of the
digest's 24 hours under it, page by page («⬅»/«➡» turn the pages in place).

The button carries the area and the window's start; the events are read back from the history
of the chat (topic) the button was pressed in, so a button never shows another chat's history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import CallbackQuery, ReplyParameters
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.buttons import pressed_on_its_message
from bot.callbacks import DigestListCb
from bot.digests.job import WINDOW
from bot.digests.render import AREA_OF_CODE, duration, short
from bot.history.words import event_name, subject_text
from bot.i18n import PoI18n
from bot.money import money
from bot.texts import Rich, fill
from storage import Repos
from storage.history import HistoryEvent

PAGE = 15  # events per page


def event_line(event: HistoryEvent, tz: ZoneInfo, locale: str) -> Rich:
    parts = [f"{event.at.astimezone(tz):%H:%M}", event_name(event.kind, locale)]
    parts.append(short(subject_text(event)))
    if event.minutes is not None:
        parts.append(duration(event.minutes))
    if event.amount is not None:
        parts.append(money(event.amount, locale))
    return Rich(" · ".join(html.quote(part) for part in parts), " · ".join(parts))


async def open_area(
    callback: CallbackQuery,
    callback_data: DigestListCb,
    repos: Repos,
    i18n: PoI18n,
    timezone: ZoneInfo,
) -> None:
    message = pressed_on_its_message(callback)
    area = AREA_OF_CODE.get(callback_data.area)
    if message is None or area is None:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    thread = message.message_thread_id if message.is_topic_message else None
    start = datetime.fromtimestamp(callback_data.start, UTC)
    events = [
        e
        for e in await repos.history.between(message.chat.id, thread or 0, start, start + WINDOW)
        if e.area == area
    ]
    pages = max(1, -(-len(events) // PAGE))
    page = min(max(callback_data.page, 0), pages - 1)
    locale = i18n.current_locale
    title = fill(
        _("digest.list_title"),
        area=_(f"digest.btn.{area}"),
        count=str(len(events)),
        page=str(page + 1),
        pages=str(pages),
    )
    lines = [title] + [
        event_line(e, timezone, locale) for e in events[page * PAGE : (page + 1) * PAGE]
    ]
    if not events:
        lines.append(Rich(_("digest.list_empty"), _("digest.list_empty")))
    keyboard = InlineKeyboardBuilder()
    if page > 0:
        keyboard.button(
            text=_("alerts.btn.prev"),
            callback_data=DigestListCb(
                area=callback_data.area, start=callback_data.start, page=page - 1, turn=1
            ),
        )
    if page < pages - 1:
        keyboard.button(
            text=_("alerts.btn.next"),
            callback_data=DigestListCb(
                area=callback_data.area, start=callback_data.start, page=page + 1, turn=1
            ),
        )
    text = Rich.join(lines)
    markup = keyboard.as_markup() if page > 0 or page < pages - 1 else None
    if callback_data.turn:
        await message.edit_text(text.html, reply_markup=markup)
    else:
        await message.answer(
            text.html,
            reply_markup=markup,
            reply_parameters=ReplyParameters(
                message_id=message.message_id, allow_sending_without_reply=True
            ),
        )
    await callback.answer()
