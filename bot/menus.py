"""Telegram's command menus (setMyCommands), per role and language.

Strangers and everyone by default see /start and /help; each user with a role gets a menu of
exactly the commands that role may use, in both languages (Telegram picks by the app language);
groups get the dispatcher's commands.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.commands import commands_for
from bot.i18n import SUPPORTED, PoI18n
from storage import Repos
from storage.users import Role, User

log = logging.getLogger(__name__)


def menu(i18n: PoI18n, role: Role | None, locale: str) -> list[BotCommand]:
    return [
        BotCommand(command=spec.name, description=i18n.gettext(spec.description_key, locale=locale))
        for spec in commands_for(role)
    ]


async def publish_default_menus(bot: Bot, i18n: PoI18n) -> None:
    for locale in SUPPORTED:
        language = None if locale == i18n.default_locale else locale
        await bot.set_my_commands(
            menu(i18n, None, locale), scope=BotCommandScopeDefault(), language_code=language
        )
        await bot.set_my_commands(
            menu(i18n, Role.DISPATCHER, locale),
            scope=BotCommandScopeAllGroupChats(),
            language_code=language,
        )


async def publish_user_menu(bot: Bot, i18n: PoI18n, user: User) -> None:
    """Set (or, for a user without a role, remove) a user's personal menu.

    A user who has never written to the bot gets theirs on their first message instead.
    """
    if not user.seen:
        return
    scope = BotCommandScopeChat(chat_id=user.id)
    try:
        for locale in SUPPORTED:
            language = None if locale == i18n.default_locale else locale
            if user.role is None:
                await bot.delete_my_commands(scope=scope, language_code=language)
            else:
                await bot.set_my_commands(
                    menu(i18n, user.role, locale), scope=scope, language_code=language
                )
    except TelegramAPIError as exc:  # e.g. the user has blocked the bot since
        log.info("menu for user %s not set: %s", user.id, exc)


async def publish_all_menus(bot: Bot, i18n: PoI18n, repos: Repos) -> None:
    """Every menu, at start, while the bot already answers: each user is read again just
    before their menu goes out, so a /grant meanwhile is not overwritten with the old role."""
    await publish_default_menus(bot, i18n)
    for listed in await repos.users.with_role():
        user = await repos.users.get(listed.id)
        if user is not None:
            await publish_user_menu(bot, i18n, user)
