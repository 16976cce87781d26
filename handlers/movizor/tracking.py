"""/untrack and /reactivate."""

from __future__ import annotations

from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.confirm import ask_to_confirm, on_confirm
from bot.i18n import PoI18n
from bot.phones import format_phone
from handlers.movizor.directory import learn_title, try_learn_title
from handlers.movizor.parsing import error_text, only_phone
from handlers.movizor.render import driver_title
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import MovizorError
from storage import Repos
from storage.confirmations import Confirmation
from storage.users import User


async def untrack(
    message: Message, command: CommandObject, movizor: MovizorClient, repos: Repos, user: User
) -> None:
    phone = await only_phone(message, command.args, "untrack")
    if phone is None:
        return
    title = await learn_title(phone, movizor, repos)
    await ask_to_confirm(
        message,
        repos,
        user_id=user.id,
        action="movizor.untrack",
        payload={"phone": phone, "title": title or ""},
        question=_("drivers.untrack.confirm").format(
            title=driver_title(title, phone), phone=format_phone(phone)
        ),
    )


@on_confirm("movizor.untrack", rule="untrack")
async def untrack_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    movizor: MovizorClient,
    repos: Repos,
    i18n: PoI18n,
) -> str:
    """The first object_delete switches tracking off, a second one deletes the phone."""
    phone, title = str(confirmation.payload["phone"]), str(confirmation.payload["title"])
    try:
        result = await movizor.object_delete(phone)
    except MovizorError as exc:  # the 24 h / 1 h rules, "still switching off"
        return error_text(exc, i18n)
    action = "movizor.disable" if result.disabled else "movizor.delete"
    await repos.audit.record(confirmation.user_id, action, phone, title=title)
    values = {"title": driver_title(title, phone), "phone": format_phone(phone), "msisdn": phone}
    if result.disabled:
        return _("drivers.untrack.disabled").format(**values)
    return _("drivers.untrack.deleted").format(**values)


async def reactivate(
    message: Message, command: CommandObject, movizor: MovizorClient, repos: Repos, user: User
) -> None:
    phone = await only_phone(message, command.args, "reactivate")
    if phone is None:
        return
    await movizor.object_reactivate(phone)
    await repos.audit.record(user.id, "movizor.reactivate", phone)
    title = await try_learn_title(phone, movizor, repos)
    await message.answer(
        _("drivers.reactivate.done").format(
            title=driver_title(title, phone), phone=format_phone(phone)
        )
    )
