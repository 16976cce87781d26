"""/start, /help, and what to say to anything the bot does not understand."""

from __future__ import annotations

import functools

from aiogram import F, Router, html
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.access import role_name
from bot.commands import AREAS, closest, commands_for
from bot.i18n import PoI18n
from bot.policy import rule
from bot.texts import command_usage
from storage.users import Role, User


async def start(message: Message, user: User) -> None:
    # Strangers never get here: the access middleware refuses them and tells the admins.
    await message.answer(
        _("start.welcome").format(name=html.quote(user.first_name), role=role_name(user.role))
    )


async def help_command(message: Message, role: Role, i18n: PoI18n) -> None:
    await message.answer(render_help(role, i18n.current_locale))


@functools.cache
def render_help(role: Role, locale: str) -> str:
    """The same for every user of a role and language, so it is rendered once.

    ``locale`` is part of the cache key; the text itself comes from the current i18n context,
    which the locale middleware has set to that same locale.
    """
    lines = [_("help.title").format(role=role_name(role))]
    specs = commands_for(role)
    for area in AREAS:
        in_area = [spec for spec in specs if spec.area == area]
        if not in_area:
            continue
        lines.append("")
        lines.append(f"<b>{_(f'area.{area}')}</b>")
        for spec in in_area:
            usage = command_usage(spec.name).splitlines()[0]
            lines.append(f"{html.quote(usage)} — {_(spec.description_key)}")
    lines += ["", _("help.footer")]
    return "\n".join(lines)


async def unknown_command(message: Message, role: Role | None) -> None:
    name = (message.text or "/").split()[0][1:].split("@")[0]
    lines = [_("error.unknown_command").format(command=html.quote(name))]
    suggestion = closest(name, role)
    if suggestion:
        lines.append(_("error.did_you_mean").format(suggestion=suggestion))
    lines.append(_("error.see_help"))
    await message.answer("\n".join(lines))


async def not_a_command(message: Message) -> None:
    await message.answer(_("error.not_a_command"))


async def cancel(message: Message, state: FSMContext) -> None:
    """Leave whatever wizard the user is in (every service's wizards share one /cancel)."""
    if await state.get_state() is None:
        await message.answer(_("drivers.wizard.nothing"))
        return
    await state.clear()
    await message.answer(_("drivers.wizard.cancelled"))


def make_router() -> Router:
    router = Router(name="common")
    router.message.register(cancel, Command("cancel"), flags=rule("cancel"))
    router.message.register(start, CommandStart(), flags=rule("start"))
    router.message.register(help_command, Command("help"), flags=rule("help"))
    return router


def make_fallback_router() -> Router:
    """Included last, after every area's router: what nobody else understood."""
    router = Router(name="fallback")
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(not_a_command, F.chat.type == "private")
    return router
