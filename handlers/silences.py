"""The «🔕 Тишина» silences a chat has running: listed by /subscriptions, each with a button
that lifts it now.

A silence belongs to one subject in one chat (forum topic) and ends by itself; lifting it early
takes the same right as setting it (a dispatcher in a group, anyone in their own private chat).
"""

from __future__ import annotations

import hashlib
import logging
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.buttons import pressed_on_its_message
from bot.texts import clip, visible_text
from handlers.subscription_views import clock, filter_title
from storage import Repos
from storage.alert_state import Silence
from storage.db import utcnow
from storage.users import User

log = logging.getLogger(__name__)
MAX_BUTTON_TITLE = 40


class SilenceLiftCb(CallbackData, prefix="sl"):
    """ "🔔 Снять тишину" for one subject; ``s`` is a short hash of its key (keys can be long)."""

    s: str


def subject_hash(subject_key: str) -> str:
    return hashlib.sha256(subject_key.encode()).hexdigest()[:12]


def subject_title(subject_key: str) -> str:
    """How people know the subject (plain text of the filter's wording)."""
    return visible_text(filter_title(subject_key))


async def silence_lines(repos: Repos, silences: list[Silence], tz: ZoneInfo) -> list[str]:
    if not silences:
        return []
    now = utcnow()
    lines = [_("alerts.list.silences")]
    for silence in silences:
        assert silence.until is not None
        who = await repos.users.get(silence.by_user) if silence.by_user else None
        lines.append(
            _("alerts.list.silence").format(
                subject=filter_title(silence.subject_key),
                time=clock(silence.until, tz, now),
                name=html.quote(who.full_name if who else "—"),
            )
        )
    return lines


def lift_keyboard(silences: list[Silence]) -> InlineKeyboardMarkup | None:
    if not silences:
        return None
    keyboard = InlineKeyboardBuilder()
    for silence in silences:
        title = clip(subject_title(silence.subject_key), MAX_BUTTON_TITLE)
        keyboard.button(
            text=_("btn.silence_lift").format(subject=title),
            callback_data=SilenceLiftCb(s=subject_hash(silence.subject_key)),
        )
    keyboard.adjust(1)
    return keyboard.as_markup()


async def answer_silences(
    message: Message, repos: Repos, target: tuple[int, int], tz: ZoneInfo
) -> None:
    """The running silences of this chat (topic), with a lift button each; nothing if none."""
    silences = await repos.alert_state.timed_silences(*target, utcnow())
    lines = await silence_lines(repos, silences, tz)
    if lines:
        await message.answer("\n".join(lines), reply_markup=lift_keyboard(silences))


async def lift_pressed(
    callback: CallbackQuery,
    callback_data: SilenceLiftCb,
    repos: Repos,
    user: User,
) -> None:
    message = pressed_on_its_message(callback)
    if message is None:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    thread = message.message_thread_id if message.is_topic_message else None
    target = (message.chat.id, thread or 0)
    silences = await repos.alert_state.timed_silences(*target, utcnow())
    chosen = [s for s in silences if subject_hash(s.subject_key) == callback_data.s]
    if not chosen:
        await callback.answer(_("alerts.silence_over"))
    else:
        subject = chosen[0].subject_key
        await repos.alert_state.lift(*target, subject)
        await repos.audit.record(user.id, "alert.unsilence", target[0], subject=subject)
        silences = [s for s in silences if s.subject_key != subject]
        await callback.answer(_("alerts.silence_lifted").format(subject=subject_title(subject)))
    try:
        await message.edit_reply_markup(reply_markup=lift_keyboard(silences))
    except TelegramBadRequest as exc:  # "not modified": a double tap
        log.debug("silence list not redrawn: %s", exc.message)
