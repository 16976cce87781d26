"""/order <id>: an order's status card (state, crew, car, driver, the crew's last position as a
map point, «🔄 Обновить»); and watching: the chat that created an order or asked about it
subscribes to it, its card becomes the status card the alert sender edits at each change.

Only an order the viewer may see (bot/ownership.py) is shown: one the bot made or a chat of
theirs watches. Any other id is answered "not among the bot's orders" — the same words whether
it exists or not, and without a call to Taxi-Master — and nothing is put on the poll. An admin
may open any order once, and put it on watch in the chat with «👁 Следить здесь» (audited)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.buttons import pressed_on_its_message
from bot.history.recorder import ActionRecorder
from bot.i18n import PoI18n
from bot.ownership import Ownership, Reason, Viewer
from bot.texts import answer_usage, visible_text
from handlers.taximaster.callbacks import OrderCb
from handlers.taximaster.parsing import parse_order_id, topic_of
from handlers.taximaster.render import OrderView, render_order_card
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.crews import CrewIdentity
from integrations.taximaster.errors import TaxiMasterError
from integrations.taximaster.models import OrderState, OrderStateKind
from integrations.taximaster.watcher import SOURCE, initial_snapshot, snapshot_from_state
from storage import Repos
from storage.users import User

log = logging.getLogger(__name__)


def subject_key(order_id: int) -> str:
    """The alert subject of an order (integrations.taximaster.watcher): ``order:<id>``."""
    return f"order:{order_id}"


async def load_view(
    taximaster: TaxiMasterClient, order_id: int, known: Mapping[str, Any] | None = None
) -> OrderView:
    """The order's state, then its crew (call sign, car, driver) and the crew's position. The
    crew the bot already named for this order keeps its name; the details are best effort (a
    card without the car is better than no card)."""
    state = await taximaster.get_order_state(order_id)
    extras = snapshot_from_state(state, known)
    view = OrderView(state=state, extras=extras)
    if state.crew_id:
        named = CrewIdentity.from_dict((known or {}).get("crew") or {})
        if named is not None and named.crew_id == state.crew_id:
            view.crew = named
        else:
            view.crew = await taximaster.crews.identity(
                state.crew_id, driver_id=state.driver_id, car_id=state.car_id
            )
        if not state.is_final:
            try:
                rows = await taximaster.get_crews_coords(state.crew_id)
                view.coords = next((r for r in rows if r.crew_id == state.crew_id), None)
            except TaxiMasterError as exc:
                log.info("order %s: crew position not shown: %s", order_id, exc.detail)
    return view


def watched_snapshot(view: OrderView) -> dict[str, Any]:
    """What the watcher starts from for an order a chat asked about: the state shown, and the
    crew as named on the card (so its call sign never changes while the crew does not)."""
    snapshot = dict(view.extras)
    if view.crew is not None:
        snapshot["crew"] = view.crew.to_dict()
    return snapshot


async def order(
    message: Message,
    command: CommandObject,
    taximaster: TaxiMasterClient,
    repos: Repos,
    user: User,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
) -> None:
    if not (command.args or "").strip():
        await answer_usage(message, "order")
        return
    order_id = parse_order_id(command.args)
    if order_id is None:
        log.info("/order: bad id %r from user %s", (command.args or "")[:40], user.id)
        await message.answer(
            _("taximaster.order.bad_id").format(text=html.quote((command.args or "")[:40]))
        )
        return
    await show_order(message, order_id, viewer, ownership, taximaster, repos, timezone)


async def show_order(
    message: Message,
    order_id: int,
    viewer: Viewer,
    ownership: Ownership,
    taximaster: TaxiMasterClient,
    repos: Repos,
    timezone: ZoneInfo,
) -> None:
    """The order's card for a viewer who may see it (/order, /orders, /find); anyone else
    hears that it is not among the bot's orders, and Taxi-Master is not asked."""
    sight = await ownership.sight(viewer, subject_key(order_id))
    if not sight.allowed:
        log.info(
            "order %s not shown to user %s in chat %s", order_id, viewer.user_id, viewer.chat_id
        )
        await message.answer(not_ours_text(order_id))
        return
    await send_order_card(
        message, order_id, taximaster, repos, viewer.user_id, timezone, watch=not sight.admin_only
    )


def not_ours_text(order_id: int) -> str:
    """The same words for an order that exists elsewhere and for an id that does not."""
    return _("taximaster.order.not_ours").format(id=order_id)


def card_keyboard(order_id: int, *, offer_watch: bool = False) -> InlineKeyboardMarkup:
    """«🔄 Обновить», and for a card an admin opened where nobody watches the order,
    «👁 Следить здесь»."""
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=_("taximaster.btn.refresh"), callback_data=OrderCb(action="refresh", order_id=order_id)
    )
    if offer_watch:
        keyboard.button(
            text=_("taximaster.btn.watch"), callback_data=OrderCb(action="watch", order_id=order_id)
        )
    return keyboard.as_markup()


async def send_order_card(
    message: Message,
    order_id: int,
    taximaster: TaxiMasterClient,
    repos: Repos,
    user_id: int,
    timezone: ZoneInfo,
    *,
    watch: bool = True,
) -> None:
    """The order's card (and the crew's map point) in ``message``'s chat, which then watches a
    live order — unless ``watch`` is False (an admin's look at an order nobody here watches:
    shown once, nothing put on the poll, a button to watch it)."""
    known = (await repos.snapshots.get(SOURCE, [str(order_id)])).get(str(order_id))
    view = await load_view(taximaster, order_id, known)
    coords = view.coords
    if coords is not None and coords.has_fix and coords.lat is not None and coords.lon is not None:
        await message.answer_location(coords.lat, coords.lon)
    live = not view.state.is_final
    card = await message.answer(
        render_order_card(view, timezone),
        reply_markup=card_keyboard(order_id, offer_watch=live and not watch),
    )
    if not live or not watch:
        return  # nothing will change any more, or nobody asked to watch it here
    if known is None:
        await repos.snapshots.put(SOURCE, str(order_id), watched_snapshot(view))
    await watch_in_chat(repos, card, order_id, user_id)


async def watch_in_chat(repos: Repos, card: Message, order_id: int, user_id: int) -> None:
    """Subscribe the card's chat (topic) to the order; the card is its status card."""
    thread = topic_of(card)
    await repos.subscriptions.add(card.chat.id, thread, "all", subject_key(order_id), by=user_id)
    await repos.alert_state.set_card(card.chat.id, thread, subject_key(order_id), card.message_id)


async def start_watching(
    bot: Bot,
    repos: Repos,
    tz: ZoneInfo,
    *,
    chat_id: int,
    thread: int,
    user_id: int,
    order_id: int,
    order: Mapping[str, Any],
) -> None:
    """An order the bot created (or found after a lost answer): this chat owns it and watches
    it from ``new_order`` on, its card here. ``order`` holds what was sent: phone, source,
    dest, source_time."""
    key = str(order_id)
    known = (await repos.snapshots.get(SOURCE, [key])).get(key)
    source_time = datetime.fromisoformat(str(order["source_time"]))
    extras = {
        "phone": str(order.get("phone") or ""),
        "source": str(order.get("source") or ""),
        "dest": str(order.get("dest") or ""),
        "source_time": source_time.isoformat(),
    }
    if known is None:
        snapshot = initial_snapshot(
            order_id,
            phone=extras["phone"],
            source=extras["source"],
            dest=extras["dest"],
            source_time=source_time,
        )
        await repos.snapshots.put(SOURCE, key, snapshot)
        state = OrderState(order_id=order_id, state_kind=OrderStateKind.NEW_ORDER.value)
    else:
        state = OrderState.model_validate({**known, "order_id": order_id})
        extras.update({k: v for k, v in known.items() if k in extras and v})
    await repos.item_owners.record(
        subject_key(order_id), chat_id=chat_id, thread_id=thread, user_id=user_id
    )
    await repos.subscriptions.add(chat_id, thread, "all", subject_key(order_id), by=user_id)
    await ActionRecorder(repos).taxi_ordered(chat_id, thread, order_id, order)
    card = await bot.send_message(
        chat_id,
        render_order_card(OrderView(state=state, extras=extras), tz),
        message_thread_id=thread or None,
        reply_markup=card_keyboard(order_id),
    )
    await repos.alert_state.set_card(chat_id, thread, subject_key(order_id), card.message_id)


async def open_pressed(
    callback: CallbackQuery,
    callback_data: OrderCb,
    taximaster: TaxiMasterClient,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
    i18n: PoI18n,
) -> None:
    """An order's button under /orders: its card, as /order gives it (checked again: the list
    may be old, or forwarded)."""
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    try:
        await show_order(
            callback.message, callback_data.order_id, viewer, ownership, taximaster, repos, timezone
        )
    except TaxiMasterError as exc:
        await callback.message.answer(html.quote(exc.message_for(i18n.current_locale)))


async def pressed_card(
    callback: CallbackQuery,
    order_id: int,
    taximaster: TaxiMasterClient,
    repos: Repos,
    i18n: PoI18n,
) -> tuple[Message, OrderView, Mapping[str, Any] | None] | None:
    """The card a button was pressed on, the order read now, and the watcher's snapshot of it;
    None after answering the press (a button not of this card, Taxi-Master not answering)."""
    message = pressed_on_its_message(callback)
    if message is None:  # only the card this button belongs to is edited
        await callback.answer(_("error.button_expired"), show_alert=True)
        return None
    known = (await repos.snapshots.get(SOURCE, [str(order_id)])).get(str(order_id))
    try:
        view = await load_view(taximaster, order_id, known)
    except TaxiMasterError as exc:
        await callback.answer(exc.message_for(i18n.current_locale)[:200], show_alert=True)
        return None
    return message, view, known


async def refresh_pressed(
    callback: CallbackQuery,
    callback_data: OrderCb,
    taximaster: TaxiMasterClient,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
    i18n: PoI18n,
) -> None:
    """ "🔄 Обновить": the card again, from one get_order_state (+ crew details), for whoever
    may see the order now."""
    order_id = callback_data.order_id
    sight = await ownership.sight(viewer, subject_key(order_id))
    if not sight.allowed:
        await callback.answer(not_ours_text(order_id)[:200], show_alert=True)
        return
    pressed = await pressed_card(callback, order_id, taximaster, repos, i18n)
    if pressed is None:
        return
    message, view, _known = pressed
    card = render_order_card(view, timezone)
    watched_here = sight.reason is not Reason.ADMIN
    keyboard = card_keyboard(order_id, offer_watch=not watched_here and not view.state.is_final)
    if message.text != visible_text(card):
        try:
            await message.edit_text(card, reply_markup=keyboard)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise
        await callback.answer(_("taximaster.order.refreshed"))
        return
    await callback.answer(_("taximaster.order.unchanged"))


async def watch_pressed(
    callback: CallbackQuery,
    callback_data: OrderCb,
    taximaster: TaxiMasterClient,
    repos: Repos,
    viewer: Viewer,
    timezone: ZoneInfo,
    i18n: PoI18n,
) -> None:
    """«👁 Следить здесь» (admins): the admin's explicit choice to watch an order in this chat —
    it goes on the poll, this card becomes its status card, everyone here may see it."""
    order_id = callback_data.order_id
    pressed = await pressed_card(callback, order_id, taximaster, repos, i18n)
    if pressed is None:
        return
    card, view, known = pressed
    if view.state.is_final:
        await callback.answer(_("taximaster.order.watch_final"), show_alert=True)
        await card.edit_reply_markup(reply_markup=card_keyboard(order_id))
        return
    if known is None:
        await repos.snapshots.put(SOURCE, str(order_id), watched_snapshot(view))
    await watch_in_chat(repos, card, order_id, viewer.user_id)
    await repos.audit.record(
        viewer.user_id, "taximaster.order.watch", str(viewer.chat_id), order=order_id
    )
    log.info(
        "order %s put on watch in chat %s by admin %s", order_id, viewer.chat_id, viewer.user_id
    )
    with contextlib.suppress(TelegramBadRequest):  # "not modified": the card is as it is
        await card.edit_text(
            render_order_card(view, timezone), reply_markup=card_keyboard(order_id)
        )
    await callback.answer(_("taximaster.order.watching"))
