"""The bot's own membership in chats: added, removed, blocked, and groups becoming supergroups.

A group is approved when an admin of the bot adds it; the bot leaves a group a non-admin added it
to. ``my_chat_member`` updates keep the chats table true.
"""

from __future__ import annotations

import asyncio
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

# How long a join from a non-admin waits for a migration's service message (they come within a
# second of each other) before it is taken for a stranger adding the bot.
MIGRATION_GRACE_SECONDS = 5.0


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
    known = await repos.chats.get(chat.id)
    if known is not None and known.status is ChatStatus.APPROVED:
        return  # an approved group that became a supergroup: its move got here first
    adder = await repos.users.get(by.id)
    title = chat.title or str(chat.id)
    if adder is not None and adder.role is Role.ADMIN:
        await repos.chats.upsert(
            chat.id, type=chat.type, title=title, status=ChatStatus.APPROVED, added_by=by.id
        )
        await repos.audit.record(by.id, "chat.added", chat.id, title=title)
        await bot.send_message(chat.id, _("group.welcome").format(admin=user_label(by)))
        return
    if chat.type == "supergroup" and await became_supergroup(repos, chat.id):
        return  # the join was Telegram announcing an upgrade, not a stranger adding the bot
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


async def became_supergroup(repos: Repos, chat_id: int) -> bool:
    """When a group is upgraded, Telegram sends the bot a join for the NEW id (from whoever
    upgraded it) besides the two migration service messages, in no fixed order. A join from a
    non-admin may therefore be an upgrade whose service message is still on its way: wait a
    little for the old group's approval to arrive under this id before treating it as a
    stranger adding the bot."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MIGRATION_GRACE_SECONDS
    while loop.time() < deadline:
        known = await repos.chats.get(chat_id)
        if known is not None and known.status is ChatStatus.APPROVED:
            return True
        await asyncio.sleep(0.1)
    return False


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
    """A group upgraded to a supergroup: its approval, subscriptions, settings and queued alerts
    follow. Either service message (migrate_to in the old chat, migrate_from in the new one)
    moves it; whichever comes second finds nothing left to move."""
    if message.migrate_to_chat_id is not None:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    else:
        assert message.migrate_from_chat_id is not None
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    if await repos.chats.move(old_id, new_id):
        await repos.audit.record(None, "chat.migrated", old_id, to=new_id)
        log.info("chat %s migrated to %s", old_id, new_id)


def make_router() -> Router:
    router = Router(name="groups")
    router.my_chat_member.filter(F.chat.type.in_(GROUP_TYPES))
    router.my_chat_member.register(bot_added, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    router.my_chat_member.register(bot_removed, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    router.message.register(
        group_migrated, F.migrate_to_chat_id | F.migrate_from_chat_id, flags={"system": True}
    )
    return router
