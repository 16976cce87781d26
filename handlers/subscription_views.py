"""How a chat's subscriptions read: their lines in /subscriptions and the keyboard of
/subscribe (areas, then single kinds page by page)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.alerts.kinds import AREAS, KINDS
from bot.callbacks import SubscriptionsCb
from bot.phones import format_phone
from handlers.subscription_words import (
    ALL,
    AREA_RU,
    KINDS_PER_PAGE,
    OFF,
    ON,
    PARTLY,
    area_kinds,
    selector_order,
)
from storage.db import utcnow
from storage.subscriptions import ChatPrefs, Subscription


# --- rendering ------------------------------------------------------------------------------
def area_title(area: str) -> str:
    titles = {
        "drivers": _("area.drivers"),
        "tasks": _("area.tasks"),
        "taxi": _("area.taxi"),
        "wagons": _("area.wagons"),
        "system": _("alerts.area.system"),
    }
    return titles.get(area, area)


def selector_title(selector: str, locale: str) -> str:
    """A selector as people read it (plain text; quote before putting it into HTML)."""
    if selector == ALL:
        return _("alerts.area.all")
    if selector.startswith("area:"):
        return area_title(selector[5:])
    name = selector.removeprefix("kind:")
    spec = KINDS.get(name)
    return spec.title(locale) if spec else name


def filter_title(filter_: str) -> str:
    """`driver:79991234567` -> `водитель +7 999 123-45-67` (HTML, value escaped)."""
    subject, _colon, value = filter_.partition(":")
    if subject == "driver":
        value = format_phone(value)
    templates = {
        "driver": _("alerts.filter.driver"),
        "tag": _("alerts.filter.tag"),
        "task": _("alerts.filter.task"),
        "order": _("alerts.filter.order"),
        "wagon": _("alerts.filter.wagon"),
        "container": _("alerts.filter.container"),
    }
    template = templates.get(subject)
    if template is None:
        return html.quote(filter_)
    return template.format(value=html.quote(value))


def describe(selectors: Iterable[str], filter_: str, locale: str) -> str:
    """`Водители (Movizor), Такси — только водитель +7 …` (HTML)."""
    names = ", ".join(
        html.quote(selector_title(s, locale)) for s in sorted(set(selectors), key=selector_order)
    )
    if not filter_:
        return names
    return _("alerts.only").format(what=names, filter=filter_title(filter_))


def clock(moment: datetime | time, tz: ZoneInfo, now: datetime | None = None) -> str:
    """`14:30` today, `05.03 14:30` another day, in the chat's zone."""
    if isinstance(moment, time):
        return moment.strftime("%H:%M")
    local = moment.astimezone(tz)
    today = (now or utcnow()).astimezone(tz).date()
    return local.strftime("%H:%M" if local.date() == today else "%d.%m %H:%M")


def subscription_lines(subs: list[Subscription], locale: str) -> list[str]:
    """One line per filter: the unfiltered subscriptions first."""
    by_filter: dict[str, list[str]] = {}
    for sub in subs:
        by_filter.setdefault(sub.filter, []).append(sub.selector)
    return [
        _("alerts.list.item").format(what=describe(by_filter[f], f, locale))
        for f in sorted(by_filter, key=lambda f: (f != "", f))
    ]


def prefs_lines(prefs: ChatPrefs, tz: ZoneInfo) -> list[str]:
    """Mute, quiet hours and zone (the chat's effective one), as /subscriptions shows them."""
    now = utcnow()
    lines = []
    if prefs.muted_until is not None and prefs.muted_until > now:
        lines.append(_("alerts.list.muted").format(time=clock(prefs.muted_until, tz, now)))
    if prefs.quiet_from is not None and prefs.quiet_to is not None:
        lines.append(
            _("alerts.list.quiet").format(
                start=clock(prefs.quiet_from, tz), end=clock(prefs.quiet_to, tz)
            )
        )
    lines.append(_("alerts.list.timezone").format(zone=html.quote(tz.key)))
    return lines


def choice_lines(locale: str) -> list[str]:
    """Every word /subscribe understands, for an answer to one it does not."""
    lines = [_("alerts.choices.areas")]
    lines.append(_("alerts.choice").format(code=ALL, word="все", title=_("alerts.area.all")))
    for area in AREAS:
        lines.append(
            _("alerts.choice").format(
                code=area, word=AREA_RU[area], title=html.quote(area_title(area))
            )
        )
    lines += ["", _("alerts.choices.kinds")]
    for name, spec in KINDS.items():
        lines.append(
            _("alerts.choice_kind").format(code=name, title=html.quote(spec.title(locale)))
        )
    lines += ["", _("alerts.filter_help")]
    return lines


# --- the keyboard ---------------------------------------------------------------------------
def mark(wanted: frozenset[str], heard: frozenset[str]) -> str:
    if wanted <= heard:
        return ON
    return PARTLY if wanted & heard else OFF


def areas_keyboard(heard: frozenset[str]) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    for area in AREAS:
        keyboard.button(
            text=f"{mark(area_kinds(area), heard)} {area_title(area)}",
            callback_data=SubscriptionsCb(view="a", sel=area),
        )
    keyboard.button(
        text=f"{mark(frozenset(KINDS), heard)} {selector_title(ALL, '')}",
        callback_data=SubscriptionsCb(view="a", sel="*"),
    )
    keyboard.button(text=_("alerts.btn.kinds"), callback_data=SubscriptionsCb(view="k"))
    keyboard.adjust(1)
    return keyboard.as_markup()


def page_count() -> int:
    return max(1, -(-len(KINDS) // KINDS_PER_PAGE))


def kinds_keyboard(heard: frozenset[str], page: int, locale: str) -> InlineKeyboardMarkup:
    names = list(KINDS)[page * KINDS_PER_PAGE : (page + 1) * KINDS_PER_PAGE]
    keyboard = InlineKeyboardBuilder()
    for name in names:
        keyboard.button(
            text=f"{mark(frozenset({name}), heard)} {KINDS[name].title(locale)}",
            callback_data=SubscriptionsCb(view="k", page=page, sel=name),
        )
    keyboard.adjust(1)
    navigation = InlineKeyboardBuilder()
    if page > 0:
        navigation.button(
            text=_("alerts.btn.prev"), callback_data=SubscriptionsCb(view="k", page=page - 1)
        )
    if page + 1 < page_count():
        navigation.button(
            text=_("alerts.btn.next"), callback_data=SubscriptionsCb(view="k", page=page + 1)
        )
    navigation.button(text=_("alerts.btn.back"), callback_data=SubscriptionsCb(view="a"))
    navigation.adjust(2)
    keyboard.attach(navigation)
    return keyboard.as_markup()


def keyboard_view(
    view: str, page: int, heard: frozenset[str], locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and keyboard of one screen of the subscription keyboard."""
    if view == "k":
        page = min(max(page, 0), page_count() - 1)
        text = _("alerts.keyboard.kinds").format(page=page + 1, pages=page_count())
        return text, kinds_keyboard(heard, page, locale)
    return _("alerts.keyboard.areas"), areas_keyboard(heard)


def tapped_selector(sel: str) -> str | None:
    if sel == "*":
        return ALL
    if sel in AREAS:
        return f"area:{sel}"
    if sel in KINDS:
        return f"kind:{sel}"
    return None
