"""A create whose outcome is unknown: finding the order, and what the person is offered.

After a lost answer (or a crash with the request in flight) the order may exist. Where the
server has ``get_current_orders`` the bot looks for it by the rule of
:mod:`integrations.taximaster.matching` and adopts exactly one match: it is watched as if
TMWeb had answered. Otherwise — or while nothing matches — the chat gets a prompt that says
what is known (the order may exist; nothing will be re-sent by itself) and offers what is
safe: «🔎 Проверить» (where the server can be asked), «👌 Проверю сам», and «🔁 Заказать ещё
раз…», which warns that a second car may come and asks again before it sends anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.confirm import ask_to_confirm
from bot.i18n import PoI18n
from bot.texts import format_time
from handlers.taximaster.callbacks import PendingCb
from handlers.taximaster.orders import start_watching
from handlers.taximaster.parsing import error_text
from handlers.taximaster.render import q
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.errors import TaxiMasterError, TaxiMasterUnsupported
from integrations.taximaster.matching import find_created
from integrations.taximaster.models import CurrentOrder
from integrations.taximaster.orders import NewOrder
from storage import Repos
from storage.db import utcnow
from storage.taximaster import UNSETTLED, CreateRecord, CreateState

log = logging.getLogger(__name__)

REPEAT_ACTION: Final = "taximaster.repeat"  # handlers.taximaster.ordering registers it
MAX_LISTED: Final = 5


@dataclass
class Lookup:
    """What ``get_current_orders`` said about one create."""

    candidates: list[CurrentOrder] = field(default_factory=list)
    supported: bool = True
    error: TaxiMasterError | None = None
    at: datetime = field(default_factory=utcnow)

    @property
    def found(self) -> CurrentOrder | None:
        return self.candidates[0] if len(self.candidates) == 1 else None

    @property
    def found_id(self) -> int | None:
        return self.found.id if self.found is not None else None


def new_order(payload: Mapping[str, Any]) -> NewOrder:
    """The order a confirmation's payload fixed (every parameter, the pickup time too)."""
    group = payload.get("crew_group_id")
    return NewOrder(
        phone=str(payload["phone"]),
        source=str(payload["source"]),
        source_time=datetime.fromisoformat(str(payload["source_time"])),
        dest=str(payload.get("dest") or "") or None,
        crew_group_id=int(str(group)) if group else None,
    )


async def look_for(
    taximaster: TaxiMasterClient, repos: Repos, record: CreateRecord, *, made_by_us: bool = True
) -> Lookup:
    """One ``get_current_orders`` by the passenger's phone (none where the server lacks it).
    ``made_by_us=False``: any order with these parameters (TMWeb said one exists)."""
    order = new_order(record.payload)
    try:
        rows = await taximaster.get_current_orders(phone=order.phone)
    except TaxiMasterUnsupported:
        return Lookup(supported=False)
    except TaxiMasterError as exc:
        log.warning("taxi order %s: looking it up failed: %s", record.create_id, exc.detail)
        return Lookup(error=exc)
    known = await repos.taximaster.order_ids()
    found = find_created(order, record.sent_at, rows, known_ids=known, made_by_us=made_by_us)
    log.info(
        "taxi order %s: %d current orders of the phone, %d match",
        record.create_id,
        len(rows),
        len(found),
    )
    return Lookup(candidates=found)


async def adopt(
    bot: Bot,
    repos: Repos,
    tz: ZoneInfo,
    record: CreateRecord,
    order_id: int,
    *,
    by: int,
) -> bool:
    """The order this create made, found: recorded, announced by its card, watched. False if
    someone settled the create meanwhile (then nothing is done twice)."""
    if not await repos.taximaster.move(
        record.create_id, CreateState.ADOPTED, expected=UNSETTLED, order_id=order_id
    ):
        return False
    log.info("taxi order %s: adopted as order %s", record.create_id, order_id)
    await repos.audit.record(by, "taximaster.order.adopted", str(order_id))
    await start_watching(
        bot,
        repos,
        tz,
        chat_id=record.chat_id,
        thread=record.thread_id,
        user_id=record.user_id,
        order_id=order_id,
        order=record.payload,
    )
    return True


def order_line(payload: Mapping[str, Any], tz: ZoneInfo) -> str:
    """«📞 +7 912 345-67-89 · улица Малышева, 51 → Аэропорт Кольцово · 🕐 24.11 14:05»."""
    route = q(payload.get("source") or "")
    if payload.get("dest"):
        route += " → " + q(payload["dest"])
    when = format_time(datetime.fromisoformat(str(payload["source_time"])), tz)
    phone = q(payload.get("phone_shown") or payload.get("phone") or "")
    return _("taximaster.pending.line").format(phone=phone, route=route, time=when)


def prompt_text(record: CreateRecord, tz: ZoneInfo, lookup: Lookup, *, crashed: bool) -> str:
    title = "taximaster.pending.crash_title" if crashed else "taximaster.pending.lost_title"
    lines = [_(title), order_line(record.payload, tz), "", _("taximaster.pending.explain")]
    if lookup.error is not None:
        lines.append(_("taximaster.pending.check_failed").format(error=q(lookup.error.detail)))
    elif not lookup.supported:
        lines.append(_("taximaster.pending.cannot_check"))
    elif lookup.candidates:
        ids = ", ".join(f"№{c.id}" for c in lookup.candidates[:MAX_LISTED])
        lines.append(_("taximaster.pending.several").format(ids=ids))
    else:
        lines.append(_("taximaster.pending.not_found").format(time=format_time(lookup.at, tz)))
    lines += ["", _("taximaster.pending.options")]
    if lookup.supported:
        lines.append(_("taximaster.pending.option_check"))
    lines += [_("taximaster.pending.option_self"), _("taximaster.pending.option_repeat")]
    return "\n".join(lines)


def prompt_keyboard(create_id: str, *, can_check: bool) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    if can_check:
        keyboard.button(
            text=_("taximaster.pending.btn_check"),
            callback_data=PendingCb(action="check", create=create_id),
        )
    keyboard.button(
        text=_("taximaster.pending.btn_self"),
        callback_data=PendingCb(action="self", create=create_id),
    )
    keyboard.button(
        text=_("taximaster.pending.btn_repeat"),
        callback_data=PendingCb(action="repeat", create=create_id),
    )
    keyboard.adjust(1)
    return keyboard.as_markup()


async def post_prompt(
    bot: Bot,
    repos: Repos,
    taximaster: TaxiMasterClient,
    record: CreateRecord,
    tz: ZoneInfo,
    lookup: Lookup,
    *,
    crashed: bool = False,
) -> None:
    await bot.send_message(
        record.chat_id,
        prompt_text(record, tz, lookup, crashed=crashed),
        message_thread_id=record.thread_id or None,
        reply_markup=prompt_keyboard(record.create_id, can_check=lookup.supported),
    )


# --- the prompt's buttons --------------------------------------------------------------------


async def _open_record(
    callback: CallbackQuery, repos: Repos, create_id: str
) -> CreateRecord | None:
    """The create a button names, if it is still open; else the press is answered."""
    record = await repos.taximaster.get(create_id)
    if record is None:
        await callback.answer(_("taximaster.pending.gone"), show_alert=True)
        return None
    if record.state not in UNSETTLED:
        await callback.answer(settled_text(record), show_alert=True)
        return None
    return record


def settled_text(record: CreateRecord) -> str:
    """About a create someone already decided about."""
    if record.order_id is not None:
        return _("taximaster.pending.settled_order").format(id=record.order_id)
    return _("taximaster.pending.settled").format(state=_(f"taximaster.create.{record.state}"))


async def _replace(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if not isinstance(callback.message, Message):
        return
    try:
        await callback.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def check_pressed(
    callback: CallbackQuery,
    callback_data: PendingCb,
    taximaster: TaxiMasterClient,
    repos: Repos,
    bot: Bot,
    timezone: ZoneInfo,
    i18n: PoI18n,
) -> None:
    record = await _open_record(callback, repos, callback_data.create)
    if record is None:
        return
    lookup = await look_for(taximaster, repos, record)
    if lookup.found is not None:
        await callback.answer()
        if await adopt(bot, repos, timezone, record, lookup.found.id, by=callback.from_user.id):
            text = _("taximaster.pending.adopted").format(
                id=lookup.found.id, order=order_line(record.payload, timezone)
            )
            await _replace(callback, text, None)
        return
    if lookup.error is not None:
        await callback.answer(error_text(lookup.error, i18n)[:200], show_alert=True)
        return
    await callback.answer(_("taximaster.pending.checked"))
    await _replace(
        callback,
        prompt_text(record, timezone, lookup, crashed=False),
        prompt_keyboard(record.create_id, can_check=lookup.supported),
    )


async def self_pressed(
    callback: CallbackQuery, callback_data: PendingCb, repos: Repos, timezone: ZoneInfo
) -> None:
    record = await _open_record(callback, repos, callback_data.create)
    if record is None:
        return
    if not await repos.taximaster.move(record.create_id, CreateState.DISMISSED, expected=UNSETTLED):
        await callback.answer(_("taximaster.pending.gone"), show_alert=True)
        return
    await callback.answer()
    text = _("taximaster.pending.dismissed").format(order=order_line(record.payload, timezone))
    await _replace(callback, text, None)


async def repeat_pressed(
    callback: CallbackQuery, callback_data: PendingCb, repos: Repos, timezone: ZoneInfo
) -> None:
    """Not yet a send: a warning, and a one-shot confirmation of its own."""
    record = await _open_record(callback, repos, callback_data.create)
    if record is None:
        return
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await ask_to_confirm(
        callback.message,
        repos,
        user_id=callback.from_user.id,
        action=REPEAT_ACTION,
        payload={"create_id": record.create_id},
        question=_("taximaster.repeat.question").format(order=order_line(record.payload, timezone)),
        yes_text=_("taximaster.repeat.btn_yes"),
        no_text=_("taximaster.repeat.btn_no"),
    )
