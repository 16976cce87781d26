"""The digest in the chat's language: one short message, a line per area, the five latest
drivers by minutes late, and a button per area that opens its list (handlers/digests/lists.py).

Bounded by construction (a fixed set of lines, titles cut short), and checked against
Telegram's 4,096 characters all the same.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.alerts.render import RenderContext
from bot.callbacks import DigestListCb
from bot.digests.content import Summary
from bot.money import money
from bot.texts import Rich, fill

TELEGRAM_LIMIT = 4096
TITLE_CHARS = 48
AREA_CODES = {"drivers": "d", "tasks": "t", "taxi": "x", "wagons": "w", "escalations": "e"}
AREA_OF_CODE = {code: area for area, code in AREA_CODES.items()}


def short(title: str) -> str:
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def duration(minutes: int | None) -> str:
    """``95`` -> «1 ч 35 мин»; None -> «—»."""
    if minutes is None:
        return "—"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("digest.minutes").format(minutes=rest)
    return _("digest.hours_minutes").format(hours=hours, minutes=rest)


def _time(moment: datetime, ctx: RenderContext) -> str:
    return moment.astimezone(ctx.tz).strftime("%d.%m %H:%M")


def _area_lines(summary: Summary, ctx: RenderContext) -> list[Rich]:
    lines: list[Rich] = []
    for area in summary.areas:
        if area == "drivers":
            d = summary.drivers
            lines.append(
                fill(
                    _("digest.drivers"),
                    late=str(d.late),
                    left=str(d.left_route),
                    arrived=str(d.arrived),
                )
            )
            for number, driver in enumerate(d.worst, start=1):
                name = short(driver.title or driver.subject_key.partition(":")[2])
                lines.append(
                    fill(
                        _("digest.late_driver"),
                        n=str(number),
                        name=name,
                        late=duration(driver.minutes),
                    )
                )
        elif area == "tasks":
            t = summary.tasks
            lines.append(
                fill(
                    _("digest.tasks"),
                    created=str(t.created),
                    closed=str(t.closed),
                    overdue=str(t.overdue),
                    median=duration(t.median_close_minutes),
                )
            )
        elif area == "taxi":
            x = summary.taxi
            lines.append(
                fill(
                    _("digest.taxi"),
                    orders=str(x.orders),
                    done=str(x.done),
                    cancelled=str(x.cancelled),
                    cost=money(x.cost, ctx.locale),
                )
            )
        elif area == "wagons":
            w = summary.wagons
            lines.append(
                fill(
                    _("digest.wagons"),
                    arrived=str(w.arrived),
                    moving=str(w.moving),
                    no_report=str(w.no_report),
                    put_on=str(w.put_on),
                    taken_off=str(w.taken_off),
                )
            )
        elif area == "escalations" and summary.escalations.acked:
            e = summary.escalations
            lines.append(
                fill(
                    _("digest.escalations"),
                    count=str(e.acked),
                    median=duration(e.median_ack_minutes),
                )
            )
    return lines


def digest_text(summary: Summary, ctx: RenderContext, *, late_from: datetime | None) -> Rich:
    """The digest; ``late_from``: the hour it was due at, when it goes late (the bot was down)."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        title = fill(
            _("digest.title"), start=_time(summary.start, ctx), end=_time(summary.end, ctx)
        )
        lines = [title]
        if late_from is not None:
            lines.append(fill(_("digest.late"), due=_time(late_from, ctx)))
        if summary.empty:
            lines.append(Rich(_("digest.nothing"), _("digest.nothing")))
        else:
            lines += _area_lines(summary, ctx)
    text = Rich.join(lines)
    while text.length > TELEGRAM_LIMIT and len(lines) > 1:  # cannot happen; never send a 400
        lines.pop()
        text = Rich.join(lines)
    return text


def nothing_text(summary: Summary, ctx: RenderContext, *, late_from: datetime | None) -> Rich:
    """The one short line of a day when nothing happened (and the late mark, when late)."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        line = fill(
            _("digest.nothing_line"), start=_time(summary.start, ctx), end=_time(summary.end, ctx)
        )
        if late_from is None:
            return line
        return Rich.join([line, fill(_("digest.late"), due=_time(late_from, ctx))])


def digest_keyboard(summary: Summary, ctx: RenderContext) -> InlineKeyboardMarkup | None:
    """A button per area that had events: it opens that area's list of the window."""
    start = int(summary.start.timestamp())
    builder = InlineKeyboardBuilder()
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        for area in summary.areas:
            if summary.events.get(area):
                builder.button(
                    text=_(f"digest.btn.{area}"),
                    callback_data=DigestListCb(area=AREA_CODES[area], start=start),
                )
    builder.adjust(3)
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None
