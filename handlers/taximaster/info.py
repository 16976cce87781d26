"""/taxi_cost (the price without ordering), /crews (crews on line by call sign, car and
driver, a map point each on request) and /tariffs (tariffs, services, discounts)."""

from __future__ import annotations

import asyncio
import logging
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n
from bot.settings.values import SettingsValues
from bot.texts import answer_lines, answer_usage
from handlers.taximaster.addresses import Lookup as AddressLookup
from handlers.taximaster.addresses import look_up
from handlers.taximaster.callbacks import CrewMapCb, CrewsPageCb
from handlers.taximaster.parsing import split_route
from handlers.taximaster.pricing import default_tariff, price_lines
from handlers.taximaster.render import (
    CREWS_PAGE,
    by_state,
    crews_keyboard,
    point_caption,
    q,
    render_crews,
    render_tariffs,
)
from handlers.taximaster.settings import tariff_rules
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.crews import CrewIdentity
from integrations.taximaster.errors import TaxiMasterCoordsNotFound, TaxiMasterError
from storage.db import utcnow

log = logging.getLogger(__name__)

MAX_OPTIONS = 5


async def taxi_cost(
    message: Message,
    command: CommandObject,
    taximaster: TaxiMasterClient,
    settings_values: SettingsValues,
    i18n: PoI18n,
) -> None:
    """The price of "<from> — <to>", each side read as the /taxi wizard reads it."""
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
    places: list[str] = []
    for typed in route:
        place = await look_up(taximaster, typed)
        problem = place_problem(typed, place)
        if problem is not None:
            log.info("/taxi_cost: %r not understood", typed)
            await message.answer(problem)
            return
        assert place.unique is not None
        places.append(place.unique.text)
    source, dest = places
    lines, _total = await price_lines(
        taximaster, settings_values, i18n, source, dest, utcnow(), is_prior=False
    )
    head = _("taximaster.cost.title").format(source=q(source), dest=q(dest))
    await message.answer("\n".join([head, *lines]))


def place_problem(typed: str, place: AddressLookup) -> str | None:
    """Why a typed place cannot be priced yet (None: it can)."""
    if place.house and place.exact is None and place.candidates:
        street = place.candidates[0].street
        return _("taximaster.cost.no_house").format(
            typed=q(typed), house=q(place.house), street=q(street)
        )
    if place.unique is not None:
        return None
    if not place.candidates:
        return _("taximaster.cost.not_found").format(typed=q(typed))
    options = ", ".join(f"«{q(a.text)}»" for a in place.candidates[:MAX_OPTIONS])
    return _("taximaster.cost.ambiguous").format(typed=q(typed), options=options)


async def crews(message: Message, taximaster: TaxiMasterClient) -> None:
    text, keyboard = await crews_page(taximaster, 0)
    await message.answer(text, reply_markup=keyboard)


async def crews_page_pressed(
    callback: CallbackQuery,
    callback_data: CrewsPageCb,
    taximaster: TaxiMasterClient,
    i18n: PoI18n,
) -> None:
    try:
        text, keyboard = await crews_page(taximaster, callback_data.page)
    except TaxiMasterError as exc:
        await callback.answer(exc.message_for(i18n.current_locale)[:200], show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=keyboard)


async def crews_page(
    taximaster: TaxiMasterClient, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of crews on line, each named by its one identity (call sign · car · driver:
    up to three calls a crew the first time, then kept), with map buttons and page arrows."""
    rows = by_state(await taximaster.get_crews_coords())
    pages = max(1, -(-len(rows) // CREWS_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = rows[page * CREWS_PAGE : (page + 1) * CREWS_PAGE]
    gate = asyncio.Semaphore(4)

    async def named(crew_id: int) -> CrewIdentity:
        async with gate:
            return await taximaster.crews.identity(crew_id)

    identities = await asyncio.gather(*(named(row.crew_id) for row in shown))
    lines = render_crews(rows, shown, list(identities), page=page, pages=pages)
    return "\n".join(lines), crews_keyboard(shown, list(identities), page=page, pages=pages)


async def crew_map_pressed(
    callback: CallbackQuery,
    callback_data: CrewMapCb,
    taximaster: TaxiMasterClient,
    i18n: PoI18n,
    timezone: ZoneInfo,
) -> None:
    """The crew's place as a map point, and a line under it naming the crew (a map point alone
    says nothing about whose it is)."""
    try:
        rows = await taximaster.get_crews_coords(callback_data.crew_id)
        crew = await taximaster.crews.identity(callback_data.crew_id)
    except TaxiMasterCoordsNotFound:
        rows, crew = [], None
    except TaxiMasterError as exc:
        await callback.answer(exc.message_for(i18n.current_locale)[:200], show_alert=True)
        return
    row = next((r for r in rows if r.crew_id == callback_data.crew_id and r.has_fix), None)
    if row is None or row.lat is None or row.lon is None or crew is None:
        await callback.answer(_("taximaster.crews.no_position"), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        point = await callback.message.answer_location(row.lat, row.lon)
        await point.reply(point_caption(crew, row, timezone))


async def tariffs(
    message: Message, taximaster: TaxiMasterClient, settings_values: SettingsValues
) -> None:
    tariff_list = await taximaster.get_tariffs_list()
    services = await taximaster.get_services_list()
    discounts = await taximaster.get_discounts_list()
    default = default_tariff(tariff_list, await tariff_rules(settings_values))
    await answer_lines(
        message,
        render_tariffs(tariff_list, services, discounts, default.id if default else None),
    )
