"""/taxi: an aiogram FSM wizard (passenger phone → pickup → destination → time → crew group →
price → one-shot «🚕 Заказать», sent by handlers.taximaster.ordering); the chat then watches
the order.

Addresses are never free text: a typed part of a street is looked up with get_addresses_like
and picked from buttons (streets and points), then a house is picked or typed. Every question
that wants typed text goes through :func:`bot.prompts.ask`, so it works in groups under
privacy mode.

The confirmation's payload fixes every parameter of the order (``source_time`` too), so what
is sent is exactly what the person saw and confirmed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.confirm import ask_to_confirm
from bot.i18n import PoI18n
from bot.phones import BadPhone, format_phone, mask_phones, normalize_phone
from bot.prompts import ask
from bot.settings.values import SettingsValues
from handlers.taximaster.addresses import MAX_FOUND, MAX_HOUSES, look_up
from handlers.taximaster.callbacks import TaxiCb
from handlers.taximaster.ordering import ACTION
from handlers.taximaster.parsing import (
    MAX_QUERY,
    TimeProblem,
    parse_pickup_time,
    tm_phone,
    topic_of,
)
from handlers.taximaster.pricing import price_lines
from handlers.taximaster.render import q, render_summary
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.models import Address, AddressKind, NamedItem
from storage import Repos
from storage.db import utcnow
from storage.users import User

log = logging.getLogger(__name__)


class TaxiFlow(StatesGroup):
    phone = State()
    place = State()  # a street or point, for data["leg"]: "source" or "dest"
    house = State()  # a house of data["street"]
    when = State()
    group = State()


# --- phone ------------------------------------------------------------------------------------


async def taxi(message: Message, command: CommandObject, state: FSMContext) -> None:
    await state.clear()
    await state.set_data({"search": 0})
    if command.args:
        await take_phone(message, state, command.args)
        return
    await state.set_state(TaxiFlow.phone)
    await ask(message, _("taximaster.taxi.ask_phone"))


async def phone_typed(message: Message, state: FSMContext) -> None:
    await take_phone(message, state, message.text or "")


async def take_phone(message: Message, state: FSMContext, typed: str) -> None:
    try:
        msisdn = normalize_phone(typed)
    except BadPhone:
        log.info(
            "taxi wizard: bad phone %r from user %s", mask_phones(typed[:40]), _user_id(message)
        )
        await state.set_state(TaxiFlow.phone)
        await ask(message, _("taximaster.taxi.bad_phone").format(phone=html.quote(typed[:40])))
        return
    await state.update_data(msisdn=msisdn)
    await ask_place(message, state, "source")


# --- addresses --------------------------------------------------------------------------------


async def ask_place(
    message: Message, state: FSMContext, leg: str, who: TgUser | None = None
) -> None:
    await state.update_data(leg=leg, found=[], street="")
    await state.set_state(TaxiFlow.place)
    if leg == "source":
        await ask(message, _("taximaster.taxi.ask_source"), who=who)
        return
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=_("taximaster.taxi.btn_no_dest"), callback_data=TaxiCb(action="nodest"))
    await ask(message, _("taximaster.taxi.ask_dest"), keyboard.as_markup(), who=who)


def _dest_keyboard(leg: str) -> InlineKeyboardMarkup | None:
    if leg != "dest":
        return None
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=_("taximaster.taxi.btn_no_dest"), callback_data=TaxiCb(action="nodest"))
    return keyboard.as_markup()


async def place_typed(
    message: Message,
    state: FSMContext,
    taximaster: TaxiMasterClient,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
) -> None:
    """A typed part of a street or point (perhaps with a house): search and offer buttons."""
    data = await state.get_data()
    leg = data["leg"]
    query = " ".join((message.text or "").split())
    if len(query) < 2 or len(query) > MAX_QUERY:
        await ask(message, _("taximaster.taxi.bad_query"), _dest_keyboard(leg))
        return
    lookup = await look_up(taximaster, query)
    if lookup.exact is not None:  # "Малышева 51": one street, and that house on it
        await address_chosen(
            message, state, lookup.exact.text, taximaster, timezone, settings_values
        )
        return
    found = lookup.candidates  # best first: "вокзал" is the station before "Автовокзал"
    if not found:
        await ask(
            message,
            _("taximaster.taxi.not_found").format(query=html.quote(query)),
            _dest_keyboard(leg),
        )
        return
    search = data["search"] + 1
    rows = [{"street": a.street, "house": a.house, "kind": a.kind} for a in found[:MAX_FOUND]]
    await state.update_data(found=rows, search=search)
    keyboard = InlineKeyboardBuilder()
    for index, address in enumerate(found[:MAX_FOUND]):
        icon = "🏠" if address.kind == AddressKind.STREET else "📌"
        keyboard.button(
            text=f"{icon} {address.text}"[:64],
            callback_data=TaxiCb(action="pick", index=index, search=search),
        )
    keyboard.adjust(1)
    await message.answer(
        _("taximaster.taxi.found").format(query=html.quote(query)),
        reply_markup=keyboard.as_markup(),
    )


async def place_picked(
    callback: CallbackQuery,
    callback_data: TaxiCb,
    state: FSMContext,
    taximaster: TaxiMasterClient,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
) -> None:
    taken = await _take_pick(callback, callback_data, state)
    if taken is None:
        return
    message, address = taken
    if address.kind == AddressKind.STREET and not address.house:
        await ask_house(message, state, address.street, taximaster, callback.from_user)
        return
    await address_chosen(
        message, state, address.text, taximaster, timezone, settings_values, callback.from_user
    )


async def _take_pick(
    callback: CallbackQuery, callback_data: TaxiCb, state: FSMContext
) -> tuple[Message, Address] | None:
    """The address a street/place/house button picked, shown as picked in its message; None
    (answered) for a stale button."""
    picked = _picked(await state.get_data(), callback_data)
    if picked is None:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return None
    await callback.answer()
    if not isinstance(callback.message, Message):
        return None
    address = Address.model_validate(picked)
    await callback.message.edit_text(
        _("taximaster.taxi.picked").format(place=q(address.text)), reply_markup=None
    )
    return callback.message, address


def _picked(data: dict[str, Any], callback_data: TaxiCb) -> dict[str, Any] | None:
    found = data.get("found") or []
    if callback_data.search != data.get("search") or not 0 <= callback_data.index < len(found):
        return None
    return dict(found[callback_data.index])


async def ask_house(
    message: Message,
    state: FSMContext,
    street: str,
    taximaster: TaxiMasterClient,
    who: TgUser | None = None,
) -> None:
    """Houses of the street as buttons (the first few), or a typed number."""
    houses = await taximaster.find_houses(street, "", max_addresses_count=MAX_HOUSES)
    await state.set_state(TaxiFlow.house)
    question = _("taximaster.taxi.ask_house").format(street=q(street))
    await show_houses(message, state, street, houses, question, who)


async def show_houses(
    message: Message,
    state: FSMContext,
    street: str,
    houses: list[Address],
    question: str,
    who: TgUser | None = None,
) -> None:
    data = await state.get_data()
    search = data["search"] + 1
    rows = [{"street": h.street, "house": h.house, "kind": h.kind} for h in houses[:MAX_HOUSES]]
    await state.update_data(street=street, found=rows, search=search)
    keyboard = InlineKeyboardBuilder()
    for index, house in enumerate(houses[:MAX_HOUSES]):
        keyboard.button(
            text=house.house[:20] or "?",
            callback_data=TaxiCb(action="house", index=index, search=search),
        )
    keyboard.adjust(6)
    await ask(message, question, keyboard.as_markup() if rows else None, who=who)


async def house_typed(
    message: Message,
    state: FSMContext,
    taximaster: TaxiMasterClient,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
) -> None:
    data = await state.get_data()
    street = data["street"]
    house = "".join((message.text or "").split())[:12]
    if not house or not house[0].isdigit():
        await ask(message, _("taximaster.taxi.bad_house").format(street=q(street)))
        return
    houses = await taximaster.find_houses(street, house, max_addresses_count=MAX_HOUSES)
    exact = [h for h in houses if h.house.casefold() == house.casefold()]
    if exact:
        await address_chosen(message, state, exact[0].text, taximaster, timezone, settings_values)
    elif houses:
        question = _("taximaster.taxi.pick_house").format(house=html.quote(house), street=q(street))
        await show_houses(message, state, street, houses, question)
    else:
        await ask(
            message,
            _("taximaster.taxi.no_house").format(house=html.quote(house), street=q(street)),
        )


async def house_picked(
    callback: CallbackQuery,
    callback_data: TaxiCb,
    state: FSMContext,
    taximaster: TaxiMasterClient,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
) -> None:
    taken = await _take_pick(callback, callback_data, state)
    if taken is not None:
        message, address = taken
        await address_chosen(
            message, state, address.text, taximaster, timezone, settings_values, callback.from_user
        )


async def no_dest(callback: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    if data.get("leg") != "dest":
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    await callback.answer()
    await state.update_data(dest="")
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask_when(callback.message, state, callback.from_user)


async def address_chosen(
    message: Message,
    state: FSMContext,
    text: str,
    taximaster: TaxiMasterClient,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
    who: TgUser | None = None,
) -> None:
    data = await state.get_data()
    if data["leg"] == "source":
        await state.update_data(source=text)
        await ask_place(message, state, "dest", who)
    else:
        await state.update_data(dest=text)
        await ask_when(message, state, who)


# --- time and crew group ----------------------------------------------------------------------


async def ask_when(message: Message, state: FSMContext, who: TgUser | None = None) -> None:
    await state.update_data(leg="", found=[])
    await state.set_state(TaxiFlow.when)
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=_("taximaster.taxi.btn_now"), callback_data=TaxiCb(action="now"))
    keyboard.button(text=_("taximaster.taxi.btn_in30"), callback_data=TaxiCb(action="in30"))
    await ask(message, _("taximaster.taxi.ask_when"), keyboard.as_markup(), who=who)


async def when_typed(
    message: Message, state: FSMContext, taximaster: TaxiMasterClient, timezone: ZoneInfo
) -> None:
    try:
        moment = parse_pickup_time(message.text or "", timezone, utcnow())
    except TimeProblem as problem:
        log.info("taxi wizard: bad time %r (%s)", (message.text or "")[:40], problem.key)
        keyboard = InlineKeyboardBuilder()
        keyboard.button(text=_("taximaster.taxi.btn_now"), callback_data=TaxiCb(action="now"))
        keyboard.button(text=_("taximaster.taxi.btn_in30"), callback_data=TaxiCb(action="in30"))
        await ask(
            message,
            _(problem.key).format(text=html.quote((message.text or "")[:40])),
            keyboard.as_markup(),
        )
        return
    await state.update_data(when=moment.isoformat(), now=False)
    await ask_group(message, state, taximaster)


async def when_pressed(
    callback: CallbackQuery, callback_data: TaxiCb, state: FSMContext, taximaster: TaxiMasterClient
) -> None:
    await callback.answer()
    if callback_data.action == "now":
        await state.update_data(when=None, now=True)
    else:
        await state.update_data(when=(utcnow() + timedelta(minutes=30)).isoformat(), now=False)
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask_group(callback.message, state, taximaster)


async def ask_group(message: Message, state: FSMContext, taximaster: TaxiMasterClient) -> None:
    groups = await taximaster.get_crew_groups_list()
    await state.update_data(groups={str(g.id): g.name for g in groups})
    await state.set_state(TaxiFlow.group)
    keyboard = InlineKeyboardBuilder()
    for group in groups[:20]:
        keyboard.button(
            text=(group.name or str(group.id))[:64],
            callback_data=TaxiCb(action="group", index=group.id),
        )
    keyboard.button(text=_("taximaster.taxi.btn_any_group"), callback_data=TaxiCb(action="group"))
    keyboard.adjust(2)
    await message.answer(_("taximaster.taxi.ask_group"), reply_markup=keyboard.as_markup())


async def group_pressed(
    callback: CallbackQuery,
    callback_data: TaxiCb,
    state: FSMContext,
    taximaster: TaxiMasterClient,
    repos: Repos,
    user: User,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
    i18n: PoI18n,
) -> None:
    data = await state.get_data()
    groups: dict[str, str] = data.get("groups") or {}
    if callback_data.index and str(callback_data.index) not in groups:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await callback.message.edit_reply_markup(reply_markup=None)
    await state.update_data(
        crew_group_id=callback_data.index or None,
        group_name=groups.get(str(callback_data.index), ""),
    )
    await show_summary(
        callback.message, state, taximaster, repos, user, timezone, settings_values, i18n
    )


# --- price and summary ------------------------------------------------------------------------


async def show_summary(
    message: Message,
    state: FSMContext,
    taximaster: TaxiMasterClient,
    repos: Repos,
    user: User,
    tz: ZoneInfo,
    settings_values: SettingsValues,
    i18n: PoI18n,
) -> None:
    """Leave the wizard: the price, then a one-shot confirmation carrying every parameter."""
    data = await state.get_data()
    await state.clear()
    # Fixed here, once: the order's identity (TMWeb's duplicate check is phone, pickup, time).
    now = utcnow().replace(microsecond=0)
    source_time = datetime.fromisoformat(data["when"]) if data.get("when") else now
    source_time = source_time.replace(microsecond=0)
    price, total = await price_lines(
        taximaster,
        settings_values,
        i18n,
        data["source"],
        data.get("dest") or "",
        source_time,
        is_prior=not data.get("now"),
        group=NamedItem(id=data["crew_group_id"], name=data.get("group_name") or "")
        if data.get("crew_group_id")
        else None,
    )
    payload = {
        "phone": tm_phone(data["msisdn"]),
        "phone_shown": format_phone(data["msisdn"]),
        "source": data["source"],
        "dest": data.get("dest") or "",
        "source_time": source_time.isoformat(),
        "now": bool(data.get("now")),
        "crew_group_id": data.get("crew_group_id"),
        "group_name": data.get("group_name") or "",
        "cost": total,
        "thread": topic_of(message),
        "locale": i18n.current_locale,
    }
    await ask_to_confirm(
        message,
        repos,
        user_id=user.id,
        action=ACTION,
        payload=payload,
        question=render_summary(payload, price, tz),
        yes_text=_("taximaster.taxi.btn_order"),
        no_text=_("taximaster.taxi.btn_cancel"),
    )


async def stale_wizard_button(callback: CallbackQuery) -> None:
    """A wizard button from a step already passed (or a wizard already left)."""
    await callback.answer(_("error.button_expired"), show_alert=True)


def _user_id(message: Message) -> int | None:
    return message.from_user.id if message.from_user else None
