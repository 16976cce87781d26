"""/follow and /unfollow: a driver's live location in the chat."""

from __future__ import annotations

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n
from bot.phones import format_phone
from handlers.movizor.directory import learn_title
from handlers.movizor.live_locations import LiveLocations
from handlers.movizor.parsing import only_phone, topic_of
from handlers.movizor.render import driver_title
from integrations.movizor.client import MovizorClient
from storage import Repos


async def follow(
    message: Message,
    command: CommandObject,
    movizor: MovizorClient,
    repos: Repos,
    live_locations: LiveLocations,
    i18n: PoI18n,
) -> None:
    phone = await only_phone(message, command.args, "follow")
    if phone is None:
        return
    chat_id, thread = message.chat.id, topic_of(message)
    title = await learn_title(phone, movizor, repos)
    name = driver_title(title, phone)
    if live_locations.get(chat_id, thread, phone) is not None:
        await message.answer(_("drivers.follow.already").format(title=name, msisdn=phone))
        return
    position = await movizor.pos_last(phone)
    if not position.has_fix:
        await message.answer(_("drivers.follow.no_fix").format(title=name, msisdn=phone))
        return
    await live_locations.follow(
        chat_id,
        thread,
        phone,
        title=title or format_phone(phone),
        locale=i18n.current_locale,
        position=position,
    )
    await message.answer(
        _("drivers.follow.started").format(
            title=name,
            minutes=max(live_locations.poll_seconds // 60, 1),
            hours=live_locations.live_period // 3600,
            msisdn=phone,
        )
    )


async def unfollow(message: Message, command: CommandObject, live_locations: LiveLocations) -> None:
    phone = await only_phone(message, command.args, "unfollow")
    if phone is None:
        return
    stopped = await live_locations.unfollow(message.chat.id, topic_of(message), phone)
    if stopped is None:
        await message.answer(_("drivers.unfollow.none").format(phone=format_phone(phone)))
        return
    await message.answer(_("drivers.unfollow.done").format(title=html.quote(stopped.title)))
