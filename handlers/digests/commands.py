"""/digest: the chat's (forum topic's) digest hour. ``/digest`` shows it, ``/digest 09:00``
sets it, ``/digest off`` turns the digest off; in a group setting it takes a dispatcher.

The hour is the chat's setting ``digest.hour`` (bot/digests/settings.py), in the chat's zone.
Set after today's hour has passed, the first digest comes tomorrow (the setting's change hook,
bot/digests/job.py, marks today as not owed, however the hour was set).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.digests.job import due_moment
from bot.digests.settings import DIGEST_EMPTY_DAY, DIGEST_HOUR
from bot.settings.registry import ChatKey, SettingError
from bot.settings.values import SettingsValues
from handlers.subscription_words import OFF_WORDS
from handlers.subscriptions import chat_target, refused
from storage import Repos
from storage.db import utcnow
from storage.users import Role, User


async def digest(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    role: Role,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
) -> None:
    chat_id, thread_id = chat_target(message)
    key = ChatKey(chat_id, thread_id)
    arg = (command.args or "").strip()
    if not arg:
        hour = await settings_values.get(DIGEST_HOUR, key)
        if hour is None:
            await message.answer(_("digest.current_off"))
            return
        empty = await settings_values.get(DIGEST_EMPTY_DAY, key)
        await message.answer(
            _("digest.current").format(
                time=f"{hour:%H:%M}",
                zone=html.quote(timezone.key),
                empty=html.quote(DIGEST_EMPTY_DAY.kind.render(empty)),
            )
        )
        return
    if await refused(message, role, "digest"):
        return
    if arg.lower() in OFF_WORDS:
        await settings_values.set(DIGEST_HOUR, None, by=user.id, chat=key)
        await message.answer(_("digest.turned_off"))
        return
    try:
        hour = DIGEST_HOUR.parse(arg)
    except SettingError as exc:
        await message.answer(_("digest.bad_hour").format(rule=html.quote(str(exc))))
        return
    if hour is None:  # "нет", "-": the digest off, as typed
        await settings_values.set(DIGEST_HOUR, None, by=user.id, chat=key)
        await message.answer(_("digest.turned_off"))
        return
    # An hour already past today starts tomorrow (the setting's change hook marks today).
    await settings_values.set(DIGEST_HOUR, hour, by=user.id, chat=key)
    passed = due_moment(hour, utcnow(), timezone) <= utcnow()
    first = _("digest.first_tomorrow") if passed else _("digest.first_today")
    text = _("digest.set").format(time=f"{hour:%H:%M}", zone=html.quote(timezone.key), first=first)
    if not await repos.subscriptions.for_chat(chat_id, thread_id):
        text += "\n" + _("digest.no_subscriptions")
    await message.answer(text)
