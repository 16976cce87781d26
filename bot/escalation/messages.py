"""The texts of an escalation: the repeat in the chat, the private copy, the line that ends it."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.alerts.kinds import icon
from bot.alerts.pipeline import severity_of
from bot.alerts.render import (
    MAX_ACK_NAME,
    RenderContext,
    ack_line,
    clip,
    kind_title,
    render_alert,
    silence_line,
    subject_name,
)
from bot.callbacks import EscalationCb
from integrations.base import Alert
from storage.escalations import Escalation

SILENCE_HOURS = 1


def mention(user_id: int, name: str) -> str:
    """A name that notifies its person (HTML)."""
    return html.link(html.quote(clip(name, MAX_ACK_NAME)), f"tg://user?id={user_id}")


def headline(alert: Alert, locale: str) -> str:
    """``🔴 Водитель ушёл с маршрута · Петров И.И.`` (HTML)."""
    title = kind_title(alert.kind, locale)
    return html.quote(
        f"{icon(alert.kind, severity_of(alert))} {title} · {subject_name(alert.subject)}"
    )


def chat_copy(alert: Alert, minutes: int, on_call: str | None, ctx: RenderContext) -> str:
    """The repeat in the chat, as a reply to the alert: who is on call is named (notified)."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        lines = [_("esc.chat.head").format(minutes=minutes), headline(alert, ctx.locale)]
        if on_call:
            lines.append(_("esc.chat.on_call").format(name=on_call))
        else:
            lines.append(_("esc.chat.nobody_on_call"))
        return "\n".join(lines)


def private_copy(alert: Alert, chat_title: str, minutes: int, ctx: RenderContext) -> str:
    """The alert in full for a person in private, with where and how long it waits."""
    body = render_alert(alert, severity_of(alert), ctx).html
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        head = _("esc.private.head").format(minutes=minutes, chat=html.quote(chat_title))
        return f"{head}\n\n{body}"


def keyboard(escalation_id: int, ctx: RenderContext) -> InlineKeyboardMarkup:
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        builder = InlineKeyboardBuilder()
        builder.button(text=_("btn.ack"), callback_data=EscalationCb(id=escalation_id, act="a"))
        builder.button(
            text=_("btn.silence_hour"), callback_data=EscalationCb(id=escalation_id, act="s")
        )
        return builder.as_markup()


def closing_line(chain: Escalation, taker: str | None, ctx: RenderContext) -> str | None:
    """What every copy says once the chain ended: who took it and when, or that it cleared."""
    moment: datetime | None = chain.closed_at
    if moment is None:
        return None
    reason = chain.closed_reason or ""
    if chain.state == "acked" and reason.startswith("silence"):
        return silence_line(taker or "?", moment + timedelta(hours=SILENCE_HOURS), ctx)
    if chain.state == "acked":
        return ack_line(taker or "?", moment, ctx)
    if chain.state == "resolved":
        with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
            return _("esc.resolved").format(
                what=html.quote(kind_title(reason, ctx.locale)),
                time=moment.astimezone(ctx.tz).strftime("%H:%M"),
            )
    return None
