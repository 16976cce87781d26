"""Access control: the one middleware every message and callback query passes.

It runs as an *inner* middleware on the dispatcher, so it sees the handler that matched and reads
the access rule that handler names in its flags (``flags=rule("locate")``, see bot/policy.py).

- A stranger (no role) is refused politely; every admin is told once with one-tap grant buttons.
- In a group, only an approved chat is served.
- A user below the needed role (in this kind of chat) is told which role the command needs.
- A command of an integration that is not configured answers so.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import Bot, html
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import AccessRequestCb
from bot.i18n import PoI18n, locale_for
from bot.menus import publish_user_menu
from bot.ownership import viewer_of
from bot.policy import GROUP_TYPES, allows, rule_of
from bot.services import title_of
from storage import Repos
from storage.chats import ChatStatus
from storage.db import utcnow
from storage.users import Role, User

log = logging.getLogger(__name__)

# How long before the admins hear about the same stranger again.
STRANGER_RENOTIFY = timedelta(hours=24)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def role_name(role: Role | None) -> str:
    return _("role.none") if role is None else _(f"role.{role.value}")


def user_label(user: User | TgUser) -> str:
    """`Имя Фамилия (@username)` escaped for HTML."""
    name = user.full_name
    username = f" (@{user.username})" if user.username else ""
    return html.quote(f"{name}{username}")


class AccessMiddleware:
    def __init__(self, repos: Repos, i18n: PoI18n) -> None:
        self.repos = repos
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if get_flag(data, "system"):
            # Service messages (a group's migration) are facts about the chat, not requests.
            return await handler(event, data)
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return None
        user = await self._remember(tg_user, data["bot"])
        data["user"] = user
        data["role"] = user.role
        data["viewer"] = viewer_of(data, user)  # who asks, and where (bot/ownership.py)

        chat = data.get("event_chat")
        if chat is not None and chat.type in GROUP_TYPES:
            known = await self.repos.chats.get(chat.id)
            if known is None or known.status is not ChatStatus.APPROVED:
                log.info("ignoring update in unapproved chat", extra={"chat_id": chat.id})
                return None

        rule = rule_of(get_flag(data, "rule"))
        if user.role is None:
            await self._refuse_stranger(event, user, data["bot"])
            return None
        required = rule.required(chat.type if chat is not None else None)
        if not allows(user.role, required):
            assert required is not None
            await self._refuse_role(event, user.role, required)
            return None
        if rule.private_only and chat is not None and chat.type in GROUP_TYPES:
            # Say nothing of people or internals where everyone reads along.
            if isinstance(event, Message):
                await event.answer(_("access.private_only"))
            return None
        off = rule.unconfigured(lambda name: data.get(name) is not None)
        if off:
            await answer_integration_off(event, *off)
            return None
        return await handler(event, data)

    async def _remember(self, tg_user: TgUser, bot: Bot) -> User:
        """Load the user, writing only when the Telegram profile changed (a read per update)."""
        user = await self.repos.users.get(tg_user.id)
        first_contact = user is None or not user.seen
        profile = (tg_user.username, tg_user.first_name, tg_user.last_name)
        if (
            user is None
            or profile != (user.username, user.first_name, user.last_name)
            or (tg_user.language_code and tg_user.language_code != user.language_code)
        ):
            await self.repos.users.touch(
                tg_user.id,
                username=tg_user.username,
                first_name=tg_user.first_name,
                last_name=tg_user.last_name,
                language_code=tg_user.language_code,
            )
            user = await self.repos.users.get(tg_user.id)
            assert user is not None
            if first_contact and user.role is not None:
                # Granted by id before they ever wrote: now their menu can be set.
                await publish_user_menu(bot, self.i18n, user)
        return user

    async def _refuse_role(self, event: TelegramObject, current: Role, required: Role) -> None:
        if isinstance(event, CallbackQuery):
            await event.answer(_("access.callback_forbidden"), show_alert=True)
            return
        if isinstance(event, Message):
            command = (event.text or "/").split()[0].lstrip("/").split("@")[0]
            await event.answer(
                _("access.forbidden").format(
                    command=html.quote(command),
                    required=role_name(required),
                    current=role_name(current),
                )
            )

    async def _refuse_stranger(self, event: TelegramObject, user: User, bot: Bot) -> None:
        if isinstance(event, CallbackQuery):
            await event.answer(_("access.stranger"), show_alert=True)
        elif isinstance(event, Message):
            await event.answer(_("access.stranger"))
        claimed = await self.repos.users.claim_stranger_notice(
            user.id, not_since=utcnow() - STRANGER_RENOTIFY
        )
        if not claimed:
            return
        await self.repos.audit.record(user.id, "access.requested", user.id)
        await notify_admins_of_stranger(bot, self.repos, self.i18n, user)


async def answer_integration_off(event: TelegramObject, *services: str) -> None:
    """``services``: the one that is off, or all of several when none of them is on."""
    text = _("error.integration_off").format(name=" / ".join(title_of(s) for s in services))
    if isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
    elif isinstance(event, Message):
        await event.answer(text)


async def notify_admins_of_stranger(bot: Bot, repos: Repos, i18n: PoI18n, user: User) -> None:
    for admin in await repos.users.admins():
        with i18n.use_locale(locale_for(admin.language_code, i18n.default_locale)):
            username = f"@{user.username}" if user.username else _("access.no_username")
            text = _("access.admin_notice").format(
                name=html.quote(user.full_name), username=html.quote(username), id=user.id
            )
            keyboard = InlineKeyboardBuilder()
            keyboard.button(
                text=_("btn.grant_viewer"),
                callback_data=AccessRequestCb(user_id=user.id, role=Role.VIEWER.value),
            )
            keyboard.button(
                text=_("btn.grant_dispatcher"),
                callback_data=AccessRequestCb(user_id=user.id, role=Role.DISPATCHER.value),
            )
            keyboard.button(
                text=_("btn.ignore"), callback_data=AccessRequestCb(user_id=user.id, role="-")
            )
            keyboard.adjust(2, 1)
        try:
            await bot.send_message(admin.id, text, reply_markup=keyboard.as_markup())
        except TelegramAPIError as exc:
            # An admin who never opened the bot cannot be written to; the others still are.
            log.warning("could not tell admin %s about a stranger: %s", admin.id, exc)
