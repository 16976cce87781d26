"""Sending a confirmed taxi order: exactly once, and only the truth about what happened.

«🚕 Заказать» is a one-shot confirmation (a double tap acts once). The create is recorded in
SQLite before the request leaves (storage.taximaster), then sent ONCE; its outcome decides what
the person is told:

* TMWeb answered with an id — the order is placed and watched;
* TMWeb answered an error — nothing was created, and the message says so;
* the request never left (no connection) — nothing was created: a fresh confirmation offers to
  send it;
* TMWeb answered 100, "already created" — no new order; the existing one is looked for;
* the request left and no answer came back — the order's state is UNKNOWN. Nothing is re-sent:
  the document says only "100 | Заказ с такими параметрами уже создан", not which parameters,
  for how long, or that the check is on, so a repeat may send a second car. Where the server
  can list current orders the order is looked for and adopted (handlers.taximaster.pending);
  otherwise the person is told exactly that and offered what is safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.confirm import ask_to_confirm, on_confirm, on_decline
from bot.i18n import PoI18n
from handlers.taximaster.orders import start_watching
from handlers.taximaster.parsing import error_text
from handlers.taximaster.pending import (
    REPEAT_ACTION,
    adopt,
    look_for,
    new_order,
    order_line,
    post_prompt,
    settled_text,
)
from handlers.taximaster.render import q
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.errors import (
    TaxiMasterDisabled,
    TaxiMasterError,
    TaxiMasterOrderExists,
    TaxiMasterOrderNotSent,
    TaxiMasterOrderUnknown,
    TaxiMasterRateLimited,
)
from storage import Repos
from storage.confirmations import Confirmation
from storage.taximaster import UNSETTLED, CreateRecord, CreateState

log = logging.getLogger(__name__)

ACTION: Final = "taximaster.order"


@dataclass(frozen=True)
class Desk:
    """Where an order is placed from and everything needed to place it."""

    taximaster: TaxiMasterClient
    repos: Repos
    bot: Bot
    i18n: PoI18n
    tz: ZoneInfo  # the chat's zone, for the times shown
    chat_id: int
    thread: int
    user_id: int


@on_confirm(ACTION, rule="taxi")
async def order_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    taximaster: TaxiMasterClient,
    repos: Repos,
    i18n: PoI18n,
    bot: Bot,
    timezone: ZoneInfo,
) -> str:
    payload = dict(confirmation.payload)
    desk = Desk(
        taximaster,
        repos,
        bot,
        i18n,
        timezone,
        confirmation.chat_id,
        int(str(payload.get("thread") or 0)),
        confirmation.user_id,
    )
    return await send_order(desk, payload, anchor=callback.message)


@on_decline(REPEAT_ACTION)
async def repeat_declined(callback: CallbackQuery, confirmation: Confirmation) -> str:
    """Declining to order again cancels nothing: the first order may exist."""
    return _("taximaster.repeat.not_sent")


@on_confirm(REPEAT_ACTION, rule="taxi")
async def repeat_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    taximaster: TaxiMasterClient,
    repos: Repos,
    i18n: PoI18n,
    bot: Bot,
    timezone: ZoneInfo,
) -> str:
    """The person's explicit, warned choice: send an order whose first send may exist."""
    record = await repos.taximaster.get(str(confirmation.payload.get("create_id")))
    if record is None:
        return _("taximaster.pending.gone")
    if not await repos.taximaster.move(record.create_id, CreateState.REPEATED, expected=UNSETTLED):
        return settled_text(record)
    log.warning("taxi order %s: sent again at the person's explicit choice", record.create_id)
    desk = Desk(
        taximaster,
        repos,
        bot,
        i18n,
        timezone,
        record.chat_id,
        record.thread_id,
        confirmation.user_id,
    )
    return await send_order(desk, record.payload, anchor=callback.message)


async def send_order(desk: Desk, payload: dict[str, Any], *, anchor: object) -> str:
    """Record, send once, and say what happened (the text replaces the question)."""
    order = new_order(payload)
    repos = desk.repos
    record = await repos.taximaster.sending(
        order_key=order.key(desk.taximaster.tz),
        chat_id=desk.chat_id,
        thread_id=desk.thread,
        user_id=desk.user_id,
        locale=desk.i18n.current_locale,
        payload=payload,
    )
    sending = (CreateState.SENDING,)
    try:
        created = await desk.taximaster.create_order(order)
    except TaxiMasterOrderUnknown as exc:
        await repos.taximaster.move(record.create_id, CreateState.UNKNOWN, expected=sending)
        log.warning("taxi order %s: %s", record.create_id, exc.detail)
        return await after_lost_answer(desk, record)
    except TaxiMasterOrderExists as exc:
        log.info(
            "taxi order %s: Taxi-Master has such an order (%s)", record.create_id, exc.order_id
        )
        return await after_exists(desk, record, exc.order_id)
    except (TaxiMasterOrderNotSent, TaxiMasterDisabled, TaxiMasterRateLimited) as exc:
        await repos.taximaster.move(record.create_id, CreateState.NOT_SENT, expected=sending)
        log.warning("taxi order %s: not sent: %s", record.create_id, exc.detail)
        if isinstance(anchor, Message):
            await ask_to_confirm(
                anchor,
                repos,
                user_id=desk.user_id,
                action=ACTION,
                payload=payload,
                question=_("taximaster.order.send_again_question").format(
                    order=order_line(payload, desk.tz)
                ),
                yes_text=_("taximaster.order.btn_send_again"),
                no_text=_("taximaster.taxi.btn_cancel"),
            )
        return _("taximaster.order.not_sent").format(error=error_text(exc, desk.i18n))
    except TaxiMasterError as exc:
        await repos.taximaster.move(record.create_id, CreateState.REFUSED, expected=sending)
        return _("taximaster.order.failed").format(error=error_text(exc, desk.i18n))
    await repos.taximaster.move(
        record.create_id, CreateState.CREATED, expected=sending, order_id=created.order_id
    )
    await repos.audit.record(
        desk.user_id, ACTION, str(created.order_id), source=order.source, dest=order.dest or ""
    )
    await start_watching(
        desk.bot,
        repos,
        desk.tz,
        chat_id=desk.chat_id,
        thread=desk.thread,
        user_id=desk.user_id,
        order_id=created.order_id,
        order=payload,
    )
    return _("taximaster.order.created").format(id=created.order_id, source=q(order.source))


async def after_lost_answer(desk: Desk, record: CreateRecord) -> str:
    """The answer was lost: look for the order once (where TMWeb can list orders); adopt it
    if exactly one matches, else ask the person — with the truth and what is safe."""
    lookup = await look_for(desk.taximaster, desk.repos, record)
    if lookup.found is not None:
        order_id = lookup.found.id
        if await adopt(desk.bot, desk.repos, desk.tz, record, order_id, by=desk.user_id):
            return _("taximaster.pending.adopted").format(
                id=order_id, order=order_line(record.payload, desk.tz)
            )
    await post_prompt(desk.bot, desk.repos, desk.taximaster, record, desk.tz, lookup)
    return _("taximaster.order.unknown")


async def after_exists(desk: Desk, record: CreateRecord, order_id: int | None) -> str:
    """TMWeb said 100, "already created": no new order. The existing one is watched when
    TMWeb named it or a lookup finds exactly one; otherwise the person is told so."""
    if order_id is None:
        lookup = await look_for(desk.taximaster, desk.repos, record, made_by_us=False)
        order_id = lookup.found_id
    if order_id is not None and await adopt(
        desk.bot, desk.repos, desk.tz, record, order_id, by=desk.user_id
    ):
        return _("taximaster.order.exists_found").format(id=order_id)
    await desk.repos.taximaster.move(
        record.create_id, CreateState.EXISTS, expected=(CreateState.SENDING,)
    )
    return _("taximaster.order.exists")
