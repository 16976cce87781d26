"""/clients <query>, /client <id>, /employees: from the bot's own directories (a client's card
is one get-contractor)."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.phones import format_phone
from bot.texts import answer_lines, answer_usage
from handlers.mobiforce.callbacks import ClientCb
from handlers.mobiforce.render import render_contractor
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import MobiforceRejected
from storage import Repos

log = logging.getLogger(__name__)

MAX_FOUND: Final = 10
MAX_ID_DIGITS: Final = 12


async def clients(message: Message, command: CommandObject, repos: Repos) -> None:
    query = (command.args or "").strip()[:100]
    if not query:
        await answer_usage(message, "clients")
        return
    total = await repos.mobiforce.count("contractor", query)
    if not total:
        await message.answer(_("tasks.clients.none").format(query=html.quote(query)))
        return
    found = await repos.mobiforce.find("contractor", query, limit=MAX_FOUND)
    keyboard = InlineKeyboardBuilder()
    for entry in found:
        keyboard.button(text=entry.name[:64], callback_data=ClientCb(id=entry.id))
    keyboard.adjust(1)
    lines = [_("tasks.clients.found").format(query=html.quote(query), count=total)]
    if total > len(found):
        lines.append(_("tasks.clients.more").format(shown=len(found), count=total))
    await message.answer("\n".join(lines), reply_markup=keyboard.as_markup())


async def show_client(message: Message, contractor_id: int, mobiforce: MobiforceClient) -> None:
    try:
        contractor = await mobiforce.get_contractor(contractor_id)
    except MobiforceRejected:
        await message.answer(_("tasks.client.not_found").format(id=contractor_id))
        return
    await message.answer(render_contractor(contractor))


async def client(message: Message, command: CommandObject, mobiforce: MobiforceClient) -> None:
    text = (command.args or "").strip()
    if not text:
        await answer_usage(message, "client")
        return
    if not text.isdigit() or len(text) > MAX_ID_DIGITS:
        log.info("mobiforce /client: not an id: %r", text[:40])
        await message.answer(_("tasks.client.bad_id").format(text=html.quote(text[:40])))
        return
    await show_client(message, int(text), mobiforce)


async def client_pressed(
    callback: CallbackQuery, callback_data: ClientCb, mobiforce: MobiforceClient
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await show_client(callback.message, callback_data.id, mobiforce)


async def employees(message: Message, repos: Repos) -> None:
    everyone = await repos.mobiforce.all("employee")
    if not everyone:
        await message.answer(_("tasks.employees.none"))
        return
    mobile = [e for e in everyone if e.data.get("mobile")]
    office = [e for e in everyone if not e.data.get("mobile")]
    lines = [_("tasks.employees.title").format(count=len(everyone))]
    for title_key, group in (
        ("tasks.employees.mobile", mobile),
        ("tasks.employees.office", office),
    ):
        if not group:
            continue
        lines += ["", _(title_key)]
        for entry in group:
            phone = str(entry.data.get("phone") or "")
            line = f"• {html.quote(entry.name)}"
            if phone:
                line += f" · {html.quote(format_phone(phone))}"
            lines.append(line)
    await answer_lines(message, lines)
