"""The two buttons under every alert: "✅ Принял" and "🔕 Тишина 1 ч".

Both act on the subjects of the message's outbox rows, in that chat and forum topic:

- "Принял" acknowledges each (subject, kind) until the subject does something new (the pipeline
  lifts it then), marks the message with who and when, and removes the buttons.
- "Тишина 1 ч" silences those subjects for an hour and marks the message with who and until
  when (the silence is listed, and can be lifted, in /subscriptions).

Under a storm summary they act on every subject it summarizes (its rows ride that message);
a subject opened from its list has its own pair, acting on that subject only
(handlers/alert_lists.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.alerts.render import ack_line, clip, silence_line, subject_name
from bot.alerts.sender import chat_context
from bot.buttons import pressed_on_its_message
from bot.callbacks import AlertAckCb, AlertSilenceCb, AlertSubjectCb
from bot.escalation.desk import ACK, SILENCE
from bot.escalation.service import Escalation
from bot.i18n import PoI18n
from bot.policy import rule
from bot.texts import utf16_len
from integrations.base import Alert
from storage import Repos
from storage.db import utcnow
from storage.outbox import OutboxRow
from storage.users import User

log = logging.getLogger(__name__)
SILENCE_FOR = timedelta(hours=1)
TOAST_LIMIT = 200  # Telegram's limit for a callback answer, in UTF-16 units


async def rows_of(repos: Repos, message: Message, first_row: int) -> list[OutboxRow]:
    """The outbox rows the message shows now, checked against the message: the button's row
    must have been sent as this message (or be the news on this subject's status card).

    A status card edited in place carries the rows of every edit; the keyboard names the first
    row of the latest one, so the rows shown are that one and those after it.
    """
    row = await repos.outbox.get(first_row)
    if row is None or row.chat_id != message.chat.id:
        return []
    if row.message_id == message.message_id:
        rows = await repos.outbox.rows_of_message(message.chat.id, message.message_id)
        return [r for r in rows if r.id >= row.id]
    card = await repos.alert_state.card(row.chat_id, row.thread_id, row.subject_key)
    return [row] if card == message.message_id else []


def subject_names(rows: list[OutboxRow]) -> str:
    """The subjects' titles as people know them (plain text, for a toast)."""
    names: dict[str, str] = {}
    for row in rows:
        try:
            subject = Alert.from_json(row.payload).subject
            names.setdefault(row.subject_key, subject_name(subject))
        except (ValueError, KeyError, TypeError):
            names.setdefault(row.subject_key, row.subject_key)
    return ", ".join(names.values())


def toast_text(text: str) -> str:
    """One line within Telegram's limit for a callback answer, which counts UTF-16 units (an
    emoji is two): a summary's long list of subjects is cut with "…"."""
    text = clip(text, TOAST_LIMIT)
    while utf16_len(text) > TOAST_LIMIT:
        text = text[:-2] + "…"
    return text


async def pressed_alert(
    callback: CallbackQuery, repos: Repos, row_id: int
) -> tuple[Message, list[OutboxRow]] | None:
    """The alert message a button belongs to and its outbox rows; an expired button is told so."""
    message = pressed_on_its_message(callback)
    rows = await rows_of(repos, message, row_id) if message is not None else []
    if message is None or not rows:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return None
    return message, rows


async def acknowledge(
    callback: CallbackQuery,
    callback_data: AlertAckCb,
    repos: Repos,
    user: User,
    i18n: PoI18n,
    timezone: ZoneInfo,
    escalation: Escalation,
) -> None:
    found = await pressed_alert(callback, repos, callback_data.row)
    if found is not None:
        await ack_rows(callback, *found, repos, user, i18n, timezone, escalation)


async def ack_rows(
    callback: CallbackQuery,
    message: Message,
    rows: list[OutboxRow],
    repos: Repos,
    user: User,
    i18n: PoI18n,
    timezone: ZoneInfo,
    escalation: Escalation | None = None,
) -> None:
    """«Принял» on ``message`` for the subjects (and kinds) of ``rows``; their escalation
    chains in this chat end, and every copy says who took it."""
    chat_id, thread_id = message.chat.id, rows[0].thread_id
    pairs = sorted({(row.subject_key, row.kind) for row in rows})
    silences = await repos.alert_state.silences(chat_id)
    acked = [(chat_id, thread_id, subject, kind) for subject, kind in pairs]
    if all(key in silences and silences[key] is None for key in acked):
        await callback.answer(_("alert.already_acked"))  # a double tap, or another message
        return
    for subject, kind in pairs:
        await repos.alert_state.silence(
            chat_id, thread_id, subject, kind=kind, until=None, by=user.id
        )
    await repos.audit.record(
        user.id, "alert.ack", chat_id, message_id=message.message_id, subjects=sorted(set(pairs))
    )
    ctx = await chat_context(repos, i18n, timezone, chat_id, thread_id)
    await mark(message, ack_line(user.full_name, utcnow(), ctx))
    if escalation is not None:
        await escalation.desk.take_in_chat(chat_id, thread_id, pairs, user, ACK)
    await callback.answer()


ACTION_PREFIXES = tuple(
    f"{cb.__prefix__}{cb.__separator__}" for cb in (AlertAckCb, AlertSilenceCb, AlertSubjectCb)
)


def without_actions(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard less «Принял»/«Тишина» (a summary keeps its «📋» lists)."""
    if markup is None:
        return None
    rows = [
        [b for b in row if not (b.callback_data or "").startswith(ACTION_PREFIXES)]
        for row in markup.inline_keyboard
    ]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def mark(message: Message, line: str) -> None:
    """Add who did what under the alert and take its action buttons away."""
    try:
        await message.edit_text(
            f"{message.html_text}\n\n{line}", reply_markup=without_actions(message.reply_markup)
        )
    except TelegramBadRequest as exc:
        log.info("could not mark alert %s: %s", message.message_id, exc.message)


async def silence_hour(
    callback: CallbackQuery,
    callback_data: AlertSilenceCb,
    repos: Repos,
    user: User,
    i18n: PoI18n,
    timezone: ZoneInfo,
    escalation: Escalation,
) -> None:
    found = await pressed_alert(callback, repos, callback_data.row)
    if found is not None:
        await silence_rows(callback, *found, repos, user, i18n, timezone, escalation)


async def silence_rows(
    callback: CallbackQuery,
    message: Message,
    rows: list[OutboxRow],
    repos: Repos,
    user: User,
    i18n: PoI18n,
    timezone: ZoneInfo,
    escalation: Escalation | None = None,
) -> None:
    """«Тишина 1 ч» on ``message`` for the subjects of ``rows`` (their chains here end)."""
    chat_id, thread_id = message.chat.id, rows[0].thread_id
    until = utcnow() + SILENCE_FOR
    subjects = sorted({row.subject_key for row in rows})
    for subject in subjects:
        await repos.alert_state.silence(
            chat_id, thread_id, subject, kind="", until=until, by=user.id
        )
    await repos.audit.record(
        user.id, "alert.silence", chat_id, message_id=message.message_id, subjects=subjects
    )
    ctx = await chat_context(repos, i18n, timezone, chat_id, thread_id)
    await mark(message, silence_line(user.full_name, until, ctx))
    if escalation is not None:
        pairs = [(row.subject_key, row.kind) for row in rows]
        await escalation.desk.take_in_chat(chat_id, thread_id, pairs, user, SILENCE)
    toast = _("alert.silenced").format(
        until=until.astimezone(ctx.tz).strftime("%H:%M"), subjects=subject_names(rows)
    )
    await callback.answer(toast_text(toast))


def make_router() -> Router:
    router = Router(name="alert_actions")
    router.callback_query.register(acknowledge, AlertAckCb.filter(), flags=rule("button.alert_ack"))
    router.callback_query.register(
        silence_hour, AlertSilenceCb.filter(), flags=rule("button.alert_silence")
    )
    return router
