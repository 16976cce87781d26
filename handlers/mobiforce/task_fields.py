"""`/task new`, the last steps: the template's required fields (a list or yes/no by buttons,
text and numbers typed), then the summary with a one-shot «✅ Создать»."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _

from bot.confirm import ask_to_confirm
from bot.phones import format_phone
from bot.prompts import ask
from bot.texts import clip
from handlers.mobiforce.callbacks import NewTaskCb
from handlers.mobiforce.common import button_keyboard
from handlers.mobiforce.flows import NewTaskFlow
from handlers.mobiforce.numbers import new_marker
from handlers.mobiforce.render import MAX_NAME, MAX_VALUE, fit, when
from integrations.mobiforce.inputs import parse_number
from integrations.mobiforce.models import PHOTO_FIELD_TYPE
from storage import Repos
from storage.db import utcnow
from storage.users import User

log = logging.getLogger(__name__)

MAX_TEXT = 200
LIST_TYPE, BOOL_TYPE, NUMBER_TYPE = "5", "4", "2"


async def next_field(
    message: Message,
    state: FSMContext,
    repos: Repos,
    user: User,
    tz: ZoneInfo,
    who: TgUser | None = None,
) -> None:
    """Ask the next required field of the template; photos are left to the executor."""
    data = await state.get_data()
    required = data.get("required") or []
    index = data.get("field", 0)
    while index < len(required) and required[index]["type"] == PHOTO_FIELD_TYPE:
        index += 1
    if index >= len(required):
        await show_summary(message, state, repos, user, tz)
        return
    await state.update_data(field=index)
    await state.set_state(NewTaskFlow.field)
    spec = required[index]
    text = _("tasks.new.ask_field").format(name=html.quote(spec["name"]))
    keyboard = None
    if spec["type"] == LIST_TYPE and spec["values"]:
        keyboard = button_keyboard(
            [(value, NewTaskCb(step="val", value=i)) for i, value in enumerate(spec["values"])]
        )
    elif spec["type"] == BOOL_TYPE:
        keyboard = button_keyboard(
            [
                (_("field.yes"), NewTaskCb(step="val", value=1)),
                (_("field.no"), NewTaskCb(step="val", value=0)),
            ]
        )
    if keyboard is not None:
        await message.answer(text, reply_markup=keyboard)
    else:
        await ask(message, text, who=who)


async def field_typed(
    message: Message, state: FSMContext, repos: Repos, user: User, timezone: ZoneInfo
) -> None:
    data = await state.get_data()
    spec = data["required"][data["field"]]
    typed = (message.text or "").strip()
    value: Any = typed
    if spec["type"] in (LIST_TYPE, BOOL_TYPE):
        await message.answer(_("tasks.new.press_a_button"))
        return
    if spec["type"] == NUMBER_TYPE:
        try:
            value = parse_number(typed)
        except ValueError:
            log.info("mobiforce wizard: bad number %r", typed[:40])
            await ask(message, _("tasks.new.bad_number").format(text=html.quote(clip(typed, 40))))
            return
    elif not typed or len(typed) > MAX_TEXT:
        await ask(message, _("tasks.new.bad_text").format(max=MAX_TEXT))
        return
    await field_done(message, state, value, repos, user, timezone)


async def value_pressed(
    callback: CallbackQuery,
    callback_data: NewTaskCb,
    state: FSMContext,
    repos: Repos,
    user: User,
    timezone: ZoneInfo,
) -> None:
    data = await state.get_data()
    spec = data["required"][data["field"]]
    if spec["type"] == BOOL_TYPE:
        value: Any = bool(callback_data.value)
    elif 0 <= callback_data.value < len(spec["values"]):
        value = spec["values"][callback_data.value]
    else:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await field_done(callback.message, state, value, repos, user, timezone, callback.from_user)


async def field_done(
    message: Message,
    state: FSMContext,
    value: Any,
    repos: Repos,
    user: User,
    tz: ZoneInfo,
    who: TgUser | None = None,
) -> None:
    data = await state.get_data()
    spec = data["required"][data["field"]]
    props = {**data.get("props", {}), str(spec["id"]): value}
    await state.update_data(props=props, field=data["field"] + 1)
    await next_field(message, state, repos, user, tz, who)


def summary_text(data: dict[str, Any], tz: ZoneInfo) -> str:
    """The summary before «✅ Создать»: one message, however many fields."""
    start = datetime.fromisoformat(data["start"])
    end = datetime.fromisoformat(data["end"]) if data.get("end") else None
    head = [
        _("tasks.new.summary"),
        _("tasks.new.sum_number").format(number=html.quote(data["marker"])),
        _("tasks.new.sum_template").format(template=html.quote(clip(data["template"], MAX_NAME))),
        _("tasks.new.sum_client").format(client=html.quote(clip(data["client"], MAX_NAME)))
        + (_("tasks.new.sum_new_client") if data.get("new_client") else ""),
        _("tasks.card.address").format(address=html.quote(data.get("address") or "—")),
        _("tasks.card.executor").format(
            executor=html.quote(clip(data.get("executor") or "", MAX_NAME))
            or _("tasks.new.sum_draft")
        ),
        _("tasks.card.planned").format(
            when=when(start, tz) + (f" – {end.astimezone(tz).strftime('%H:%M')}" if end else "")
        ),
    ]
    new_client = data.get("new_client") or {}
    if new_client.get("phone"):
        head.append(_("tasks.client.phone").format(phone=format_phone(new_client["phone"])))
    names = {str(spec["id"]): spec["name"] for spec in data.get("required") or []}
    items = []
    for field_id, value in (data.get("props") or {}).items():
        shown = (_("field.yes") if value else _("field.no")) if isinstance(value, bool) else value
        name = clip(names.get(field_id, field_id), MAX_NAME)
        items.append(f"• {html.quote(name)}: {html.quote(clip(str(shown), MAX_VALUE))}")
    return "\n".join(fit(head, items, []))


async def show_summary(
    message: Message, state: FSMContext, repos: Repos, user: User, tz: ZoneInfo
) -> None:
    data = await state.get_data()
    await state.clear()
    payload = {
        key: data.get(key)
        for key in (
            "template_id",
            "template",
            "client_id",
            "client",
            "new_client",
            "address",
            "executor_id",
            "executor",
            "start",
            "end",
            "props",
            "required",
            "thread",
        )
    }
    payload["marker"] = new_marker(utcnow())  # the task's number: found again after a lost answer
    await ask_to_confirm(
        message,
        repos,
        user_id=user.id,
        action="mobiforce.create",
        payload=payload,
        question=summary_text(payload, tz),
        yes_text=_("tasks.new.btn_create"),
        no_text=_("tasks.new.btn_cancel"),
    )
