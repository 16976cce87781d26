"""/locate: where a driver is now, with «🔄 Обновить» (pos_request, then pos_get until it
answers)."""

from __future__ import annotations

import asyncio
import logging
from typing import Final
from zoneinfo import ZoneInfo

from aiogram import Bot, html
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.buttons import pressed_on_its_message
from bot.i18n import PoI18n
from bot.phones import BadPhone, format_phone, mask_phone, normalize_phone
from bot.texts import answer_usage, error_html
from handlers.movizor.callbacks import LocateCb
from handlers.movizor.directory import learn_title
from handlers.movizor.live_locations import LiveLocations, accuracy_of
from handlers.movizor.parsing import is_phoneish, only_phone, topic_of
from handlers.movizor.render import (
    render_card,
    render_card_note,
)
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import (
    MovizorError,
    MovizorRequestPending,
)
from integrations.movizor.models import Position
from storage import Repos
from storage.drivers import Driver

log = logging.getLogger(__name__)

MAX_PICKS: Final = 10

# "🔄 Обновить": poll pos_get this often, for this long (Movizor answers within ~a minute).
REFRESH_POLL_SECONDS = 2.0

REFRESH_TIMEOUT_SECONDS = 120.0


def refresh_keyboard(phone: str) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=_("drivers.btn.refresh"), callback_data=LocateCb(action="refresh", phone=phone)
    )
    return keyboard.as_markup()


async def send_position(
    message: Message, phone: str, movizor: MovizorClient, repos: Repos, tz: ZoneInfo
) -> None:
    """The last known position as a map point, then the card with "🔄 Обновить"."""
    position = await movizor.pos_last(phone)
    title = await learn_title(phone, movizor, repos)
    if position.lat is not None and position.lon is not None:
        await message.answer_location(
            position.lat, position.lon, horizontal_accuracy=accuracy_of(position)
        )
    await message.answer(
        render_card(title, phone, position, tz), reply_markup=refresh_keyboard(phone)
    )


async def locate(
    message: Message,
    command: CommandObject,
    movizor: MovizorClient,
    repos: Repos,
    timezone: ZoneInfo,
) -> None:
    query = (command.args or "").strip()
    if not query:
        await answer_usage(message, "locate")
        return
    if is_phoneish(query):
        phone = await only_phone(message, query, "locate")
        if phone is not None:
            await send_position(message, phone, movizor, repos, timezone)
        return
    drivers = await repos.drivers.find(query)
    if not drivers:
        await message.answer(_("drivers.locate.not_found").format(query=html.quote(query)))
    elif len(drivers) == 1:
        await send_position(message, drivers[0].phone, movizor, repos, timezone)
    else:
        await answer_picks(message, query, drivers)


async def answer_picks(message: Message, query: str, drivers: list[Driver]) -> None:
    """Several directory matches: one button per driver."""
    keyboard = InlineKeyboardBuilder()
    for driver in drivers[:MAX_PICKS]:
        label = f"{driver.title} · {format_phone(driver.phone)}"[:64]
        keyboard.button(text=label, callback_data=LocateCb(action="show", phone=driver.phone))
    keyboard.adjust(1)
    lines = [_("drivers.locate.pick").format(query=html.quote(query))]
    if len(drivers) > MAX_PICKS:
        lines.append(_("drivers.locate.pick_more").format(shown=MAX_PICKS, count=len(drivers)))
    await message.answer("\n".join(lines), reply_markup=keyboard.as_markup())


async def driver_picked(
    callback: CallbackQuery,
    callback_data: LocateCb,
    movizor: MovizorClient,
    repos: Repos,
    timezone: ZoneInfo,
) -> None:
    phone = await carried_phone(callback, callback_data)
    if phone is None:
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await send_position(callback.message, phone, movizor, repos, timezone)


async def carried_phone(callback: CallbackQuery, callback_data: LocateCb) -> str | None:
    """The phone a button carries, checked like a typed one: callback data comes from the
    client, and a forged one must not reach a (paid) Movizor call."""
    try:
        return normalize_phone(callback_data.phone)
    except BadPhone:
        log.warning("a driver button carried a bad phone", extra={"chat_id": callback.from_user.id})
        await callback.answer(_("error.button_expired"), show_alert=True)
        return None


async def refresh_pressed(
    callback: CallbackQuery,
    callback_data: LocateCb,
    movizor: MovizorClient,
    repos: Repos,
    live_locations: LiveLocations,
    timezone: ZoneInfo,
    i18n: PoI18n,
    bot: Bot,
) -> None:
    """ "🔄 Обновить": the whole refresh runs as a background task, one per card. Spawning is
    synchronous, so a double tap finds the first task already running."""
    card = pressed_on_its_message(callback)  # only the card this button belongs to
    phone = await carried_phone(callback, callback_data)
    if phone is None:
        return
    if card is None:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    task_name = f"refresh:{card.chat.id}:{card.message_id}"
    if live_locations.busy(task_name):
        await callback.answer(_("drivers.card.already_requesting"))
        return
    refresh = refresh_card(
        callback, card, phone, movizor, repos, bot, timezone, i18n.current_locale
    )
    live_locations.spawn(refresh, name=task_name)


async def refresh_card(
    callback: CallbackQuery,
    card: Message,
    phone: str,
    movizor: MovizorClient,
    repos: Repos,
    bot: Bot,
    tz: ZoneInfo,
    locale: str,
) -> None:
    """Ask the operator for a fresh position, show progress on the card, then poll."""
    try:
        ticket = await movizor.pos_request(phone)
    except MovizorError as exc:
        # Not confirmed, the 5-minute rule, no money…: say why, keep the card as it is.
        await callback.answer(exc.message_for(locale)[:200], show_alert=True)
        return
    known = await repos.drivers.get(phone)
    title = known.title if known else None
    await card.edit_text(render_card_note(title, phone, _("drivers.card.requesting")))
    await callback.answer()
    await poll_refresh(bot, movizor, card, phone, title, ticket.request_id, tz, locale)


async def poll_refresh(
    bot: Bot,
    movizor: MovizorClient,
    card: Message,
    phone: str,
    title: str | None,
    request_id: str,
    tz: ZoneInfo,
    locale: str,
) -> None:
    """Poll ``pos_get`` until the position comes (or fails, or takes too long); then send
    the new point and put it on the card."""
    chat_id, message_id = card.chat.id, card.message_id
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REFRESH_TIMEOUT_SECONDS
    position: Position | None = None
    note = _("drivers.card.still_queued")
    while loop.time() < deadline:
        await asyncio.sleep(REFRESH_POLL_SECONDS)
        try:
            position = await movizor.pos_get(request_id)
            break
        except MovizorRequestPending:
            continue
        except MovizorError as exc:
            note = _("drivers.card.refresh_failed").format(error=error_html(exc, locale))
            break
    try:
        if position is None:
            text = render_card_note(title, phone, note)
        else:
            if position.lat is not None and position.lon is not None:
                await bot.send_location(
                    chat_id,
                    position.lat,
                    position.lon,
                    message_thread_id=topic_of(card) or None,
                    horizontal_accuracy=accuracy_of(position),
                )
            text = render_card(title, phone, position, tz)
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=refresh_keyboard(phone)
        )
    except TelegramAPIError as exc:  # the card was deleted, the bot left the chat…
        log.info("refresh of %s: could not show the result: %s", mask_phone(phone), exc)
