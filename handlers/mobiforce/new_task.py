"""`/task new`: template -> client (found locally, or a new one) -> address -> executor ->
planned start -> the template's required fields -> summary with a one-shot «✅ Создать».

Every typed step goes through bot.prompts.ask, so the wizard works in groups under privacy mode.
The confirm is one-shot; when Mobiforce does not answer a create, «🔁 Повторить» first looks
for the task the lost answer may have created, so a retry never makes a second task.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.access import role_name
from bot.confirm import ask_to_confirm, on_confirm
from bot.i18n import PoI18n
from bot.phones import BadPhone, format_phone, mask_phones, normalize_phone
from bot.policy import allows, rule_of
from bot.prompts import ask
from handlers.mobiforce.callbacks import NewTaskCb
from handlers.mobiforce.directory import MobiforceDirectory
from handlers.mobiforce.render import when
from handlers.mobiforce.tasks import error_text, topic_of
from handlers.movizor.parsing import parse_when, when_example
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import (
    MobiforceError,
    MobiforceRejected,
    MobiforceUnavailable,
)
from integrations.mobiforce.inputs import Address, ContractorInput, TaskInput
from integrations.mobiforce.models import PHOTO_FIELD_TYPE, Task
from integrations.mobiforce.watcher import snapshot_of
from storage import Repos
from storage.confirmations import Confirmation
from storage.db import utcnow
from storage.mobiforce import Entry
from storage.users import User

log = logging.getLogger(__name__)

RULE: Final = "task new"  # bot/policy.py SUBCOMMANDS
MAX_BUTTONS: Final = 8
MAX_TEXT: Final = 200
TOMORROW_HOUR: Final = 9
LIST_TYPE, BOOL_TYPE, NUMBER_TYPE = "5", "4", "2"
TWIN_CANDIDATES: Final = 10


class NewTaskFlow(StatesGroup):
    template = State()
    client = State()
    client_name = State()
    client_address = State()
    client_phone = State()
    address = State()
    executor = State()
    start = State()
    field = State()


def button_keyboard(buttons: list[tuple[str, NewTaskCb]]) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    for text, data in buttons:
        keyboard.button(text=text[:64], callback_data=data)
    keyboard.adjust(1)
    return keyboard.as_markup()


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
    await state.set_data({"props": {}, "thread": topic_of(message)})
    keyboard = button_keyboard(
        [(t.name, NewTaskCb(step="tpl", value=t.id)) for t in templates[:20]]
    )
    await message.answer(_("tasks.new.ask_template"), reply_markup=keyboard)


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
        await ask_executor(callback.message, state, repos)


async def ask_executor(message: Message, state: FSMContext, repos: Repos) -> None:
    await state.set_state(NewTaskFlow.executor)
    employees = [e for e in await repos.mobiforce.all("employee") if e.data.get("mobile")]
    buttons = [(e.name, NewTaskCb(step="exe", value=e.id)) for e in employees[:20]]
    buttons.append((_("tasks.new.btn_no_executor"), NewTaskCb(step="noexe")))
    await message.answer(_("tasks.new.ask_executor"), reply_markup=button_keyboard(buttons))


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
            value = float(typed.replace(",", ".").replace(" ", ""))
        except ValueError:
            await ask(message, _("tasks.new.bad_number").format(text=html.quote(typed[:40])))
            return
        value = int(value) if value.is_integer() else value
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
    start = datetime.fromisoformat(data["start"])
    end = datetime.fromisoformat(data["end"]) if data.get("end") else None
    lines = [
        _("tasks.new.summary"),
        _("tasks.new.sum_template").format(template=html.quote(data["template"])),
        _("tasks.new.sum_client").format(client=html.quote(data["client"]))
        + (_("tasks.new.sum_new_client") if data.get("new_client") else ""),
        _("tasks.card.address").format(address=html.quote(data.get("address") or "—")),
        _("tasks.card.executor").format(
            executor=html.quote(data.get("executor") or "") or _("tasks.new.sum_draft")
        ),
        _("tasks.card.planned").format(
            when=when(start, tz) + (f" – {end.astimezone(tz).strftime('%H:%M')}" if end else "")
        ),
    ]
    new_client = data.get("new_client") or {}
    if new_client.get("phone"):
        lines.append(_("tasks.client.phone").format(phone=format_phone(new_client["phone"])))
    names = {str(spec["id"]): spec["name"] for spec in data.get("required") or []}
    for field_id, value in (data.get("props") or {}).items():
        shown = (_("field.yes") if value else _("field.no")) if isinstance(value, bool) else value
        lines.append(f"• {html.quote(names.get(field_id, field_id))}: {html.quote(str(shown))}")
    return "\n".join(lines)


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
    payload["key"] = f"logibot-{user.id}-{int(utcnow().timestamp() * 1000)}"
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


async def stale_button(callback: CallbackQuery) -> None:
    await callback.answer(_("error.button_expired"), show_alert=True)


# --- creating -----------------------------------------------------------------------------------
def task_input(payload: dict[str, Any], contractor_id: int) -> TaskInput:
    executor = payload.get("executor_id")
    props = {int(k): v for k, v in (payload.get("props") or {}).items()}
    return TaskInput(
        template_id=int(payload["template_id"]),
        contractor_id=contractor_id,
        employee_id=int(executor) if executor else None,
        draft=not executor,
        address=Address(payload["address"]) if payload.get("address") else None,
        planned_start=datetime.fromisoformat(payload["start"]),
        planned_end=datetime.fromisoformat(payload["end"]) if payload.get("end") else None,
        props=props,
    )


async def client_id_for(
    payload: dict[str, Any], mobiforce: MobiforceClient, directory: MobiforceDirectory
) -> int:
    """The task's client; a new client is created first (Mobiforce requires it), under an
    external id of this confirmation, so a retry finds it instead of creating a second."""
    new_client = payload.get("new_client")
    if not new_client:
        return int(payload["client_id"])
    external_id = str(payload["key"])
    try:
        return (await mobiforce.get_contractor_by_external_id(external_id)).id
    except MobiforceRejected:
        pass
    contractor_id = await mobiforce.create_contractor(
        ContractorInput(
            name=new_client["name"],
            external_id=external_id,
            address=Address(new_client["address"]) if new_client.get("address") else None,
            phones=[new_client["phone"]] if new_client.get("phone") else (),
        )
    )
    await directory.remember_contractor(contractor_id, new_client["name"])
    return contractor_id


def is_twin(task: Task, payload: dict[str, Any], contractor_id: int) -> bool:
    start = datetime.fromisoformat(payload["start"])
    return (
        task.template is not None
        and task.template.id == int(payload["template_id"])
        and task.contractor is not None
        and task.contractor.id == contractor_id
        and task.planned_start is not None
        and abs((task.planned_start - start).total_seconds()) < 60
    )


async def find_twin(
    payload: dict[str, Any], contractor_id: int, mobiforce: MobiforceClient, repos: Repos
) -> Task | None:
    """After a create whose answer was lost: the task it made, if it made one. The newest
    tasks of the change feed past the watcher's cursor, and those the watcher has just seen."""
    candidates: list[int] = []
    cursor = await repos.alert_state.cursor("mobiforce")
    if cursor and cursor.isdigit():
        rows = await mobiforce.get_updates(int(cursor))
        candidates += [row.object_id for row in reversed(rows)]
    recent = await repos.mobiforce.find("task", "", limit=TWIN_CANDIDATES, newest=True)
    candidates += [entry.id for entry in recent]
    for task_id in list(dict.fromkeys(candidates))[:TWIN_CANDIDATES]:
        try:
            task = await mobiforce.get_task(task_id)
        except MobiforceRejected:
            continue
        if is_twin(task, payload, contractor_id):
            return task
    return None


@on_confirm("mobiforce.create", rule=RULE)
async def create_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    mobiforce: MobiforceClient,
    mobiforce_directory: MobiforceDirectory,
    repos: Repos,
    i18n: PoI18n,
) -> str:
    payload = dict(confirmation.payload)
    try:
        contractor_id = await client_id_for(payload, mobiforce, mobiforce_directory)
        task: Task | None = None
        if payload.get("retry"):
            task = await find_twin(payload, contractor_id, mobiforce, repos)
        if task is None:
            task_id = await mobiforce.create_task(task_input(payload, contractor_id))
            task = await mobiforce.get_task(task_id)
    except MobiforceUnavailable as exc:
        # The create may have happened: offer a retry that looks for it first.
        log.warning("mobiforce create-task: no answer (%s); offering a safe retry", exc)
        if isinstance(callback.message, Message):
            await ask_to_confirm(
                callback.message,
                repos,
                user_id=confirmation.user_id,
                action="mobiforce.create",
                payload={**payload, "retry": True},
                question=_("tasks.new.retry_question"),
                yes_text=_("tasks.new.btn_retry"),
                no_text=_("tasks.new.btn_cancel"),
            )
        return error_text(exc, i18n)
    except MobiforceError as exc:
        return error_text(exc, i18n)
    await watch_task(task, confirmation, repos, mobiforce_directory)
    await repos.audit.record(
        confirmation.user_id, "mobiforce.create", str(task.id), number=task.number
    )
    key = "tasks.new.done_draft" if task.draft else "tasks.new.done_sent"
    return _(key).format(number=html.quote(task.number), client=html.quote(str(payload["client"])))


async def watch_task(
    task: Task, confirmation: Confirmation, repos: Repos, directory: MobiforceDirectory
) -> None:
    """The chat that created the task watches it; the watcher knows it already (no alert for
    the chat's own creation)."""
    await repos.snapshots.put("mobiforce", str(task.id), snapshot_of(task))
    await directory.remember_task(task)
    thread = int(str(confirmation.payload.get("thread") or 0))
    await repos.subscriptions.add(
        confirmation.chat_id, thread, "all", f"task:{task.number}", by=confirmation.user_id
    )
