"""/settings: the bot's settings for an admin in private (grouped by service and area), and a
chat's (topic's) own settings for the people in it — in a group changed by a dispatcher, in
private by the person themself.

Every change goes through SettingsValues (validated with the rule named, audited, applied
live). Choices are buttons; other values are typed as the answer to a ForceReply question
(`bot.prompts.ask`), which in a group only the person asked may answer: the wizard state is
theirs (aiogram's FSM is per chat and person), and a reply by someone else is answered and not
taken. A button is checked as the command is (the role it needs here, now) and lasts 10
minutes; after that it is answered and nothing changes.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.policy import GROUP_TYPES, change_role, may_change, rule
from bot.prompts import ask
from bot.settings.registry import ChatKey, Scope, Setting, SettingError, all_settings
from bot.settings.values import SettingsValues
from handlers.settings import screens
from handlers.settings.callbacks import CHAT, GLOBAL, SettingsCb
from handlers.subscriptions import chat_target
from storage import Repos
from storage.db import utcnow
from storage.users import Role, User

log = logging.getLogger(__name__)

BUTTONS_LAST = timedelta(minutes=10)


class SettingsFlow(StatesGroup):
    value = State()  # a typed value for the setting named in the state's data


def now_stamp() -> int:
    return int(utcnow().timestamp())


def place_of(message: Message) -> ChatKey:
    """The chat, and the forum topic when the message is in one (a topic has its own)."""
    return ChatKey(*chat_target(message))


def find(name: str) -> Setting[Any] | None:
    """A setting by its name or its environment variable (any case); never a secret."""
    wanted = name.strip().lower()
    for setting in all_settings():
        if wanted in (setting.name, (setting.env or "").lower()) and not setting.secret:
            return setting
    return None


def may_set(setting: Setting[Any], chat_type: str, role: Role | None) -> bool:
    """The bot's settings: an admin, in private. A chat's: who may change its alerts there."""
    if setting.scope is Scope.GLOBAL:
        return role is Role.ADMIN and chat_type not in GROUP_TYPES
    return may_change("settings", chat_type, role)


def refusal(setting: Setting[Any], chat_type: str) -> str:
    if setting.scope is Scope.GLOBAL:
        return _("settings.admins_only")
    required = change_role("settings", chat_type)
    return _("settings.role_needed").format(role=_(f"role.{required.value if required else ''}"))


# --- /settings ----------------------------------------------------------------------------
async def settings_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    repos: Repos,
    user: User,
    role: Role,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
) -> None:
    """`/settings`: the screen; `/settings <name>`: that setting; `/settings <name> <value>`:
    set it (the same rules as the buttons)."""
    args = (command.args or "").strip()
    at = now_stamp()
    private = message.chat.type not in GROUP_TYPES
    if not args:
        if private and role is Role.ADMIN:
            text, markup = screens.home_screen(at)
        else:
            text, markup = await screens.chat_screen(
                place_of(message), settings_values, repos, timezone, at, with_back=False
            )
        await message.answer(text, reply_markup=markup)
        return
    name, _sep, value = args.partition(" ")
    setting = find(name)
    if setting is None or (setting.scope is Scope.GLOBAL and not (private and role is Role.ADMIN)):
        log.info("/settings: no setting %r here", name[:60], extra={"user_id": user.id})
        await message.answer(_("settings.unknown").format(name=html.quote(name[:60])))
        return
    chat = None if setting.scope is Scope.GLOBAL else place_of(message)
    if not value.strip():
        scope = GLOBAL if chat is None else CHAT
        section = (setting.service or screens.GENERAL) if chat is None else ""
        text, markup = await screens.setting_screen(
            setting, scope, chat, settings_values, repos, timezone, at, section
        )
        await message.answer(text, reply_markup=markup)
        return
    if not may_set(setting, message.chat.type, role):
        await message.answer(refusal(setting, message.chat.type))
        return
    await state.clear()
    await apply_typed(message, setting, chat, value, user, settings_values)


async def apply_typed(
    message: Message,
    setting: Setting[Any],
    chat: ChatKey | None,
    text: str,
    user: User,
    values: SettingsValues,
) -> bool:
    """Parse, validate and set a typed value; a refusal names the rule. True when set."""
    try:
        value = values.parse(setting, text)
        await values.set(setting, value, by=user.id, chat=chat)
    except SettingError as exc:
        log.info(
            "setting %s refused %r: %s",
            setting.name,
            text[:60],
            exc.rule_key,
            extra={"user_id": user.id, "chat_id": message.chat.id},
        )
        await message.answer(
            _("settings.refused").format(label=html.quote(setting.label), rule=html.quote(str(exc)))
        )
        return False
    await message.answer(done_text(setting, value))
    return True


def done_text(setting: Setting[Any], value: Any) -> str:
    return _("settings.done").format(
        title=screens.title(setting), value=html.quote(setting.kind.render(value))
    )


# --- buttons ------------------------------------------------------------------------------
async def button_pressed(
    callback: CallbackQuery,
    callback_data: SettingsCb,
    state: FSMContext,
    repos: Repos,
    user: User,
    role: Role,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
    questions: dict[tuple[int, int], int],
) -> None:
    message = callback.message
    if not isinstance(message, Message):
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    issued = callback_data.at
    if utcnow().timestamp() - issued > BUTTONS_LAST.total_seconds():
        await callback.answer(_("settings.expired"), show_alert=True)
        return
    act, scope = callback_data.act, callback_data.scope
    private = message.chat.type not in GROUP_TYPES
    if scope == GLOBAL and not (private and role is Role.ADMIN):
        await callback.answer(_("settings.admins_only"), show_alert=True)
        return
    at = now_stamp()
    if act == "home":
        if scope == GLOBAL:
            await redraw(callback, *screens.home_screen(at))
        else:
            shown = await screens.chat_screen(
                place_of(message),
                settings_values,
                repos,
                timezone,
                at,
                with_back=private and role is Role.ADMIN,
            )
            await redraw(callback, *shown)
        return
    if act == "sec":
        await redraw(
            callback,
            *await screens.section_screen(callback_data.sec, settings_values, repos, timezone, at),
        )
        return
    setting = find(callback_data.name)
    if setting is None or (setting.scope is Scope.GLOBAL) != (scope == GLOBAL):
        await callback.answer(
            _("settings.unknown").format(name=html.quote(callback_data.name)), show_alert=True
        )
        return
    chat = None if scope == GLOBAL else place_of(message)
    if act != "open" and not may_set(setting, message.chat.type, role):
        await callback.answer(refusal(setting, message.chat.type), show_alert=True)
        return
    toast = ""
    if act == "pick":
        choices = setting.kind.choices() or []
        if not 0 <= callback_data.pick < len(choices):
            await callback.answer(_("error.button_expired"), show_alert=True)
            return
        try:
            await settings_values.set(setting, choices[callback_data.pick], by=user.id, chat=chat)
        except SettingError as exc:
            await callback.answer(str(exc), show_alert=True)
            return
        toast = _("settings.saved")
    elif act == "reset":
        await settings_values.reset(setting, by=user.id, chat=chat)
        toast = _("settings.reset_done")
    elif act == "type":
        await ask_value(callback, message, setting, scope, state, questions, settings_values, chat)
        return
    shown = await screens.setting_screen(
        setting, scope, chat, settings_values, repos, timezone, at, callback_data.sec
    )
    await redraw(callback, *shown, toast=toast)


async def ask_value(
    callback: CallbackQuery,
    message: Message,
    setting: Setting[Any],
    scope: str,
    state: FSMContext,
    questions: dict[tuple[int, int], int],
    values: SettingsValues,
    chat: ChatKey | None,
) -> None:
    current = setting.kind.render(await values.get(setting, chat))
    await state.set_state(SettingsFlow.value)
    await state.update_data(setting=setting.name, scope=scope)
    question = await ask(
        message,
        _("settings.ask").format(
            title=screens.title(setting),
            hint=html.quote(_(setting.kind.hint_key)),
            value=html.quote(current),
        ),
        who=callback.from_user,
    )
    _forget_old(questions)
    questions[(question.chat.id, question.message_id)] = callback.from_user.id
    await callback.answer()


def _forget_old(questions: dict[tuple[int, int], int], keep: int = 200) -> None:
    while len(questions) > keep:
        questions.pop(next(iter(questions)))


async def redraw(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup, *, toast: str = ""
) -> None:
    message = callback.message
    assert isinstance(message, Message)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:  # "message is not modified": the screen is right already
        log.debug("settings screen not redrawn: %s", exc)
    await callback.answer(toast)


# --- a typed value ------------------------------------------------------------------------
async def value_typed(
    message: Message,
    state: FSMContext,
    user: User,
    role: Role,
    settings_values: SettingsValues,
    questions: dict[tuple[int, int], int],
) -> None:
    data = await state.get_data()
    setting = find(str(data.get("setting") or ""))
    if setting is None:
        await state.clear()
        return
    if not may_set(setting, message.chat.type, role):  # the role may have changed meanwhile
        await state.clear()
        await message.answer(refusal(setting, message.chat.type))
        return
    chat = None if data.get("scope") == GLOBAL else place_of(message)
    if await apply_typed(message, setting, chat, message.text or "", user, settings_values):
        await state.clear()
        for key in [
            k for k, asker in questions.items() if asker == user.id and k[0] == message.chat.id
        ]:
            del questions[key]
        return
    # «Напишите ещё раз»: the question stays open for the next answer.
    question = await ask(message, _("settings.again"))
    questions[(question.chat.id, question.message_id)] = user.id


async def someone_elses(message: Message, questions: dict[tuple[int, int], int]) -> None:
    """A reply to a settings question asked of another person: answered, not taken."""
    log.info(
        "settings: a reply to someone else's question ignored",
        extra={
            "chat_id": message.chat.id,
            "user_id": message.from_user.id if message.from_user else None,
        },
    )
    await message.reply(_("settings.not_yours"))


def make_router() -> Router:
    router = Router(name="settings")
    # The questions asked, by (chat, message) -> the person asked (this app's, in memory: a
    # question left open by a restart is simply asked again).
    questions: dict[tuple[int, int], int] = {}

    def asked_someone_else(message: Message) -> bool:
        reply = message.reply_to_message
        if reply is None or message.from_user is None:
            return False
        asker = questions.get((message.chat.id, reply.message_id))
        return asker is not None and asker != message.from_user.id

    async def with_questions(handler: Any, event: Any, data: dict[str, Any]) -> Any:
        data["questions"] = questions
        return await handler(event, data)

    router.message.middleware(with_questions)
    router.callback_query.middleware(with_questions)
    typed = F.text & ~F.text.startswith("/")
    router.message.register(settings_command, Command("settings"), flags=rule("settings"))
    router.message.register(value_typed, SettingsFlow.value, typed, flags=rule("settings"))
    router.message.register(someone_elses, typed, asked_someone_else, flags=rule("settings"))
    router.callback_query.register(
        button_pressed, SettingsCb.filter(), flags=rule("button.settings")
    )
    return router
