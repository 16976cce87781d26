"""Alert subscriptions of a chat (or of one forum topic): what it hears, and when.

/subscribe, /unsubscribe and /subscriptions manage *what* (areas, single kinds, an optional
subject filter); /mute, /quiet and /timezone manage *when*. Everything is kept per chat AND per
forum topic, because a dispatcher group often splits drivers and wagons into topics.

The subscriptions of one filter are treated as a set of kinds and stored in canonical form
(``all`` > ``area:x`` > ``kind:y``): unsubscribing ``drivers`` from a chat that has ``all`` then
leaves the other areas, which is what people mean, instead of silently doing nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from aiogram import Router, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.access import role_name
from bot.callbacks import SubscriptionsCb
from bot.i18n import PoI18n
from bot.ownership import Ownership, Viewer
from bot.policy import change_role, may_change, rule
from bot.settings.chat import QUIET_HOURS, ZONE
from bot.settings.kinds import find_zone
from bot.settings.registry import ChatKey
from bot.settings.values import SettingsValues
from bot.texts import answer_lines, answer_usage
from handlers.silences import SilenceLiftCb, answer_silences, lift_pressed
from handlers.subscription_views import (
    choice_lines,
    clock,
    describe,
    keyboard_view,
    prefs_lines,
    selector_title,
    subscription_lines,
    tapped_selector,
)
from handlers.subscription_words import (
    ALL,
    OFF_WORDS,
    ZONE_EXAMPLES,
    covered,
    parse_duration,
    parse_quiet,
    parse_selection,
    plan,
)
from storage import Repos
from storage.db import utcnow
from storage.subscriptions import ChatPrefs
from storage.users import Role, User


# --- shared handler steps -------------------------------------------------------------------
def names_system(selector: str) -> bool:
    """A selector that asks for the system area by name (``all`` does not: it means the areas
    this chat may hear)."""
    return selector == "area:system" or selector.startswith("kind:system.")


def may_hear_system(message: Message, role: Role) -> bool:
    """System alerts (integration errors, event ids) are for admins, in private."""
    return message.chat.type == "private" and role is Role.ADMIN


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
    seen: tuple[Viewer, Ownership] | None = None,
) -> None:
    """The text form of /subscribe and /unsubscribe; no words shows the keyboard. A filter
    naming an order, a task or a wagon (``seen``: who asks) subscribes only to one the person
    may see here: watching makes a chat see the item (bot/ownership.py)."""
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
    if subscribe and not may_hear_system(message, role) and any(map(names_system, selectors)):
        await message.answer(_("alerts.system_admins_only"))
        return
    if subscribe and seen is not None and not await seen[1].may_watch(seen[0], selection.filter):
        await message.answer(_("alerts.not_yours").format(filter=html.quote(selection.filter)))
        return
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
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    await change_by_words(
        message,
        command,
        repos,
        user,
        role,
        i18n,
        timezone,
        subscribe=True,
        seen=(viewer, ownership),
    )


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
        if on and names_system(selector) and not may_hear_system(message, role):
            await callback.answer(_("alerts.system_admins_only"), show_alert=True)
            return
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
    target = chat_target(message)
    await answer_silences(message, repos, target, await repos.subscriptions.zone(*target, timezone))


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
    settings_values: SettingsValues,
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
    place = ChatKey(chat_id, thread_id)
    if arg.lower() in OFF_WORDS:
        # The chat's quiet-hours setting (bot/settings/chat.py): /settings shows the same value.
        await settings_values.set(QUIET_HOURS, None, by=user.id, chat=place)
        await message.answer(_("alerts.quiet_off"))
        return
    window = parse_quiet(arg)
    if window is None:
        await answer_usage(message, "quiet")
        return
    start, end = window
    await settings_values.set(QUIET_HOURS, window, by=user.id, chat=place)
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
    settings_values: SettingsValues,
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
    await settings_values.set(ZONE, zone, by=user.id, chat=ChatKey(chat_id, thread_id))
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
    # Lifting a silence takes the right to set one.
    router.callback_query.register(
        lift_pressed, SilenceLiftCb.filter(), flags=rule("button.alert_silence")
    )
    router.message.register(mute, Command("mute"), flags=rule("mute"))
    router.message.register(unmute, Command("unmute"), flags=rule("unmute"))
    router.message.register(quiet, Command("quiet"), flags=rule("quiet"))
    router.message.register(set_timezone, Command("timezone"), flags=rule("timezone"))
    return router
