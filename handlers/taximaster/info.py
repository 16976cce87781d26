"""/taxi_cost (the price without ordering), /crews (crews on line, a map point each on
request) and /tariffs (tariffs, services, discounts)."""

from __future__ import annotations

import logging

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.i18n import PoI18n
from bot.texts import TELEGRAM_TEXT_LIMIT, answer_lines, answer_usage, split_lines
from handlers.taximaster.callbacks import CrewMapCb
from handlers.taximaster.parsing import split_route
from handlers.taximaster.render import (
    crews_keyboard,
    q,
    render_crews,
    render_tariffs,
)
from handlers.taximaster.taxi_wizard import price_lines
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.errors import TaxiMasterCoordsNotFound, TaxiMasterError
from storage.db import utcnow

log = logging.getLogger(__name__)


async def taxi_cost(
    message: Message,
    command: CommandObject,
    taximaster: TaxiMasterClient,
    settings: Settings,
    i18n: PoI18n,
) -> None:
    if not (command.args or "").strip():
        await answer_usage(message, "taxi_cost")
        return
    route = split_route(command.args or "")
    if route is None:
        log.debug("/taxi_cost: no '<from> — <to>' in %r", (command.args or "")[:80])
        await message.answer(
            _("taximaster.cost.bad_route").format(text=html.quote((command.args or "")[:80]))
        )
        return
    source, dest = route
    lines, _total = await price_lines(
        taximaster, settings, i18n, source, dest, utcnow(), is_prior=False
    )
    head = _("taximaster.cost.title").format(source=q(source), dest=q(dest))
    await message.answer("\n".join([head, *lines]))


async def crews(message: Message, taximaster: TaxiMasterClient) -> None:
    rows = await taximaster.get_crews_coords()
    rows = sorted(rows, key=lambda c: (c.crew_code or "", c.crew_id))
    lines = render_crews(rows)
    keyboard = crews_keyboard(rows)
    if keyboard is None:
        await answer_lines(message, lines)
        return
    # The buttons go under the last part of the list.
    *rest, last = split_lines(lines, TELEGRAM_TEXT_LIMIT - 200) or [""]
    for chunk in rest:
        await message.answer(chunk)
    await message.answer(last + "\n\n" + _("taximaster.crews.map_hint"), reply_markup=keyboard)


async def crew_map_pressed(
    callback: CallbackQuery,
    callback_data: CrewMapCb,
    taximaster: TaxiMasterClient,
    i18n: PoI18n,
) -> None:
    try:
        rows = await taximaster.get_crews_coords(callback_data.crew_id)
    except TaxiMasterCoordsNotFound:
        rows = []
    except TaxiMasterError as exc:
        await callback.answer(exc.message_for(i18n.current_locale)[:200], show_alert=True)
        return
    row = next((r for r in rows if r.crew_id == callback_data.crew_id and r.has_fix), None)
    if row is None or row.lat is None or row.lon is None:
        await callback.answer(_("taximaster.crews.no_position"), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer_location(row.lat, row.lon)


async def tariffs(message: Message, taximaster: TaxiMasterClient, settings: Settings) -> None:
    tariff_list = await taximaster.get_tariffs_list()
    services = await taximaster.get_services_list()
    discounts = await taximaster.get_discounts_list()
    default = settings.taximaster_tariff_id
    if default is None and tariff_list:
        default = tariff_list[0].id
    await answer_lines(message, render_tariffs(tariff_list, services, discounts, default))
