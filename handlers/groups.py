"""The bot's own membership in chats: added, removed, blocked, and groups becoming supergroups.

A group is approved when an admin of the bot adds it; the bot leaves a group a non-admin added it
to. ``my_chat_member`` updates keep the chats table true.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router, html
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import JOIN_TRANSITION, LEAVE_TRANSITION, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _

from bot.access import GROUP_TYPES, user_label
from bot.i18n import PoI18n, locale_for
from storage import Repos
from storage.chats import ChatStatus
from storage.users import Role

log = logging.getLogger(__name__)


async def tell_admins(bot: Bot, repos: Repos, i18n: PoI18n, key: str, **values: object) -> None:
    for admin in await repos.users.admins():
        with i18n.use_locale(locale_for(admin.language_code, i18n.default_locale)):
            text = _(key).format(**values)
        try:
            await bot.send_message(admin.id, text)
        except TelegramAPIError as exc:
            log.info("could not tell admin %s: %s", admin.id, exc)


async def bot_added(event: ChatMemberUpdated, bot: Bot, repos: Repos, i18n: PoI18n) -> None:
    chat, by = event.chat, event.from_user
    adder = await repos.users.get(by.id)
    title = chat.title or str(chat.id)
    if adder is not None and adder.role is Role.ADMIN:
        await repos.chats.upsert(
            chat.id, type=chat.type, title=title, status=ChatStatus.APPROVED, added_by=by.id
        )
        await repos.audit.record(by.id, "chat.added", chat.id, title=title)
        await bot.send_message(chat.id, _("group.welcome").format(admin=user_label(by)))
        return
    log.warning("bot added to chat %s by non-admin %s: leaving", chat.id, by.id)
    await repos.chats.upsert(
        chat.id, type=chat.type, title=title, status=ChatStatus.DISABLED, added_by=by.id
    )
    await repos.audit.record(by.id, "chat.refused", chat.id, title=title)
    try:
        await bot.send_message(chat.id, _("group.leaving"))
    except TelegramAPIError as exc:
        log.info("could not say goodbye in %s: %s", chat.id, exc)
    await bot.leave_chat(chat.id)
    await tell_admins(
        bot,
        repos,
        i18n,
        "admin.group_left_notice",
        name=html.quote(by.full_name),
        id=by.id,
        title=html.quote(title),
    )


async def bot_removed(event: ChatMemberUpdated, bot: Bot, repos: Repos, i18n: PoI18n) -> None:
    chat = event.chat
    known = await repos.chats.get(chat.id)
    if known is None or known.status is ChatStatus.DISABLED:
        return  # we left on our own (a stranger's group), nothing new to say
    await repos.chats.set_status(chat.id, ChatStatus.DISABLED)
    await repos.audit.record(event.from_user.id, "chat.removed", chat.id, title=known.title)
    await tell_admins(
        bot, repos, i18n, "admin.group_kicked_notice", title=html.quote(known.title), id=chat.id
    )


async def group_migrated(message: Message, repos: Repos) -> None:
    """A group upgraded to a supergroup: its approval, subscriptions and queued alerts follow."""
    new_id = message.migrate_to_chat_id
    assert new_id is not None
    await repos.chats.move(message.chat.id, new_id)
    await repos.subscriptions.move_chat(message.chat.id, new_id)
    await repos.audit.record(None, "chat.migrated", message.chat.id, to=new_id)
    log.info("chat %s migrated to %s", message.chat.id, new_id)


def make_router() -> Router:
    router = Router(name="groups")
    router.my_chat_member.filter(F.chat.type.in_(GROUP_TYPES))
    router.my_chat_member.register(bot_added, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    router.my_chat_member.register(bot_removed, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    router.message.register(group_migrated, F.migrate_to_chat_id, flags={"system": True})
    return router
