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


def _area_values(area: str, summary: Summary, ctx: RenderContext) -> dict[str, str] | None:
    """The numbers of an area's line (its text is ``digest.<area>``); None: no line today."""
    d, t, x, w, e = (
        summary.drivers,
        summary.tasks,
        summary.taxi,
        summary.wagons,
        summary.escalations,
    )
    values: dict[str, dict[str, object]] = {
        "drivers": {"late": d.late, "left": d.left_route, "arrived": d.arrived},
        "tasks": {
            "created": t.created,
            "closed": t.closed,
            "overdue": t.overdue,
            "median": duration(t.median_close_minutes),
        },
        "taxi": {
            "orders": x.orders,
            "done": x.done,
            "cancelled": x.cancelled,
            "cost": money(x.cost, ctx.locale),
        },
        "wagons": {
            "arrived": w.arrived,
            "moving": w.moving,
            "no_report": w.no_report,
            "put_on": w.put_on,
            "taken_off": w.taken_off,
        },
        # Escalations are not an alert area: a line only when there were some.
        "escalations": {"count": e.acked, "median": duration(e.median_ack_minutes)}
        if e.acked
        else {},
    }
    found = values.get(area)
    return {key: str(value) for key, value in found.items()} if found else None


def _area_lines(summary: Summary, ctx: RenderContext) -> list[Rich]:
    lines: list[Rich] = []
    for area in summary.areas:
        values = _area_values(area, summary, ctx)
        if values is not None:
            lines.append(fill(_(f"digest.{area}"), **values))
        if area == "drivers":
            for number, driver in enumerate(summary.drivers.worst, start=1):
                name = short(driver.title or driver.subject_key.partition(":")[2])
                late = duration(driver.minutes)
                lines.append(fill(_("digest.late_driver"), n=str(number), name=name, late=late))
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
