"""Alerts as Telegram messages: HTML text, its plain-text twin, and the two alert buttons.

Every piece of text is built twice from the same template (see :class:`Rich`): as Telegram HTML
with every upstream string escaped, and as plain text with the tags stripped and nothing escaped.
When Telegram refuses the HTML ("can't parse entities"), the sender resends the plain twin, which
is never longer, so it fits wherever the HTML did.

Rendering is pure: no storage, no network. The caller says which locale and time zone to use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.alerts.fields import word_field
from bot.alerts.kinds import KINDS, icon
from bot.callbacks import AlertAckCb, AlertSilenceCb
from bot.i18n import PoI18n
from bot.phones import format_phone
from bot.texts import TELEGRAM_TEXT_LIMIT, Rich, clip, fill, utf16_len
from integrations.base import Alert, Location, Severity, Subject

# Room kept free in every alert message for the "✅ Принял(а) … в HH:MM" line added on ack.
ACK_RESERVE = 200
MESSAGE_LIMIT = TELEGRAM_TEXT_LIMIT - ACK_RESERVE
# Upstream strings are clipped before escaping, so one alert can never outgrow a message.
MAX_TITLE = 200
MAX_LABEL = 60
MAX_VALUE = 300
MAX_ACK_NAME = 64
BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class RenderContext:
    """Whose eyes the text is for: the chat's language and time zone."""

    i18n: PoI18n
    locale: str
    tz: ZoneInfo


@dataclass(frozen=True)
class Part:
    """One message of a grouped send: which of the alerts it shows (indexes) and its text."""

    indexes: tuple[int, ...]
    text: Rich


def kind_title(kind: str, locale: str) -> str:
    spec = KINDS.get(kind)
    return spec.title(locale) if spec else kind


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m %H:%M")


def plural_key(prefix: str, count: int, locale: str) -> str:
    """``prefix.one|few|many`` by the language's plural rule (both .po files have all three)."""
    if locale != "ru":
        return f"{prefix}.one" if count == 1 else f"{prefix}.many"
    if count % 10 == 1 and count % 100 != 11:
        return f"{prefix}.one"
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return f"{prefix}.few"
    return f"{prefix}.many"


# --- one alert ------------------------------------------------------------------------------
def subject_name(subject: Subject) -> str:
    """What people call the subject: its title; a driver without one by the phone, written as
    every screen writes it."""
    if subject.title:
        return subject.title
    return format_phone(subject.id) if subject.type == "driver" else subject.id


def _subject(alert: Alert) -> str:
    return clip(subject_name(alert.subject), MAX_TITLE)


def _field_lines(alert: Alert, tz: ZoneInfo) -> list[Rich]:
    lines = []
    for key, value in alert.fields.items():
        if value is None:
            continue  # nothing to say (an executor not set yet)
        label, text = word_field(alert.source, key, value, tz)
        if not text:
            continue  # a key worded to nothing: for the bot, not for people (an internal id)
        lines.append(
            fill(_("alert.field"), label=clip(label, MAX_LABEL), value=clip(text, MAX_VALUE))
        )
    return lines


def _fit(head: list[Rich], fields: list[Rich], tail: list[Rich], limit: int) -> Rich:
    """Join the lines, dropping fields from the end (with a "… N more" line) until it fits.

    Every line is balanced HTML on its own, so dropping whole lines keeps the text valid.
    """
    shown = list(fields)
    while True:
        dropped = len(fields) - len(shown)
        more = [fill(_("alert.more_fields"), count=str(dropped))] if dropped else []
        text = Rich.join([*head, *shown, *more, *tail])
        if text.length <= limit or not shown:
            return text
        shown.pop()


def _folded(count: int, locale: str) -> list[Rich]:
    """``… и ещё N изменений`` for routine news folded into the latest (none when 0)."""
    if not count:
        return []
    return [fill(_(plural_key("alert.folded", count, locale)), count=str(count))]


def render_alert(
    alert: Alert,
    severity: Severity,
    ctx: RenderContext,
    *,
    limit: int = MESSAGE_LIMIT,
    folded: int = 0,
) -> Rich:
    """A message of its own: title line, subject, fields, place, time; ``folded`` earlier
    routine changes of the same subject are counted under it."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        head = [
            fill(
                _("alert.title"),
                icon=icon(alert.kind, severity),
                kind=kind_title(alert.kind, ctx.locale),
            ),
            fill(_("alert.subject"), subject=_subject(alert)),
        ]
        tail = []
        if alert.location is not None and alert.location.place:
            tail.append(fill(_("alert.place"), place=clip(alert.location.place, MAX_TITLE)))
        tail.append(fill(_("alert.time"), time=local_time(alert.occurred_at, ctx.tz)))
        tail += _folded(folded, ctx.locale)
        return _fit(head, _field_lines(alert, ctx.tz), tail, limit)


def _block(
    alert: Alert, severity: Severity, ctx: RenderContext, limit: int, folded: int = 0
) -> Rich:
    """The compact form of one alert inside a grouped message (i18n context already set)."""
    head = [
        fill(
            _("alert.block_title"),
            icon=icon(alert.kind, severity),
            kind=kind_title(alert.kind, ctx.locale),
            subject=_subject(alert),
        )
    ]
    meta = []
    if alert.location is not None and alert.location.place:
        meta.append(fill(_("alert.place"), place=clip(alert.location.place, MAX_TITLE)))
    meta.append(fill(_("alert.time"), time=local_time(alert.occurred_at, ctx.tz)))
    tail = [Rich.join(meta, " · "), *_folded(folded, ctx.locale)]
    return _fit(head, _field_lines(alert, ctx.tz), tail, limit)


# --- several alerts for one chat --------------------------------------------------------------
def _header(total: int, part: int, parts: int, locale: str) -> Rich:
    header = fill(_(plural_key("alert.group", total, locale)), count=str(total))
    if parts > 1:
        marker = fill(_("alert.part"), part=str(part), parts=str(parts))
        header = Rich.join([header, marker], " ")
    return header


def pack_blocks(
    blocks: Sequence[Rich], budget: int, separator: str = BLOCK_SEPARATOR
) -> list[list[int]]:
    """Indexes of blocks per message, in order, each message's blocks within ``budget``."""
    packs: list[list[int]] = []
    size = 0
    for index, block in enumerate(blocks):
        extra = block.length + utf16_len(separator)
        if packs and size + extra <= budget:
            packs[-1].append(index)
            size += extra
        else:
            packs.append([index])
            size = extra
    return packs


def render_group(
    alerts: Sequence[tuple[Alert, Severity]],
    ctx: RenderContext,
    *,
    limit: int = MESSAGE_LIMIT,
    folded: Sequence[int] = (),
) -> list[Part]:
    """Alerts waiting together for one chat: "N оповещений" and a compact block per alert,
    split into as few messages under ``limit`` as the blocks allow (cut between blocks only).
    ``folded[i]``: earlier routine changes counted under block ``i``."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        total = len(alerts)
        widest = _header(total, 999, 999, ctx.locale)
        budget = limit - widest.length
        counts = list(folded) or [0] * total
        blocks = [
            _block(alert, severity, ctx, budget, counts[i])
            for i, (alert, severity) in enumerate(alerts)
        ]
        packs = pack_blocks(blocks, budget)
        parts = []
        for number, pack in enumerate(packs, start=1):
            header = _header(total, number, len(packs), ctx.locale)
            text = Rich.join([header, *(blocks[i] for i in pack)], BLOCK_SEPARATOR)
            parts.append(Part(tuple(pack), text))
        return parts


# --- buttons and the acknowledgement line ------------------------------------------------------
def alert_keyboard(first_row_id: int, ctx: RenderContext) -> InlineKeyboardMarkup:
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        keyboard = InlineKeyboardBuilder()
        keyboard.button(text=_("btn.ack"), callback_data=AlertAckCb(row=first_row_id))
        keyboard.button(text=_("btn.silence_hour"), callback_data=AlertSilenceCb(row=first_row_id))
        return keyboard.as_markup()


def ack_line(name: str, moment: datetime, ctx: RenderContext) -> str:
    """``✅ Принял(а) <name> в HH:MM`` (HTML; ``name`` raw, escaped here)."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        time = moment.astimezone(ctx.tz).strftime("%H:%M")
        return fill(_("alert.acked"), name=clip(name, MAX_ACK_NAME), time=time).html


def silence_line(name: str, until: datetime, ctx: RenderContext) -> str:
    """``🔕 Тишина до HH:MM — <name>`` (HTML; ``name`` raw, escaped here)."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        time = until.astimezone(ctx.tz).strftime("%H:%M")
        return fill(_("alert.silenced_line"), name=clip(name, MAX_ACK_NAME), time=time).html


def latest_places(alerts: Sequence[Alert], limit: int) -> list[tuple[str, Location]]:
    """(subject key, location) worth a map pin: the latest per subject, at most ``limit``
    (newest last)."""
    latest: dict[str, Location] = {}
    for alert in alerts:
        if alert.location is not None:
            latest.pop(alert.subject.key, None)
            latest[alert.subject.key] = alert.location
    return list(latest.items())[-limit:]


def pins(alerts: Sequence[Alert], limit: int) -> list[Location]:
    """Locations worth a map pin: the latest per subject, at most ``limit`` (newest last)."""
    return [location for _key, location in latest_places(alerts, limit)]
