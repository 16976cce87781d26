"""/close <number | id> [text] and the card's «✔️ Закрыть»: close-task, asked to confirm.

close-task cannot be undone, and its answer can be lost after the task was closed. So the bot
never says "not closed" after a lost answer without having read the task again: get-task tells
an open task from a closed one where the account sends a status or the closing (the document's
get-task has neither); otherwise the bot says it cannot tell, and «🔎 Проверить» reads again.
Nothing is closed twice by the bot on its own.
"""

from __future__ import annotations

import logging
from typing import Final

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.confirm import ask_to_confirm, on_confirm
from bot.i18n import PoI18n
from bot.ownership import Ownership, Viewer
from bot.settings.values import SettingsValues
from bot.texts import answer_usage, clip
from handlers.mobiforce.callbacks import TaskCb
from handlers.mobiforce.common import error_text
from handlers.mobiforce.directory import MobiforceDirectory
from handlers.mobiforce.facts import TaskFactsBook
from handlers.mobiforce.owners import pressed_task, sight_or_refuse, task_subject, tell_owner
from handlers.mobiforce.settings import CLOSE_STATUS
from handlers.mobiforce.tasks import find_task
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import MobiforceError, MobiforceUnavailable
from integrations.mobiforce.models import Task
from storage import Repos
from storage.confirmations import Confirmation
from storage.users import User

log = logging.getLogger(__name__)

MAX_RESULT: Final = 1000
MAX_CLIENT: Final = 100


async def ask_close(
    message: Message,
    task: Task,
    text: str,
    repos: Repos,
    user_id: int,
    settings_values: SettingsValues,
) -> None:
    status = await settings_values.get(CLOSE_STATUS)  # the value now: set from the chat or .env
    if not status:
        await message.answer(_("tasks.close.no_status"))
        return
    if task.closed:
        await message.answer(_("tasks.close.already").format(number=html.quote(task.number)))
        return
    facts = await TaskFactsBook(repos).of(task)
    question = _("tasks.close.question").format(
        number=html.quote(task.number),
        client=html.quote(clip(facts.client, MAX_CLIENT) or "—"),
    )
    if text:
        question += "\n" + _("tasks.close.with_text").format(text=html.quote(text))
    await ask_to_confirm(
        message,
        repos,
        user_id=user_id,
        action="mobiforce.close",
        payload={"task_id": task.id, "number": task.number, "text": text, "status": status},
        question=question,
        yes_text=_("tasks.btn.close"),
    )


async def close(
    message: Message,
    command: CommandObject,
    mobiforce: MobiforceClient,
    mobiforce_directory: MobiforceDirectory,
    repos: Repos,
    user: User,
    viewer: Viewer,
    ownership: Ownership,
    settings_values: SettingsValues,
) -> None:
    reference, _sep, text = (command.args or "").strip().partition(" ")
    if not reference:
        await answer_usage(message, "close")
        return
    if len(text) > MAX_RESULT:
        await message.answer(_("tasks.comment.too_long").format(max=MAX_RESULT))
        return
    task = await find_task(
        message, reference, mobiforce, mobiforce_directory, repos, viewer, ownership
    )
    if task is not None:
        await ask_close(message, task, text.strip(), repos, user.id, settings_values)


async def close_pressed(
    callback: CallbackQuery,
    callback_data: TaskCb,
    mobiforce: MobiforceClient,
    repos: Repos,
    user: User,
    viewer: Viewer,
    ownership: Ownership,
    settings_values: SettingsValues,
) -> None:
    pressed = await pressed_task(callback, callback_data.id, mobiforce, viewer, ownership)
    if pressed is not None:
        await ask_close(*pressed, "", repos, user.id, settings_values)


@on_confirm("mobiforce.close", rule="close")
async def close_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    mobiforce: MobiforceClient,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
    settings_values: SettingsValues,
    i18n: PoI18n,
) -> str:
    """Checked again when pressed (the task's chat may have changed meanwhile); a close from
    another chat than the task's own is told there."""
    payload = confirmation.payload
    task_id, number = int(str(payload["task_id"])), str(payload["number"])
    sight = await ownership.sight(viewer, task_subject(number))
    if not sight.allowed:
        return _("tasks.not_yours").format(number=html.quote(number))
    text = str(payload.get("text") or "")
    details = {"comment": text} if text else {}
    # The status the question was asked with (a confirmation from before this field: now's).
    status: str | None = str(payload.get("status") or "")
    if not status:
        status = await settings_values.get(CLOSE_STATUS)
    try:
        await mobiforce.close_task(task_id, status or "", text)
    except MobiforceUnavailable as exc:
        # The task may have been closed: read it before saying anything.
        log.warning("mobiforce close-task %s: no answer (%s); reading the task", task_id, exc)
        await repos.audit.record(
            confirmation.user_id, "mobiforce.close_unanswered", str(task_id), number=number
        )
        await tell_owner(ownership, viewer, sight, number, "close_unanswered", **details)
        if isinstance(callback.message, Message):
            return await close_outcome(callback.message, task_id, number, mobiforce)
        return _("tasks.close.unknown").format(number=html.quote(number))
    except MobiforceError as exc:
        return error_text(exc, i18n)
    await repos.audit.record(confirmation.user_id, "mobiforce.close", str(task_id), number=number)
    await tell_owner(ownership, viewer, sight, number, "closed", **details)
    return _("tasks.close.done").format(number=html.quote(number))


async def close_outcome(
    anchor: Message, task_id: int, number: str | None, mobiforce: MobiforceClient
) -> str:
    """After a close whose answer was lost: what a fresh get-task says, in words, and a
    «🔎 Проверить» button under a new message whenever it cannot tell."""
    try:
        task: Task | None = await mobiforce.get_task(task_id)
    except MobiforceError as exc:
        log.warning("mobiforce: task %s not read after a lost close answer: %s", task_id, exc)
        task = None
    shown = html.quote(number or (task.number if task else str(task_id)))
    if task is not None and task.closed:
        return _("tasks.close.done").format(number=shown)
    if task is not None and task.closing_known:
        return _("tasks.close.still_open").format(number=shown)
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=_("tasks.btn.check"), callback_data=TaskCb(action="closechk", id=task_id))
    await anchor.answer(_("tasks.close.check_later"), reply_markup=keyboard.as_markup())
    key = "tasks.close.unknown" if task is None else "tasks.close.cannot_tell"
    return _(key).format(number=shown)


async def check_pressed(
    callback: CallbackQuery,
    callback_data: TaskCb,
    mobiforce: MobiforceClient,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    """«🔎 Проверить» after a close whose answer was lost: read the task again."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    number = (await repos.mobiforce.names("task", [callback_data.id])).get(callback_data.id)
    if number is not None and await sight_or_refuse(callback, number, viewer, ownership) is None:
        return
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    text = await close_outcome(callback.message, callback_data.id, None, mobiforce)
    await callback.message.answer(text)
