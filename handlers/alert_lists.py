"""The list behind a storm summary: «📋» under it opens every subject it carries, page by page.

A summary line counts alerts and names a few subjects (bot/alerts/render_dense.py); its rows
rode that message (each outbox row is marked sent with it), so the list needs nothing stored
beyond the outbox: the button names the summary's first row of what it lists, and the list is
read back by the message that row was sent as.

- «📋» on the summary posts the list (page 1) under it; «⬅»/«➡» on the list turn its pages.
- A number on a page opens that subject: its latest alert in full, how many came before it,
  and its own «✅ Принял» / «🔕 Тишина 1 ч», acting on that subject only.
- «✅ Принял» / «🔕 Тишина 1 ч» under the summary itself act on every subject it summarizes
  (handlers/alert_actions.py, as under any grouped alert message).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyParameters
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.alerts.packing import severity
from bot.alerts.render import RenderContext, kind_title, plural_key, render_alert
from bot.alerts.render_dense import subject_line
from bot.alerts.sender import chat_context
from bot.buttons import pressed_on_its_message
from bot.callbacks import AlertListCb, AlertOpenCb, AlertSubjectCb
from bot.escalation.service import Escalation
from bot.i18n import PoI18n
from bot.policy import rule
from bot.texts import Rich, fill
from handlers.alert_actions import ack_rows, silence_rows
from integrations.base import Alert, Severity
from storage import Repos
from storage.outbox import OutboxRow
from storage.users import User

log = logging.getLogger(__name__)
PAGE = 8  # subjects per page
PER_ROW = 4  # number buttons per keyboard row


@dataclass(frozen=True)
class Entry:
    """One subject in a list: its rows in the summary, its latest alert."""

    rows: list[OutboxRow]
    alert: Alert
    severity: Severity


def entries(rows: list[OutboxRow]) -> list[Entry]:
    """One entry per subject, urgent first, then in order of their first alert."""
    by_subject: dict[str, list[OutboxRow]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        by_subject.setdefault(row.subject_key, []).append(row)
    found = []
    for subject_rows in by_subject.values():
        try:
            alert = Alert.from_json(subject_rows[-1].payload)
        except (ValueError, KeyError, TypeError):
            log.warning("outbox row %s has a bad payload", subject_rows[-1].id)
            continue
        found.append(Entry(subject_rows, alert, max(severity(r) for r in subject_rows)))
    return sorted(found, key=lambda e: -e.severity)


async def summarized(
    callback: CallbackQuery, repos: Repos, row_id: int
) -> tuple[Message, OutboxRow, list[OutboxRow]] | None:
    """The message pressed on, the button's row and every row of the summary it was sent in;
    a button that is not its message's own, or a row of another chat, is told "expired"."""
    message = pressed_on_its_message(callback)
    row = await repos.outbox.get(row_id) if message is not None else None
    if message is None or row is None or row.chat_id != message.chat.id or not row.message_id:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return None
    return message, row, await repos.outbox.rows_of_message(row.chat_id, row.message_id)


def render_page(
    listed: list[Entry], cb: AlertListCb, what: str, ctx: RenderContext
) -> tuple[Rich, InlineKeyboardMarkup]:
    """One page of the list: a numbered line per subject, its number opens it."""
    pages = max(1, -(-len(listed) // PAGE))
    page = min(max(cb.page, 0), pages - 1)
    shown = listed[page * PAGE : (page + 1) * PAGE]
    alerts = sum(len(entry.rows) for entry in listed)
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        count = _(plural_key("alert.dense_count", alerts, ctx.locale)).format(count=alerts)
        title = fill(
            _("alert.list_title"), what=what, alerts=count, page=str(page + 1), pages=str(pages)
        )
        lines = [title]
        keyboard = InlineKeyboardBuilder()
        for number, entry in enumerate(shown, start=page * PAGE + 1):
            line = subject_line(entry.alert, entry.severity, ctx, len(entry.rows) - 1)
            lines.append(Rich(f"{number}. {line.html}", f"{number}. {line.plain}"))
            keyboard.button(text=str(number), callback_data=AlertOpenCb(row=entry.rows[-1].id))
        keyboard.adjust(PER_ROW)
        turns = []
        if page > 0:
            turns.append((_("alerts.btn.prev"), page - 1))
        if page < pages - 1:
            turns.append((_("alerts.btn.next"), page + 1))
        if turns:
            keyboard.row()
            for text, to in turns:
                keyboard.button(
                    text=text, callback_data=AlertListCb(row=cb.row, kind=cb.kind, page=to)
                )
    return Rich.join(lines), keyboard.as_markup()


async def open_list(
    callback: CallbackQuery,
    callback_data: AlertListCb,
    repos: Repos,
    i18n: PoI18n,
    timezone: ZoneInfo,
) -> None:
    found = await summarized(callback, repos, callback_data.row)
    if found is None:
        return
    message, row, rows = found
    if callback_data.kind:
        rows = [r for r in rows if r.kind == row.kind]
    ctx = await chat_context(repos, i18n, timezone, row.chat_id, row.thread_id)
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        what = (
            kind_title(row.kind, ctx.locale) if callback_data.kind else _("alert.list_everything")
        )
    text, keyboard = render_page(entries(rows), callback_data, what, ctx)
    if message.message_id == row.message_id:  # on the summary: the list goes under it
        await message.answer(
            text.html,
            reply_markup=keyboard,
            reply_parameters=ReplyParameters(
                message_id=message.message_id, allow_sending_without_reply=True
            ),
        )
    else:  # on the list: another page
        await message.edit_text(text.html, reply_markup=keyboard)
    await callback.answer()


async def open_subject(
    callback: CallbackQuery,
    callback_data: AlertOpenCb,
    repos: Repos,
    i18n: PoI18n,
    timezone: ZoneInfo,
) -> None:
    found = await summarized(callback, repos, callback_data.row)
    if found is None:
        return
    message, row, rows = found
    listed = [entry for entry in entries(rows) if entry.rows[-1].subject_key == row.subject_key]
    if not listed:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    entry = listed[0]
    ctx = await chat_context(repos, i18n, timezone, row.chat_id, row.thread_id)
    text = render_alert(entry.alert, entry.severity, ctx, folded=len(entry.rows) - 1)
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        keyboard = InlineKeyboardBuilder()
        latest = entry.rows[-1].id
        keyboard.button(text=_("btn.ack"), callback_data=AlertSubjectCb(row=latest, act="a"))
        keyboard.button(
            text=_("btn.silence_hour"), callback_data=AlertSubjectCb(row=latest, act="s")
        )
    await message.answer(
        text.html,
        reply_markup=keyboard.as_markup(),
        reply_parameters=ReplyParameters(
            message_id=message.message_id, allow_sending_without_reply=True
        ),
    )
    await callback.answer()


async def act_on_subject(
    callback: CallbackQuery,
    callback_data: AlertSubjectCb,
    repos: Repos,
    user: User,
    i18n: PoI18n,
    timezone: ZoneInfo,
    escalation: Escalation,
) -> None:
    """«Принял» / «Тишина 1 ч» under an opened subject: that subject's rows in the summary."""
    found = await summarized(callback, repos, callback_data.row)
    if found is None:
        return
    message, row, rows = found
    mine = [r for r in rows if r.subject_key == row.subject_key]
    act = ack_rows if callback_data.act == "a" else silence_rows
    await act(callback, message, mine, repos, user, i18n, timezone, escalation)


def make_router() -> Router:
    router = Router(name="alert_lists")
    router.callback_query.register(open_list, AlertListCb.filter(), flags=rule("button.alert_list"))
    router.callback_query.register(
        open_subject, AlertOpenCb.filter(), flags=rule("button.alert_list")
    )
    router.callback_query.register(
        act_on_subject, AlertSubjectCb.filter(F.act == "a"), flags=rule("button.alert_ack")
    )
    router.callback_query.register(
        act_on_subject, AlertSubjectCb.filter(F.act == "s"), flags=rule("button.alert_silence")
    )
    return router
