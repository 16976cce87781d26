"""Alert subscriptions of a chat (or of one forum topic): what it hears, and when.

/subscribe, /unsubscribe and /subscriptions manage *what* (areas, single kinds, an optional
subject filter); /mute, /quiet and /timezone manage *when*. Everything is kept per chat AND per
forum topic, because a dispatcher group often splits drivers and wagons into topics.

The subscriptions of one filter are treated as a set of kinds and stored in canonical form
(``all`` > ``area:x`` > ``kind:y``): unsubscribing ``drivers`` from a chat that has ``all`` then
leaves the other areas, which is what people mean, instead of silently doing nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from aiogram import Router, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.access import role_name
from bot.alerts.kinds import AREAS, KINDS, matches, resolve_selector
from bot.callbacks import SubscriptionsCb
from bot.i18n import PoI18n
from bot.phones import format_phone, possible_phone
from bot.policy import change_role, may_change, rule
from bot.texts import answer_lines, answer_usage
from storage import Repos
from storage.db import utcnow
from storage.subscriptions import ChatPrefs, Subscription
from storage.users import Role, User

ALL = "all"
KINDS_PER_PAGE = 10
MAX_MUTE_MINUTES = 7 * 24 * 60
ON, OFF, PARTLY = "✅", "▫️", "◐"

# Words people type for an area, besides the area's own name (resolve_selector knows those).
AREA_WORDS = {
    "водители": "drivers",
    "водитель": "drivers",
    "driver": "drivers",
    "задачи": "tasks",
    "задача": "tasks",
    "task": "tasks",
    "такси": "taxi",
    "вагоны": "wagons",
    "вагон": "wagons",
    "контейнеры": "wagons",
    "wagon": "wagons",
    "система": "system",
    "системные": "system",
}
# The Russian word shown next to each area in the list of valid choices.
AREA_RU = {
    "drivers": "водители",
    "tasks": "задачи",
    "taxi": "такси",
    "wagons": "вагоны",
    "system": "система",
}
# `prefix:value` filters (Russian prefixes too) -> the subject type the pipeline compares with.
FILTER_PREFIXES = {
    "tag": "tag",
    "тег": "tag",
    "driver": "driver",
    "водитель": "driver",
    "phone": "driver",
    "тел": "driver",
    "task": "task",
    "задача": "task",
    "order": "order",
    "заказ": "order",
    "wagon": "wagon",
    "вагон": "wagon",
    "container": "container",
    "контейнер": "container",
}
OFF_WORDS = frozenset({"off", "no", "none", "выкл", "нет", "-"})
ZONE_EXAMPLES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Vladivostok",
)


# --- parsing (pure) -------------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """What `/subscribe …` asked for: selectors, one subject filter, and what made no sense."""

    selectors: tuple[str, ...] = ()
    filter: str = ""
    unknown: tuple[str, ...] = ()
    bad_filter: str | None = None


_PHONE_TOKEN = re.compile(r"[+\d()\-]*\d[+\d()\-]*")
_ID_VALUE = re.compile(r"[\w\-/.]{1,40}")
_SEPARATOR = re.compile(r"(?:^|\s)--(?:\s|$)")
_TOKEN_SPLIT = re.compile(r"[\s,;]+")


def parse_filter(text: str) -> str | None:
    """A subject filter the pipeline understands (`driver:7…`, `tag:…`, `task:…`), or None."""
    text = text.strip()
    prefix, colon, value = text.partition(":")
    if not colon:
        phone = possible_phone(text)
        return f"driver:{phone}" if phone else None
    subject = FILTER_PREFIXES.get(prefix.strip().lower())
    value = value.strip()
    if subject is None or not value:
        return None
    if subject == "driver":
        phone = possible_phone(value)
        return f"driver:{phone}" if phone else None
    if subject == "tag":
        return f"tag:{value}" if len(value) <= 64 else None
    if subject == "wagon":
        return f"wagon:{value}" if re.fullmatch(r"[0-9]{8}", value) else None
    if subject == "container":
        value = value.upper()
        return f"container:{value}" if re.fullmatch(r"[A-Z]{4}[0-9]{7}", value) else None
    return f"{subject}:{value}" if _ID_VALUE.fullmatch(value) else None


def resolve_word(word: str) -> list[str] | None:
    """A selector word in English or Russian: all / an area / a kind name."""
    found = resolve_selector(word)
    if found is not None:
        return found
    area = AREA_WORDS.get(word.strip().lower())
    return [f"area:{area}"] if area else None


def _tokens(text: str) -> list[str]:
    """Words of the arguments, with a phone typed in pieces (`+7 999 123-45-67`) kept whole."""
    tokens: list[str] = []
    phone_run = False
    for word in filter(None, _TOKEN_SPLIT.split(text)):
        is_phone = bool(_PHONE_TOKEN.fullmatch(word))
        if is_phone and phone_run:
            tokens[-1] += word
        else:
            tokens.append(word)
        phone_run = is_phone
    return tokens


def parse_selection(text: str) -> Selection:
    """`drivers driver.late tag:Склад` or `all -- +7 999 123 45 67`; at most one filter."""
    parts = _SEPARATOR.split(f" {text} ", maxsplit=1)
    selectors: list[str] = []
    filters: list[str] = []
    unknown: list[str] = []
    for word in _tokens(parts[0]):
        found = resolve_word(word)
        subject = None if found else parse_filter(word)
        if found:
            selectors += [s for s in found if s not in selectors]
        elif subject:
            filters.append(subject)
        else:
            unknown.append(word)
    if len(parts) > 1 and parts[1].strip():
        subject = parse_filter(parts[1])
        if subject is None:
            return Selection(tuple(selectors), unknown=tuple(unknown), bad_filter=parts[1].strip())
        filters.append(subject)
    if len(filters) > 1:
        return Selection(tuple(selectors), unknown=tuple(unknown), bad_filter=" ".join(filters))
    if ALL in selectors:
        selectors = [ALL]
    return Selection(tuple(selectors), filters[0] if filters else "", tuple(unknown))


_DURATION = re.compile(r"(?:\d{1,6}\s*[a-zа-яё]*\s*)+")
_DURATION_PART = re.compile(r"(\d{1,6})\s*([a-zа-яё]*)")
_UNIT_MINUTES = {
    **dict.fromkeys(("", "m", "min", "mins", "minute", "minutes"), 1),
    **dict.fromkeys(("м", "мин", "минута", "минуты", "минут"), 1),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "ч", "час", "часа", "часов"), 60),
    **dict.fromkeys(("d", "day", "days", "д", "дн", "день", "дня", "дней"), 24 * 60),
}


def parse_duration(text: str) -> timedelta | None:
    """`30m`, `2ч`, `1д`, `1h30m`, `90` (minutes) -> a duration up to 7 days, else None."""
    text = text.strip().lower()
    if not _DURATION.fullmatch(text):
        return None
    parts = _DURATION_PART.findall(text)
    if len(parts) > 1 and any(unit == "" for _number, unit in parts):
        return None  # `1 30`: ambiguous
    minutes = 0
    for number, unit in parts:
        if unit not in _UNIT_MINUTES:
            return None
        minutes += int(number) * _UNIT_MINUTES[unit]
    if not 0 < minutes <= MAX_MUTE_MINUTES:
        return None
    return timedelta(minutes=minutes)


_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?"
_QUIET = re.compile(rf"{_CLOCK}\s*(?:-|–|—|до|to)\s*{_CLOCK}")


def _clock(hours: str, minutes: str | None) -> time | None:
    h, m = int(hours), int(minutes or 0)
    return time(h, m) if h < 24 and m < 60 else None


def parse_quiet(text: str) -> tuple[time, time] | None:
    """`22:00-07:00`, `22-7`, `23.30–6.00` -> (start, end); the window may cross midnight."""
    found = _QUIET.fullmatch(text.strip().lower())
    if not found:
        return None
    start = _clock(found[1], found[2])
    end = _clock(found[3], found[4])
    if start is None or end is None or start == end:
        return None
    return start, end


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def find_zone(text: str) -> str | None:
    """The canonical IANA name for what was typed (any case), or None when unknown."""
    text = text.strip()
    name = _zone_names().get(text.lower(), text)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


# --- the set algebra of subscriptions (pure) ----------------------------------------------
def area_kinds(area: str) -> frozenset[str]:
    return frozenset(name for name, spec in KINDS.items() if spec.area == area)


def covered(selectors: Iterable[str]) -> frozenset[str]:
    """Every known kind the selectors let through."""
    selectors = list(selectors)
    return frozenset(k for k in KINDS if any(matches(s, k) for s in selectors))


def canonical(kinds: Set[str]) -> set[str]:
    """The fewest selectors for a set of kinds: `all`, whole areas, then single kinds."""
    if kinds >= KINDS.keys():
        return {ALL}
    selectors: set[str] = set()
    for area in AREAS:
        in_area = area_kinds(area)
        if in_area and in_area <= kinds:
            selectors.add(f"area:{area}")
        else:
            selectors |= {f"kind:{k}" for k in in_area & kinds}
    return selectors


def plan(
    current: Iterable[str], targets: Iterable[str], *, subscribe: bool
) -> tuple[set[str], set[str]]:
    """Rows to (add, remove) so the chat hears ``current`` plus/minus ``targets``.

    Nothing changes when the set of kinds heard stays the same, so rows someone wrote in
    another shape are left alone.
    """
    current = set(current)
    have, asked = covered(current), covered(targets)
    wanted = have | asked if subscribe else have - asked
    if wanted == have:
        return set(), set()
    result = canonical(wanted)
    return result - current, current - result


def selector_order(selector: str) -> tuple[int, int]:
    """all, then areas in registry order, then kinds in registry order."""
    if selector == ALL:
        return (0, 0)
    if selector.startswith("area:") and selector[5:] in AREAS:
        return (1, AREAS.index(selector[5:]))
    names = list(KINDS)
    name = selector.removeprefix("kind:")
    return (2, names.index(name) if name in names else len(names))


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


# --- shared handler steps -------------------------------------------------------------------
def chat_target(message: Message) -> tuple[int, int]:
    """(chat, topic): a forum topic is its own audience; everything else is topic 0."""
    thread = message.message_thread_id if message.is_topic_message else None
    return message.chat.id, thread or 0


async def refused(message: Message, role: Role, command: str) -> bool:
    """Answer as the access middleware would, when this chat's alerts are not theirs to set."""
    if may_change(command, message.chat.type, role):
        return False
    required = change_role(command, message.chat.type)
    assert required is not None
    await message.answer(
        _("access.forbidden").format(
            command=command, required=role_name(required), current=role_name(role)
        )
    )
    return True


async def unfiltered_selectors(repos: Repos, chat_id: int, thread_id: int) -> set[str]:
    subs = await repos.subscriptions.for_chat(chat_id, thread_id)
    return {s.selector for s in subs if not s.filter}


async def apply_change(
    repos: Repos,
    user: User,
    target: tuple[int, int],
    selectors: Iterable[str],
    filter_: str,
    *,
    subscribe: bool,
) -> bool:
    """Subscribe or unsubscribe and audit it; True when what the chat hears changed."""
    chat_id, thread_id = target
    subs = await repos.subscriptions.for_chat(chat_id, thread_id)
    current = {s.selector for s in subs if s.filter == filter_}
    selectors = list(selectors)
    add, remove = plan(current, selectors, subscribe=subscribe)
    if not (add or remove):
        return False
    await repos.subscriptions.change(
        chat_id, thread_id, filter_, add=add, remove=remove, by=user.id
    )
    action = "alerts.subscribe" if subscribe else "alerts.unsubscribe"
    await repos.audit.record(
        user.id,
        action,
        chat_id,
        selectors=",".join(selectors),
        filter=filter_,
        thread=thread_id,
    )
    return True


async def show_keyboard(message: Message, repos: Repos, i18n: PoI18n) -> None:
    chat_id, thread_id = chat_target(message)
    heard = covered(await unfiltered_selectors(repos, chat_id, thread_id))
    text, markup = keyboard_view("a", 0, heard, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def answer_subscriptions(
    message: Message, repos: Repos, i18n: PoI18n, default_tz: ZoneInfo, header: list[str]
) -> None:
    """``header`` lines, then what this chat (topic) receives and when."""
    chat_id, thread_id = chat_target(message)
    subs = await repos.subscriptions.for_chat(chat_id, thread_id)
    prefs = await repos.subscriptions.prefs(chat_id, thread_id)
    title = _("alerts.list.title_topic") if thread_id else _("alerts.list.title")
    lines = [*header, title]
    lines += subscription_lines(subs, i18n.current_locale) or [_("alerts.list.empty")]
    lines += prefs_lines(prefs, await repos.subscriptions.zone(chat_id, thread_id, default_tz))
    await answer_lines(message, lines)


# --- /subscribe, /unsubscribe -----------------------------------------------------------------
async def change_by_words(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    role: Role,
    i18n: PoI18n,
    timezone: ZoneInfo,
    *,
    subscribe: bool,
) -> None:
    """The text form of /subscribe and /unsubscribe; no words shows the keyboard."""
    if await refused(message, role, command.command):
        return
    if not (command.args or "").strip():
        await show_keyboard(message, repos, i18n)
        return
    selection = parse_selection(command.args or "")
    if selection.unknown:
        words = html.quote(", ".join(selection.unknown))
        await answer_lines(
            message, [_("alerts.unknown").format(words=words), *choice_lines(i18n.current_locale)]
        )
        return
    if selection.bad_filter is not None:
        bad = _("alerts.bad_filter").format(filter=html.quote(selection.bad_filter))
        await message.answer("\n".join([bad, _("alerts.filter_help")]))
        return
    selectors = selection.selectors or (ALL,)
    changed = await apply_change(
        repos, user, chat_target(message), selectors, selection.filter, subscribe=subscribe
    )
    what = describe(selectors, selection.filter, i18n.current_locale)
    if subscribe:
        header = _("alerts.subscribed") if changed else _("alerts.already")
    else:
        header = _("alerts.unsubscribed") if changed else _("alerts.not_subscribed")
    await answer_subscriptions(message, repos, i18n, timezone, [header.format(what=what), ""])


async def subscribe(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    role: Role,
    i18n: PoI18n,
    timezone: ZoneInfo,
) -> None:
    await change_by_words(message, command, repos, user, role, i18n, timezone, subscribe=True)


async def unsubscribe(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    role: Role,
    i18n: PoI18n,
    timezone: ZoneInfo,
) -> None:
    await change_by_words(message, command, repos, user, role, i18n, timezone, subscribe=False)


async def keyboard_pressed(
    callback: CallbackQuery,
    callback_data: SubscriptionsCb,
    repos: Repos,
    user: User,
    role: Role,
    i18n: PoI18n,
) -> None:
    """A tap toggles what it names (if anything) and redraws the keyboard in place."""
    message = callback.message
    if not isinstance(message, Message):
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    if not may_change("subscribe", message.chat.type, role):
        await callback.answer(_("access.callback_forbidden"), show_alert=True)
        return
    target = chat_target(message)
    toast = ""
    selector = tapped_selector(callback_data.sel)
    if selector is not None:
        heard = covered(await unfiltered_selectors(repos, *target))
        on = not covered([selector]) <= heard
        await apply_change(repos, user, target, [selector], "", subscribe=on)
        title = selector_title(selector, i18n.current_locale)
        toast = (_("alerts.toggled_on") if on else _("alerts.toggled_off")).format(what=title)
    heard = covered(await unfiltered_selectors(repos, *target))
    text, markup = keyboard_view(callback_data.view, callback_data.page, heard, i18n.current_locale)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in str(exc):
            raise  # a double tap redraws the same keyboard; anything else is a real error
    await callback.answer(toast)


# --- /subscriptions -----------------------------------------------------------------------------
async def subscriptions(message: Message, repos: Repos, i18n: PoI18n, timezone: ZoneInfo) -> None:
    await answer_subscriptions(message, repos, i18n, timezone, [])


# --- /mute, /unmute ---------------------------------------------------------------------------
async def mute(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    role: Role,
    timezone: ZoneInfo,
) -> None:
    if await refused(message, role, "mute"):
        return
    duration = parse_duration(command.args or "")
    if duration is None:
        await answer_usage(message, "mute")
        return
    chat_id, thread_id = chat_target(message)
    now = utcnow()
    until = now + duration
    await repos.subscriptions.set_mute(chat_id, thread_id, until)
    await repos.audit.record(
        user.id, "alerts.mute", chat_id, until=until.isoformat(), thread=thread_id
    )
    tz = await repos.subscriptions.zone(chat_id, thread_id, timezone)
    await message.answer(
        _("alerts.muted").format(time=clock(until, tz, now), zone=html.quote(tz.key))
    )


async def unmute(message: Message, repos: Repos, user: User, role: Role) -> None:
    if await refused(message, role, "unmute"):
        return
    chat_id, thread_id = chat_target(message)
    await repos.subscriptions.set_mute(chat_id, thread_id, None)
    await repos.audit.record(user.id, "alerts.unmute", chat_id, thread=thread_id)
    await message.answer(_("alerts.unmuted"))


# --- /quiet -------------------------------------------------------------------------------------
async def quiet(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    role: Role,
    timezone: ZoneInfo,
) -> None:
    chat_id, thread_id = chat_target(message)
    prefs = await repos.subscriptions.prefs(chat_id, thread_id)
    tz = await repos.subscriptions.zone(chat_id, thread_id, timezone)
    arg = (command.args or "").strip()
    if not arg:
        await show_quiet(message, prefs, tz)
        return
    if await refused(message, role, "quiet"):
        return
    if arg.lower() in OFF_WORDS:
        await repos.subscriptions.set_quiet(chat_id, thread_id, None, None)
        await repos.audit.record(user.id, "alerts.quiet", chat_id, window="off", thread=thread_id)
        await message.answer(_("alerts.quiet_off"))
        return
    window = parse_quiet(arg)
    if window is None:
        await answer_usage(message, "quiet")
        return
    start, end = window
    await repos.subscriptions.set_quiet(chat_id, thread_id, start, end)
    text_window = f"{clock(start, tz)}-{clock(end, tz)}"
    await repos.audit.record(user.id, "alerts.quiet", chat_id, window=text_window, thread=thread_id)
    await message.answer(
        _("alerts.quiet_set").format(
            start=clock(start, tz), end=clock(end, tz), zone=html.quote(tz.key)
        )
    )


async def show_quiet(message: Message, prefs: ChatPrefs, tz: ZoneInfo) -> None:
    if prefs.quiet_from is None or prefs.quiet_to is None:
        await message.answer(_("alerts.quiet_none"))
        return
    await message.answer(
        _("alerts.list.quiet").format(
            start=clock(prefs.quiet_from, tz), end=clock(prefs.quiet_to, tz)
        )
    )


# --- /timezone ----------------------------------------------------------------------------------
async def set_timezone(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    role: Role,
    timezone: ZoneInfo,
) -> None:
    chat_id, thread_id = chat_target(message)
    arg = (command.args or "").strip()
    if not arg:
        tz = await repos.subscriptions.zone(chat_id, thread_id, timezone)
        await message.answer(
            _("alerts.timezone_current").format(zone=html.quote(tz.key), time=clock(utcnow(), tz))
        )
        return
    if await refused(message, role, "timezone"):
        return
    if len(arg.split()) != 1:
        await answer_usage(message, "timezone")
        return
    zone = find_zone(arg)
    if zone is None:
        examples = ", ".join(f"<code>{name}</code>" for name in ZONE_EXAMPLES)
        await message.answer(
            _("alerts.timezone_unknown").format(zone=html.quote(arg), examples=examples)
        )
        return
    await repos.subscriptions.set_timezone(chat_id, thread_id, zone)
    await repos.audit.record(user.id, "alerts.timezone", chat_id, zone=zone, thread=thread_id)
    await message.answer(
        _("alerts.timezone_set").format(zone=html.quote(zone), time=clock(utcnow(), ZoneInfo(zone)))
    )


def make_router() -> Router:
    router = Router(name="subscriptions")
    router.message.register(subscribe, Command("subscribe"), flags=rule("subscribe"))
    router.message.register(unsubscribe, Command("unsubscribe"), flags=rule("unsubscribe"))
    router.callback_query.register(
        keyboard_pressed, SubscriptionsCb.filter(), flags=rule("button.subscriptions")
    )
    router.message.register(subscriptions, Command("subscriptions"), flags=rule("subscriptions"))
    router.message.register(mute, Command("mute"), flags=rule("mute"))
    router.message.register(unmute, Command("unmute"), flags=rule("unmute"))
    router.message.register(quiet, Command("quiet"), flags=rule("quiet"))
    router.message.register(set_timezone, Command("timezone"), flags=rule("timezone"))
    return router
