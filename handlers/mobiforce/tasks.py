"""/task <number | id> (the card), /tasks, /comment and the card's buttons (/close: close.py)."""

from __future__ import annotations

import logging
from typing import Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.buttons import pressed_on_its_message
from bot.ownership import Ownership, Viewer
from bot.prompts import ask
from bot.texts import answer_usage, clip
from handlers.mobiforce.callbacks import TaskCb, TasksPageCb
from handlers.mobiforce.directory import MobiforceDirectory
from handlers.mobiforce.facts import TaskFactsBook
from handlers.mobiforce.flows import CommentFlow
from handlers.mobiforce.new_task import start_wizard
from handlers.mobiforce.numbers import typed_number
from handlers.mobiforce.owners import pressed_task, sight_or_refuse, tell_owner
from handlers.mobiforce.render import render_task, task_button, task_line
from handlers.movizor.callbacks import LocateCb
from integrations.mobiforce.changes import snapshot_of
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import MobiforceRejected, says_gone
from integrations.mobiforce.facts import TaskFacts
from integrations.mobiforce.models import Task
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import MovizorError
from storage import Repos
from storage.users import User

log = logging.getLogger(__name__)

PAGE: Final = 10
MAX_COMMENT: Final = 2000
MAX_QUERY: Final = 100
MAX_QUERY_SHOWN: Final = 60


# --- finding a task ---------------------------------------------------------------------------
async def find_task(
    message: Message,
    text: str,
    mobiforce: MobiforceClient,
    directory: MobiforceDirectory,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
) -> Task | None:
    """The task a person named by number or internal id; answers and returns None if none, or
    if it is another chat's task this viewer may not see (handlers/mobiforce/owners.py).

    A malformed reference costs no call; a number the directory does not know is tried once as
    an internal id."""
    text = text.strip()
    ids = await directory.task_ids(text)
    if not ids:
        log.info("mobiforce: no task %r (not a number the bot knows)", text[:40])
        await message.answer(_("tasks.not_found").format(query=html.quote(clip(text, 40))))
        return None
    try:
        task = await mobiforce.get_task(ids[0])
    except MobiforceRejected as exc:
        if not says_gone(exc):
            raise  # a refusal for another reason: the error boundary says what Mobiforce said
        log.info("mobiforce: get-task %s: gone (%r)", ids[0], text[:40])
        await message.answer(_("tasks.not_found").format(query=html.quote(clip(text, 40))))
        return None
    if await sight_or_refuse(message, task.number, viewer, ownership) is None:
        return None
    facts = await TaskFactsBook(repos).of(task)
    await directory.remember_task(task, facts)
    await start_watching(task, facts, repos)
    return task


async def start_watching(task: Task, facts: TaskFacts, repos: Repos) -> None:
    """The first snapshot of a task a chat asked about, so the watcher's next change names
    what changed (a snapshot already kept is left alone: its pending change stays news)."""
    if not await repos.snapshots.get("mobiforce", [str(task.id)]):
        await repos.snapshots.put("mobiforce", str(task.id), snapshot_of(task, facts))


async def executor_phone(facts: TaskFacts, repos: Repos) -> str:
    if facts.executor_id is None:
        return ""
    entry = await repos.mobiforce.get("employee", facts.executor_id)
    return str(entry.data.get("phone") or "") if entry else ""


async def on_movizor(phone: str, movizor: MovizorClient | None, repos: Repos) -> bool:
    """Whether the executor's phone is a driver on Movizor (the bot's drivers first, then one
    Movizor lookup)."""
    if not phone or movizor is None:
        return False
    if await repos.drivers.get(phone) is not None:
        return True
    try:
        info = await movizor.object_get(phone)
    except MovizorError:
        return False
    await repos.drivers.upsert(phone, info.title or phone)
    return True


async def card_keyboard(
    task: Task, phone: str, movizor: MovizorClient | None, repos: Repos
) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    if not task.closed:
        keyboard.button(
            text=_("tasks.btn.comment"), callback_data=TaskCb(action="comment", id=task.id)
        )
        keyboard.button(text=_("tasks.btn.close"), callback_data=TaskCb(action="close", id=task.id))
    keyboard.button(text=_("tasks.btn.refresh"), callback_data=TaskCb(action="refresh", id=task.id))
    if await on_movizor(phone, movizor, repos):
        keyboard.button(
            text=_("tasks.btn.where"), callback_data=LocateCb(action="show", phone=phone)
        )
    keyboard.adjust(2, 1, 1)
    return keyboard.as_markup()


async def send_card(
    message: Message,
    task: Task,
    repos: Repos,
    tz: ZoneInfo,
    movizor: MovizorClient | None,
) -> None:
    facts = await TaskFactsBook(repos).of(task)
    phone = await executor_phone(facts, repos)
    await message.answer(
        render_task(task, facts, tz, phone),
        reply_markup=await card_keyboard(task, phone, movizor, repos),
    )


async def task_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    mobiforce: MobiforceClient,
    mobiforce_directory: MobiforceDirectory,
    repos: Repos,
    user: User,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
    movizor: MovizorClient | None = None,
) -> None:
    args = (command.args or "").strip()
    if not args:
        await answer_usage(message, "task")
        return
    if args.lower() in ("new", "новая", "создать"):
        await start_wizard(message, state, mobiforce, mobiforce_directory, repos, user)
        return
    task = await find_task(message, args, mobiforce, mobiforce_directory, repos, viewer, ownership)
    if task is not None:
        await send_card(message, task, repos, timezone, movizor)


async def card_pressed(
    callback: CallbackQuery,
    callback_data: TaskCb,
    mobiforce: MobiforceClient,
    mobiforce_directory: MobiforceDirectory,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
    movizor: MovizorClient | None = None,
) -> None:
    """«🔄 Обновить» edits the card in place; a task picked from a list gets a new card (for
    whoever may see the task now)."""
    card = pressed_on_its_message(callback)  # only the card this button belongs to
    if card is None:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    task = await mobiforce.get_task(callback_data.id)
    if await sight_or_refuse(callback, task.number, viewer, ownership) is None:
        return
    facts = await TaskFactsBook(repos).of(task)
    await mobiforce_directory.remember_task(task, facts)
    await callback.answer()
    if callback_data.action == "show":
        await send_card(card, task, repos, timezone, movizor)
        return
    phone = await executor_phone(facts, repos)
    try:
        await card.edit_text(
            render_task(task, facts, timezone, phone),
            reply_markup=await card_keyboard(task, phone, movizor, repos),
        )
    except TelegramBadRequest as exc:  # "message is not modified": nothing changed
        log.debug("task card not edited: %s", exc)


# --- /tasks -----------------------------------------------------------------------------------
async def hidden_tasks(viewer: Viewer, ownership: Ownership, repos: Repos) -> set[str]:
    """The numbers (in lower case) of the tasks other chats own that this viewer may not see."""
    owned = [owner.subject_key for owner in await repos.item_owners.of_type("task")]
    visible = await ownership.visible(viewer, owned)
    return {key.partition(":")[2] for key in owned if key not in visible}


async def tasks_page(
    query: str, page: int, repos: Repos, hidden: set[str]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the tasks the bot knows matching ``query`` (a number as people type it:
    «№23» searches «23»), with buttons to each task and to the next and previous pages; none of
    the ``hidden`` numbers (other chats' tasks)."""
    query = typed_number(query) or query
    total = await repos.mobiforce.count("task", query, excluded=hidden)
    if total == 0:
        key = "tasks.list.none_found" if query else "tasks.list.empty"
        return _(key).format(query=html.quote(clip(query, MAX_QUERY_SHOWN))), None
    pages = (total + PAGE - 1) // PAGE
    page = max(0, min(page, pages - 1))
    entries = await repos.mobiforce.find(
        "task", query, limit=PAGE, offset=page * PAGE, newest=True, excluded=hidden
    )
    lines = [
        _("tasks.list.title").format(count=total, page=page + 1, pages=pages),
        *(task_line(entry) for entry in entries),
    ]
    keyboard = InlineKeyboardBuilder()
    for entry in entries:
        keyboard.button(text=task_button(entry), callback_data=TaskCb(action="show", id=entry.id))
    # A page button carries a short key of the query, whatever the query holds (":" would
    # break callback data, a long Cyrillic one would not fit its 64 bytes).
    search = await repos.mobiforce.save_search(query) if query and pages > 1 else ""
    nav = 0
    if page > 0:
        keyboard.button(text="◀️", callback_data=TasksPageCb(page=page - 1, s=search))
        nav += 1
    if page + 1 < pages:
        keyboard.button(text="▶️", callback_data=TasksPageCb(page=page + 1, s=search))
        nav += 1
    keyboard.adjust(*([1] * len(entries)), nav or 1)
    return "\n".join(lines), keyboard.as_markup()


async def list_tasks(
    message: Message, command: CommandObject, repos: Repos, viewer: Viewer, ownership: Ownership
) -> None:
    hidden = await hidden_tasks(viewer, ownership, repos)
    text, keyboard = await tasks_page((command.args or "").strip()[:MAX_QUERY], 0, repos, hidden)
    await message.answer(text, reply_markup=keyboard)


async def tasks_page_pressed(
    callback: CallbackQuery,
    callback_data: TasksPageCb,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    query = await repos.mobiforce.search_of(callback_data.s) if callback_data.s else ""
    if query is None or not isinstance(callback.message, Message):
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    await callback.answer()
    hidden = await hidden_tasks(viewer, ownership, repos)
    text, keyboard = await tasks_page(query, callback_data.page, repos, hidden)
    await callback.message.edit_text(text, reply_markup=keyboard)


# --- /comment ---------------------------------------------------------------------------------
async def add_comment(
    message: Message,
    task: Task,
    text: str,
    mobiforce: MobiforceClient,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    sight = await sight_or_refuse(message, task.number, viewer, ownership)
    if sight is None:
        return
    await mobiforce.create_comment(task.id, text)
    await repos.audit.record(viewer.user_id, "mobiforce.comment", str(task.id), number=task.number)
    await tell_owner(ownership, viewer, sight, task.number, "commented", comment=clip(text, 300))
    await message.answer(_("tasks.comment.done").format(number=html.quote(task.number)))


async def comment(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    mobiforce: MobiforceClient,
    mobiforce_directory: MobiforceDirectory,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    reference, _sep, text = (command.args or "").strip().partition(" ")
    text = text.strip()
    if not reference or not text:
        await answer_usage(message, "comment")
        return
    task = await find_task(
        message, reference, mobiforce, mobiforce_directory, repos, viewer, ownership
    )
    if task is None:
        return
    if len(text) > MAX_COMMENT:  # asked again as «💬 Комментарий» asks: the next message is it
        await state.set_state(CommentFlow.text)
        await state.set_data({"task_id": task.id})
        await ask(message, _("tasks.comment.too_long").format(max=MAX_COMMENT))
        return
    await add_comment(message, task, text, mobiforce, repos, viewer, ownership)


async def comment_pressed(
    callback: CallbackQuery,
    callback_data: TaskCb,
    state: FSMContext,
    mobiforce: MobiforceClient,
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    pressed = await pressed_task(callback, callback_data.id, mobiforce, viewer, ownership)
    if pressed is None:
        return
    await state.set_state(CommentFlow.text)
    await state.set_data({"task_id": callback_data.id})
    await ask(pressed[0], _("tasks.comment.ask"), who=callback.from_user)


async def comment_typed(
    message: Message,
    state: FSMContext,
    mobiforce: MobiforceClient,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    text = (message.text or "").strip()
    if not text or len(text) > MAX_COMMENT:
        await ask(message, _("tasks.comment.too_long").format(max=MAX_COMMENT))
        return
    task_id = int((await state.get_data())["task_id"])
    await state.clear()
    task = await mobiforce.get_task(task_id)
    await add_comment(message, task, text, mobiforce, repos, viewer, ownership)
