"""Alerts in a storm, as Telegram HTML: one line per subject, one summary line per kind.

When a chat's alerts outrun its message budget (bot/alerts/packing.py chooses the density),
messages get denser instead of later:

- a subject line: ``🔴 Петров И.И. — Водитель ушёл с маршрута · 📍 Тверь · 🕒 12:05 · и ещё 2``
  (the subject's latest alert; "и ещё N": its other alerts in this message);
- a summary line: ``🟡 Водитель в роуминге — 14 оповещений: Петров (Тверь), Сидоров, …
  и ещё 9`` (the kind, how many alerts, the newest subjects first, how many more subjects);
  its «📋» button opens the full list (handlers/alert_lists.py).

Pure, like bot/alerts/render.py: no storage, no network; every line is balanced HTML on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.alerts.kinds import icon
from bot.alerts.render import MAX_TITLE, RenderContext, kind_title, plural_key, subject_name
from bot.callbacks import AlertAckCb, AlertListCb, AlertSilenceCb
from bot.texts import Rich, clip, fill
from integrations.base import Alert, Severity

SUMMARY_NAMES = 5  # subjects named on a summary line (newest first)
MAX_NAME = 40  # a subject's name on a summary line
MAX_PLACE = 40
MAX_KIND_BUTTONS = 8  # list buttons per message, one per summary line; more: one for all
MAX_BUTTON_KIND = 24  # a kind's name on its list button


@dataclass(frozen=True)
class Summary:
    """One kind's alerts in a storm message, for its summary line."""

    kind: str
    severity: Severity
    alerts: Sequence[Alert]  # oldest first (routine news folded: its latest)
    count: int  # the alerts it stands for


@dataclass(frozen=True)
class ListButton:
    """«📋» for one summary line (``kind`` True) or for the whole message."""

    first_row: int
    label: str  # the kind's name, or "" for the whole message
    subjects: int
    kind: bool


def short_time(alert: Alert, ctx: RenderContext) -> str:
    return alert.occurred_at.astimezone(ctx.tz).strftime("%H:%M")


def place_of(alert: Alert) -> str:
    if alert.location is not None and alert.location.place:
        return alert.location.place
    place = alert.fields.get("place")
    return place if isinstance(place, str) else ""


def subject_line(latest: Alert, severity: Severity, ctx: RenderContext, more: int = 0) -> Rich:
    """One subject: its latest alert, and how many ``more`` this line stands for (i18n context
    already set)."""
    parts = [
        fill(
            _("alert.dense_line"),
            icon=icon(latest.kind, severity),
            subject=clip(subject_name(latest.subject), MAX_TITLE),
            kind=kind_title(latest.kind, ctx.locale),
        )
    ]
    place = place_of(latest)
    if place:
        parts.append(fill(_("alert.place"), place=clip(place, MAX_PLACE)))
    parts.append(fill(_("alert.time"), time=short_time(latest, ctx)))
    if more:
        parts.append(fill(_("alert.dense_more"), count=str(more)))
    return Rich.join(parts, " · ")


def summary_line(summary: Summary, ctx: RenderContext) -> Rich:
    """One kind: ``{icon} {kind} — N оповещений: the newest subjects … и ещё M`` (i18n context
    already set)."""
    newest: dict[str, Alert] = {}
    for alert in reversed(summary.alerts):
        newest.setdefault(alert.subject.key, alert)
    named = list(newest.values())[:SUMMARY_NAMES]
    names = []
    for alert in named:
        name = clip(subject_name(alert.subject), MAX_NAME)
        place = place_of(alert)
        if place:
            name = f"{name} ({clip(place, MAX_PLACE)})"
        names.append(name)
    count = summary.count
    head = fill(
        _("alert.dense_summary"),
        icon=icon(summary.kind, summary.severity),
        kind=kind_title(summary.kind, ctx.locale),
        alerts=_(plural_key("alert.dense_count", count, ctx.locale)).format(count=count),
        names=", ".join(names),
    )
    rest = len(newest) - len(named)
    if not rest:
        return head
    return Rich.join([head, fill(_("alert.dense_more"), count=str(rest))], " ")


def dense_header(total: int, part: int, parts: int, ctx: RenderContext, *, entering: bool) -> Rich:
    """``🌪 Шторм: N оповещений`` (with "(часть i/n)"); the first summary a chat gets in a
    storm also says why and what to do (i18n context already set)."""
    header = fill(_(plural_key("alert.dense_header", total, ctx.locale)), count=str(total))
    if parts > 1:
        marker = fill(_("alert.part"), part=str(part), parts=str(parts))
        header = Rich.join([header, marker], " ")
    if entering:
        header = Rich.join([header, fill(_("alert.dense_entering"))])
    return header


def dense_keyboard(
    first_row: int, lists: Sequence[ListButton], ctx: RenderContext
) -> InlineKeyboardMarkup:
    """«📋» per summary line (or one for the message), then «✅ Принял» and «🔕 Тишина 1 ч» —
    which act on every subject of the message, as under any grouped alert message."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        keyboard = InlineKeyboardBuilder()
        for item in lists:
            text = (
                _("btn.dense_list_kind").format(
                    kind=clip(item.label, MAX_BUTTON_KIND), count=item.subjects
                )
                if item.kind
                else _("btn.dense_list_all").format(count=item.subjects)
            )
            keyboard.button(
                text=text, callback_data=AlertListCb(row=item.first_row, kind=int(item.kind))
            )
        keyboard.adjust(2)
        keyboard.row(
            InlineKeyboardButton(text=_("btn.ack"), callback_data=AlertAckCb(row=first_row).pack()),
            InlineKeyboardButton(
                text=_("btn.silence_hour"), callback_data=AlertSilenceCb(row=first_row).pack()
            ),
        )
        return keyboard.as_markup()


def storm_ended_line(summarized: int, since: str, ctx: RenderContext) -> Rich:
    """``🌤 Шторм оповещений закончился (с 14:02): сводками отправлено 1234 оповещения``."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        return fill(
            _(plural_key("alert.dense_ended", summarized, ctx.locale)),
            count=str(summarized),
            since=since,
        )
