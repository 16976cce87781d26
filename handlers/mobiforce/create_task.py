"""`/task new`, creating: the confirmed summary becomes ONE Mobiforce task, whatever the network
does.

create-task cannot be undone and its answer can be lost after the task was made. So:

1. The task gets a number of the bot's own, chosen with the summary (``TG-240513-K7Q2``,
   create-task's documented ``number``), and is recorded before anything is sent
   (storage.mobiforce_creates), with the change feed's usn of that moment. The chat watches
   ``task:<number>`` from then on, so whatever happens to the task later, the chat hears it.
2. A new client is created first (Mobiforce requires it) under the same marker as its external
   id, so a second attempt finds it (get-contractor-by-external-id) instead of a second client.
3. When the answer is lost, the bot looks for the number (integrations.mobiforce.lookup) before
   it says anything. Found: the task is created, and the person is told so. Not found, or not
   known: the person is told exactly that and chooses: «🔁 Создать ещё раз» looks once more and
   sends only if the task is still not there; «Отмена» looks once more and says what it saw.
   A refusal (HTTP 400, the key, our own request budget) means nothing was created.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Final

from aiogram import html
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.confirm import on_confirm
from bot.history.recorder import ActionRecorder
from bot.i18n import PoI18n
from handlers.mobiforce.callbacks import CreateCb
from handlers.mobiforce.common import error_text
from handlers.mobiforce.directory import MobiforceDirectory
from handlers.mobiforce.facts import TaskFactsBook
from handlers.mobiforce.owners import task_subject
from integrations.mobiforce.changes import snapshot_of
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import MobiforceError, MobiforceRejected, MobiforceUnavailable
from integrations.mobiforce.inputs import Address, ContractorInput, TaskInput
from integrations.mobiforce.lookup import NumberSearch, find_numbered
from storage import Repos
from storage.confirmations import Confirmation
from storage.mobiforce_creates import State, TaskCreate
from storage.users import User

log = logging.getLogger(__name__)

RULE: Final = "task new"  # bot/policy.py SUBCOMMANDS
SOURCE: Final = "mobiforce"


def task_input(payload: dict[str, Any], contractor_id: int, marker: str) -> TaskInput:
    executor = payload.get("executor_id")
    props = {int(k): v for k, v in (payload.get("props") or {}).items()}
    return TaskInput(
        template_id=int(payload["template_id"]),
        contractor_id=contractor_id,
        employee_id=int(executor) if executor else None,
        draft=not executor,
        number=marker,
        address=Address(payload["address"]) if payload.get("address") else None,
        planned_start=datetime.fromisoformat(payload["start"]),
        planned_end=datetime.fromisoformat(payload["end"]) if payload.get("end") else None,
        props=props,
    )


async def client_id_for(
    payload: dict[str, Any], marker: str, mobiforce: MobiforceClient, directory: MobiforceDirectory
) -> int:
    """The task's client; a new client is created first (Mobiforce requires it), under the
    task's marker as its external id, so a second attempt finds it instead of making another."""
    new_client = payload.get("new_client")
    if not new_client:
        return int(payload["client_id"])
    try:
        return (await mobiforce.get_contractor_by_external_id(marker)).id
    except MobiforceRejected:
        pass
    contractor_id = await mobiforce.create_contractor(
        ContractorInput(
            name=new_client["name"],
            external_id=marker,
            address=Address(new_client["address"]) if new_client.get("address") else None,
            phones=[new_client["phone"]] if new_client.get("phone") else (),
        )
    )
    await directory.remember_contractor(contractor_id, new_client["name"])
    return contractor_id


async def feed_usn(repos: Repos) -> int | None:
    """The task feed's usn the watcher has reached: every task created from now on is after it."""
    cursor = await repos.alert_state.cursor(SOURCE) or ""
    usn = cursor.rpartition(":")[2]  # "123" or "catch-up:123"
    return int(usn) if usn.isdigit() else None


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
    marker = str(payload["marker"])
    thread = int(str(payload.get("thread") or 0))
    await repos.mobiforce_creates.sending(
        marker,
        chat_id=confirmation.chat_id,
        thread_id=thread,
        user_id=confirmation.user_id,
        payload=payload,
        feed_usn=await feed_usn(repos),
    )
    # The chat owns the task (bot/ownership.py) and watches it from now on, whatever happens.
    await repos.item_owners.record(
        task_subject(marker),
        chat_id=confirmation.chat_id,
        thread_id=thread,
        user_id=confirmation.user_id,
    )
    await repos.subscriptions.add(
        confirmation.chat_id, thread, "all", task_subject(marker), by=confirmation.user_id
    )
    record = await repos.mobiforce_creates.get(marker)
    assert record is not None
    if not isinstance(callback.message, Message):
        return _("error.button_expired")
    return await attempt(callback.message, record, mobiforce, mobiforce_directory, repos, i18n)


async def attempt(
    anchor: Message,
    record: TaskCreate,
    mobiforce: MobiforceClient,
    directory: MobiforceDirectory,
    repos: Repos,
    i18n: PoI18n,
) -> str:
    """Send the recorded task (its client first) and say what came of it."""
    payload, marker = record.payload, record.marker
    sent = False
    try:
        contractor_id = await client_id_for(payload, marker, mobiforce, directory)
        sent = True
        task_id = await mobiforce.create_task(task_input(payload, contractor_id, marker))
    except MobiforceUnavailable as exc:
        log.warning("mobiforce create %s: no answer (%s); looking for it", marker, exc)
        return await lost_answer(anchor, record, mobiforce, directory, repos, sent=sent)
    except MobiforceError as exc:  # refused, or not sent at all: nothing was created
        log.info("mobiforce create %s refused: %s", marker, exc)
        await repos.mobiforce_creates.move(marker, ["sending"], "dropped")
        await repos.subscriptions.remove(
            record.chat_id, record.thread_id, "all", task_subject(marker)
        )
        return error_text(exc, i18n)
    await repos.mobiforce_creates.created(marker, task_id)
    await ActionRecorder(repos).task_created(record.chat_id, record.thread_id, marker, task_id)
    return await created(record, task_id, mobiforce, directory, repos)


async def created(
    record: TaskCreate,
    task_id: int,
    mobiforce: MobiforceClient,
    directory: MobiforceDirectory,
    repos: Repos,
    *,
    key_prefix: str = "tasks.new.done",
) -> str:
    """The task exists: the chat watches it (its snapshot, so its own creation is not
    announced again), and is told so — from what was set, should the read-back fail."""
    payload = record.payload
    try:
        task = await mobiforce.get_task(task_id)
    except MobiforceError as exc:
        log.warning("mobiforce task %s created, not read back: %s", task_id, exc)
    else:
        facts = await TaskFactsBook(repos).of(task)
        await repos.snapshots.put(SOURCE, str(task.id), snapshot_of(task, facts))
        await directory.remember_task(task, facts)
    await repos.audit.record(record.user_id, "mobiforce.create", str(task_id), number=record.marker)
    state = "sent" if payload.get("executor_id") else "draft"
    return _(f"{key_prefix}_{state}").format(
        number=html.quote(record.marker), client=html.quote(str(payload.get("client") or "—"))
    )


async def look_for(record: TaskCreate, mobiforce: MobiforceClient, repos: Repos) -> NumberSearch:
    """The task numbered with the record's marker: the bot's directory first, then Mobiforce."""
    known = await repos.mobiforce.by_name("task", record.marker)
    if known:
        return NumberSearch(known[0].id)

    async def names(ids: list[int]) -> dict[int, str]:
        return await repos.mobiforce.names("task", ids)

    return await find_numbered(mobiforce, record.marker, since_usn=record.feed_usn, known=names)


async def lost_answer(
    anchor: Message,
    record: TaskCreate,
    mobiforce: MobiforceClient,
    directory: MobiforceDirectory,
    repos: Repos,
    *,
    sent: bool,
) -> str:
    """No answer came: find the task before saying anything. Found, it is created; else the
    person is told what the bot saw and chooses (buttons in a new message)."""
    search = await look_for(record, mobiforce, repos) if sent else NumberSearch()
    if search.task_id is not None:
        return await found(record, search.task_id, mobiforce, directory, repos)
    await offer_choice(anchor, record, repos)
    number = html.quote(record.marker)
    if not sent:
        return _("tasks.new.lost_not_sent").format(number=number)
    key = "tasks.new.lost_absent" if search.absent else "tasks.new.lost_unknown"
    return _(key).format(number=number)


async def found(
    record: TaskCreate,
    task_id: int,
    mobiforce: MobiforceClient,
    directory: MobiforceDirectory,
    repos: Repos,
) -> str:
    """The task whose answer was lost exists after all: it is created, and said so."""
    await repos.mobiforce_creates.created(record.marker, task_id)
    await ActionRecorder(repos).task_created(
        record.chat_id, record.thread_id, record.marker, task_id
    )
    return await created(record, task_id, mobiforce, directory, repos, key_prefix="tasks.new.found")


# --- the person's choice after a lost answer ------------------------------------------------------
async def offer_choice(anchor: Message, record: TaskCreate, repos: Repos) -> None:
    """Not found (or not known): the person chooses, under a new message."""
    await repos.mobiforce_creates.move(record.marker, ["sending"], "unknown")
    await anchor.answer(_("tasks.new.lost_choose"), reply_markup=retry_keyboard(record.marker))


def retry_keyboard(marker: str) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=_("tasks.new.btn_retry"), callback_data=CreateCb(act="retry", m=marker))
    keyboard.button(text=_("tasks.new.btn_cancel"), callback_data=CreateCb(act="drop", m=marker))
    return keyboard.as_markup()


async def retry_pressed(
    callback: CallbackQuery,
    callback_data: CreateCb,
    mobiforce: MobiforceClient,
    mobiforce_directory: MobiforceDirectory,
    repos: Repos,
    user: User,
    i18n: PoI18n,
) -> None:
    """«🔁 Создать ещё раз»: look once more; send only if the task is still not there."""
    record = await claimed(callback, callback_data, repos, user, to="sending")
    if record is None or not isinstance(callback.message, Message):
        return
    search = await look_for(record, mobiforce, repos)
    if search.task_id is not None:
        text = await found(record, search.task_id, mobiforce, mobiforce_directory, repos)
    elif search.absent:
        text = await attempt(callback.message, record, mobiforce, mobiforce_directory, repos, i18n)
    else:  # still cannot tell: nothing is sent
        await offer_choice(callback.message, record, repos)
        text = _("tasks.new.lost_unknown").format(number=html.quote(record.marker))
    await callback.message.edit_text(text, reply_markup=None)


async def drop_pressed(
    callback: CallbackQuery,
    callback_data: CreateCb,
    mobiforce: MobiforceClient,
    mobiforce_directory: MobiforceDirectory,
    repos: Repos,
    user: User,
) -> None:
    """«Отмена»: nothing more is sent; the bot looks once more and says what it saw (the
    task may have been created by the attempt whose answer was lost)."""
    record = await claimed(callback, callback_data, repos, user, to="dropped")
    if record is None or not isinstance(callback.message, Message):
        return
    search = await look_for(record, mobiforce, repos)
    number = html.quote(record.marker)
    if search.task_id is not None:
        text = await found(record, search.task_id, mobiforce, mobiforce_directory, repos)
    elif search.absent:
        text = _("tasks.new.dropped_absent").format(number=number)
    else:
        text = _("tasks.new.dropped_unknown").format(number=number)
    await callback.message.edit_text(text, reply_markup=None)


async def claimed(
    callback: CallbackQuery, callback_data: CreateCb, repos: Repos, user: User, *, to: State
) -> TaskCreate | None:
    """The record behind a pressed choice, moved from "unknown" to ``to`` — once: a second
    press, or a press by someone else, is answered and does nothing."""
    creates = repos.mobiforce_creates
    record = await creates.get(callback_data.m)
    if record is None:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return None
    if record.user_id != user.id:
        await callback.answer(_("tasks.new.not_yours"), show_alert=True)
        return None
    if not await creates.move(record.marker, ["unknown"], to):
        await callback.answer(_("confirm.used"), show_alert=True)
        return None
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
    return record
