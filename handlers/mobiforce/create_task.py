"""`/task new`, creating: the confirmed summary becomes a Mobiforce task (a new client first),
the chat watches it. When Mobiforce does not answer a create, «🔁 Повторить» first looks for
the task the lost answer may have created, so a retry never makes a second task.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Final

from aiogram import html
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.confirm import ask_to_confirm, on_confirm
from bot.i18n import PoI18n
from handlers.mobiforce.common import error_text
from handlers.mobiforce.directory import MobiforceDirectory
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import (
    MobiforceError,
    MobiforceRejected,
    MobiforceUnavailable,
)
from integrations.mobiforce.inputs import Address, ContractorInput, TaskInput
from integrations.mobiforce.models import Task
from integrations.mobiforce.watcher import snapshot_of
from storage import Repos
from storage.confirmations import Confirmation

log = logging.getLogger(__name__)

RULE: Final = "task new"  # bot/policy.py SUBCOMMANDS
TWIN_CANDIDATES: Final = 10


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
