"""`/task new`, the first steps: template -> client (found locally, or a new one) -> address ->
executor -> planned start. The template's required fields and the summary follow in
:mod:`handlers.mobiforce.task_fields`; creating the task in :mod:`handlers.mobiforce.create_task`.

Every typed step goes through bot.prompts.ask, so the wizard works in groups under privacy mode.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _

from bot.access import role_name
from bot.phones import BadPhone, mask_phones, normalize_phone
from bot.policy import allows, rule_of
from bot.prompts import ask
from bot.texts import clip
from handlers.mobiforce.callbacks import NewTaskCb
from handlers.mobiforce.common import button_keyboard, topic_of
from handlers.mobiforce.directory import MobiforceDirectory
from handlers.mobiforce.flows import NewTaskFlow
from handlers.mobiforce.picker import PICK_PAGE, matching, pick_keyboard
from handlers.mobiforce.task_fields import next_field
from handlers.movizor.parsing import parse_when, when_example
from integrations.mobiforce.client import MobiforceClient
from storage import Repos
from storage.db import utcnow
from storage.mobiforce import Entry
from storage.users import User

log = logging.getLogger(__name__)

RULE: Final = "task new"  # bot/policy.py SUBCOMMANDS
MAX_BUTTONS: Final = 8
MAX_TEXT: Final = 200
TOMORROW_HOUR: Final = 9


async def refuse_unless_dispatcher(message: Message, user: User) -> bool:
    required = rule_of(RULE).required(message.chat.type)
    if allows(user.role, required):
        return False
    assert required is not None
    await message.answer(
        _("access.forbidden").format(
            command="task new", required=role_name(required), current=role_name(user.role)
        )
    )
    return True


async def start_wizard(
    message: Message,
    state: FSMContext,
    mobiforce: MobiforceClient,
    directory: MobiforceDirectory,
    repos: Repos,
    user: User,
) -> None:
    if await refuse_unless_dispatcher(message, user):
        return
    templates = await repos.mobiforce.all("template")
    if not templates:  # the first sync has not finished yet: templates are a page or two
        templates = [
            Entry("template", t.id, t.name) async for t in mobiforce.iter_templates(max_pages=5)
        ]
        await repos.mobiforce.upsert("template", templates)
    if not templates:
        await message.answer(_("tasks.new.no_templates"))
        return
    await state.clear()
    await state.set_state(NewTaskFlow.template)
    await state.set_data({"props": {}, "thread": topic_of(message), "query": ""})
    await ask(
        message, pick_text("tasks.new.ask_template", templates, ""), template_keyboard(templates)
    )


# --- the pick lists: a page of buttons, ◀️ ▶️, a typed part of the name narrows them ----------
def pick_text(key: str, entries: list[Entry], query: str) -> str:
    text = _(key)
    if query:
        return (
            text
            + "\n"
            + _("tasks.new.pick_found").format(
                query=html.quote(clip(query, 40)), count=len(entries)
            )
        )
    if len(entries) > PICK_PAGE:
        text += "\n" + _("tasks.new.pick_hint").format(count=len(entries))
    return text


def template_keyboard(templates: list[Entry], page: int = 0) -> InlineKeyboardMarkup:
    return pick_keyboard(templates, page, pick="tpl", turn="tplpg")


def executor_keyboard(employees: list[Entry], page: int = 0) -> InlineKeyboardMarkup:
    extra = [(_("tasks.new.btn_no_executor"), NewTaskCb(step="noexe"))]
    return pick_keyboard(employees, page, pick="exe", turn="exepg", extra=extra)


async def mobile_employees(repos: Repos) -> list[Entry]:
    return [e for e in await repos.mobiforce.all("employee") if e.data.get("mobile")]


async def template_typed(message: Message, state: FSMContext, repos: Repos) -> None:
    query = (message.text or "").strip()[:MAX_TEXT]
    found = matching(await repos.mobiforce.all("template"), query)
    await state.update_data(query=query)
    await ask(message, pick_text("tasks.new.ask_template", found, query), template_keyboard(found))


async def executor_typed(message: Message, state: FSMContext, repos: Repos) -> None:
    query = (message.text or "").strip()[:MAX_TEXT]
    found = matching(await mobile_employees(repos), query)
    await state.update_data(query=query)
    await ask(message, pick_text("tasks.new.ask_executor", found, query), executor_keyboard(found))


async def page_turned(
    callback: CallbackQuery, callback_data: NewTaskCb, state: FSMContext, repos: Repos
) -> None:
    """◀️ ▶️ of a pick list: the same list (narrowed as it was), another page."""
    query = str((await state.get_data()).get("query") or "")
    if callback_data.step == "tplpg":
        keyboard = template_keyboard(
            matching(await repos.mobiforce.all("template"), query), callback_data.value
        )
    else:
        keyboard = executor_keyboard(
            matching(await mobile_employees(repos), query), callback_data.value
        )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=keyboard)


async def template_picked(
    callback: CallbackQuery,
    callback_data: NewTaskCb,
    state: FSMContext,
    mobiforce: MobiforceClient,
) -> None:
    template = await mobiforce.get_template(callback_data.value)
    required: list[dict[str, Any]] = []
    for item in template.required_props:
        if item.field.id is None:
            continue
        spec = await mobiforce.get_template_field(item.field.id)
        required.append(
            {
                "id": spec.id,
                "name": item.name or spec.name,
                "type": spec.type.id,
                "values": [v.name for v in spec.value_list if not v.deleted and v.name],
            }
        )
    duration = int(template.duration.total_seconds()) if template.duration else 0
    await state.update_data(
        template_id=template.id, template=template.name, duration=duration, required=required
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("tasks.new.template_picked").format(template=html.quote(template.name))
        )
        await ask_client(callback.message, state, callback.from_user)


def new_client_button() -> tuple[str, NewTaskCb]:
    return (_("tasks.new.btn_new_client"), NewTaskCb(step="newcli"))


async def ask_client(message: Message, state: FSMContext, who: TgUser | None = None) -> None:
    await state.set_state(NewTaskFlow.client)
    await ask(message, _("tasks.new.ask_client"), button_keyboard([new_client_button()]), who=who)


async def client_typed(message: Message, state: FSMContext, repos: Repos) -> None:
    """Part of a client's name: matches from the bot's directory as buttons (no upstream call)."""
    query = (message.text or "").strip()[:MAX_TEXT]
    found = await repos.mobiforce.find("contractor", query, limit=MAX_BUTTONS)
    buttons = [(c.name, NewTaskCb(step="cli", value=c.id)) for c in found]
    buttons.append(new_client_button())
    key = "tasks.new.clients_found" if found else "tasks.new.clients_none"
    await ask(message, _(key).format(query=html.quote(query)), button_keyboard(buttons))


async def client_picked(
    callback: CallbackQuery,
    callback_data: NewTaskCb,
    state: FSMContext,
    mobiforce: MobiforceClient,
) -> None:
    contractor = await mobiforce.get_contractor(callback_data.value)
    await state.update_data(
        client_id=contractor.id, client=contractor.name, client_address=contractor.address
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("tasks.new.client_picked").format(client=html.quote(contractor.name))
        )
        await ask_address(callback.message, state, callback.from_user)


async def new_client_pressed(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    await state.set_state(NewTaskFlow.client_name)
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask(callback.message, _("tasks.new.ask_client_name"), who=callback.from_user)


async def client_name_typed(message: Message, state: FSMContext) -> None:
    name = (message.text or "").strip()
    if not name or len(name) > MAX_TEXT:
        await ask(message, _("tasks.new.bad_text").format(max=MAX_TEXT))
        return
    await state.update_data(new_client={"name": name}, client=name, client_id=None)
    await state.set_state(NewTaskFlow.client_address)
    await ask(message, _("tasks.new.ask_client_address"))


async def client_address_typed(message: Message, state: FSMContext) -> None:
    address = (message.text or "").strip()
    if not address or len(address) > MAX_TEXT:
        await ask(message, _("tasks.new.bad_text").format(max=MAX_TEXT))
        return
    data = await state.get_data()
    await state.update_data(
        new_client={**data["new_client"], "address": address}, client_address=address
    )
    await state.set_state(NewTaskFlow.client_phone)
    await ask(
        message,
        _("tasks.new.ask_client_phone"),
        button_keyboard([(_("tasks.new.btn_skip"), NewTaskCb(step="nophone"))]),
    )


async def client_phone_typed(message: Message, state: FSMContext) -> None:
    typed = (message.text or "").strip()
    try:
        phone = normalize_phone(typed)
    except BadPhone:
        log.info("mobiforce wizard: bad client phone %r", mask_phones(typed[:40]))
        await ask(
            message,
            _("drivers.bad_phone").format(phone=html.quote(typed[:40])),
            button_keyboard([(_("tasks.new.btn_skip"), NewTaskCb(step="nophone"))]),
        )
        return
    data = await state.get_data()
    await state.update_data(new_client={**data["new_client"], "phone": phone})
    await ask_address(message, state)


async def client_phone_skipped(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask_address(callback.message, state, callback.from_user)


async def ask_address(message: Message, state: FSMContext, who: TgUser | None = None) -> None:
    data = await state.get_data()
    await state.set_state(NewTaskFlow.address)
    client_address = data.get("client_address") or ""
    keyboard = (
        button_keyboard([(_("tasks.new.btn_client_address"), NewTaskCb(step="cliaddr"))])
        if client_address
        else None
    )
    text = _("tasks.new.ask_address")
    if client_address:
        text += "\n" + _("tasks.new.client_address").format(address=html.quote(client_address))
    await ask(message, text, keyboard, who=who)


async def address_typed(message: Message, state: FSMContext, repos: Repos) -> None:
    address = (message.text or "").strip()
    if not address or len(address) > MAX_TEXT:
        await ask(message, _("tasks.new.bad_text").format(max=MAX_TEXT))
        return
    await state.update_data(address=address)
    await ask_executor(message, state, repos)


async def client_address_pressed(callback: CallbackQuery, state: FSMContext, repos: Repos) -> None:
    data = await state.get_data()
    await state.update_data(address=data.get("client_address") or "")
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask_executor(callback.message, state, repos, callback.from_user)


async def ask_executor(
    message: Message, state: FSMContext, repos: Repos, who: TgUser | None = None
) -> None:
    await state.set_state(NewTaskFlow.executor)
    await state.update_data(query="")
    employees = await mobile_employees(repos)
    text = pick_text("tasks.new.ask_executor", employees, "")
    await ask(message, text, executor_keyboard(employees), who=who)


async def executor_picked(
    callback: CallbackQuery,
    callback_data: NewTaskCb,
    state: FSMContext,
    repos: Repos,
    timezone: ZoneInfo,
) -> None:
    if callback_data.step == "exe":
        entry = await repos.mobiforce.get("employee", callback_data.value)
        if entry is None:
            await callback.answer(_("error.button_expired"), show_alert=True)
            return
        await state.update_data(executor_id=entry.id, executor=entry.name)
        picked = entry.name
    else:
        await state.update_data(executor_id=None, executor="")
        picked = _("tasks.new.btn_no_executor")
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("tasks.new.executor_picked").format(executor=html.quote(picked))
        )
        await ask_start(callback.message, state, timezone, callback.from_user)


def day_choices(tz: ZoneInfo) -> list[datetime]:
    """«Сегодня»: the next full hour after an hour from now; «Завтра»: 09:00 tomorrow."""
    local = utcnow().astimezone(tz)
    today = (local + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=1
    )
    tomorrow = (local + timedelta(days=1)).replace(
        hour=TOMORROW_HOUR, minute=0, second=0, microsecond=0
    )
    return [today, tomorrow]


async def ask_start(
    message: Message, state: FSMContext, tz: ZoneInfo, who: TgUser | None = None
) -> None:
    await state.set_state(NewTaskFlow.start)
    today, tomorrow = day_choices(tz)
    keyboard = button_keyboard(
        [
            (_("tasks.new.btn_today").format(time=today.strftime("%H:%M")), NewTaskCb(step="day")),
            (
                _("tasks.new.btn_tomorrow").format(time=tomorrow.strftime("%H:%M")),
                NewTaskCb(step="day", value=1),
            ),
        ]
    )
    text = _("tasks.new.ask_start").format(example=when_example(tz), zone=html.quote(str(tz)))
    await ask(message, text, keyboard, who=who)


async def start_typed(
    message: Message, state: FSMContext, repos: Repos, user: User, timezone: ZoneInfo
) -> None:
    now = utcnow()
    moment = parse_when(message.text or "", timezone, now)
    if moment is None:
        log.info("mobiforce wizard: bad start %r", (message.text or "")[:40])
        await ask(
            message,
            _("tasks.new.bad_start").format(
                text=html.quote((message.text or "")[:40]), example=when_example(timezone)
            ),
        )
        return
    if moment <= now:
        await ask(message, _("tasks.new.start_past"))
        return
    await set_start(message, state, moment, repos, user, timezone)


async def day_pressed(
    callback: CallbackQuery,
    callback_data: NewTaskCb,
    state: FSMContext,
    repos: Repos,
    user: User,
    timezone: ZoneInfo,
) -> None:
    moment = day_choices(timezone)[1 if callback_data.value else 0]
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await set_start(callback.message, state, moment, repos, user, timezone, callback.from_user)


async def set_start(
    message: Message,
    state: FSMContext,
    moment: datetime,
    repos: Repos,
    user: User,
    tz: ZoneInfo,
    who: TgUser | None = None,
) -> None:
    data = await state.get_data()
    end = moment + timedelta(seconds=data["duration"]) if data.get("duration") else None
    await state.update_data(start=moment.isoformat(), end=end.isoformat() if end else None, field=0)
    await next_field(message, state, repos, user, tz, who)


async def stale_button(callback: CallbackQuery) -> None:
    await callback.answer(_("error.button_expired"), show_alert=True)
