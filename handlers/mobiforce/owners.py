"""Tasks and the chats that own them (bot/ownership.py): a task made with /task new belongs to
its chat. Only a viewer who may see it gets its card or acts on it (/task, /comment, /close,
the card's buttons, /find); when someone closes or comments on it from another chat, its chat
is told. A task the bot did not make belongs to nobody: anyone with the role sees it."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import html
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.ownership import Ownership, Sight, Viewer
from integrations.base import FieldValue
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.models import Task

log = logging.getLogger(__name__)

SOURCE: Final = "mobiforce"
ACTED: Final = "task.acted"  # bot/alerts/kinds.py
ALERT_LIMIT: Final = 200  # what a callback's alert shows


def task_subject(number: str) -> str:
    return f"task:{number}"


async def sight_or_refuse(
    where: Message | CallbackQuery, number: str, viewer: Viewer, ownership: Ownership
) -> Sight | None:
    """The viewer's sight of task ``number``; None after saying it is another chat's."""
    sight = await ownership.sight(viewer, task_subject(number))
    if sight.allowed:
        return sight
    log.info("task %s not shown to user %s in chat %s", number, viewer.user_id, viewer.chat_id)
    text = _("tasks.not_yours").format(number=html.quote(number))
    if isinstance(where, CallbackQuery):
        await where.answer(text[:ALERT_LIMIT], show_alert=True)
    else:
        await where.answer(text)
    return None


async def pressed_task(
    callback: CallbackQuery,
    task_id: int,
    mobiforce: MobiforceClient,
    viewer: Viewer,
    ownership: Ownership,
) -> tuple[Message, Task] | None:
    """A card's button (comment, close): the task read now, for a presser who may see it;
    None after answering the press otherwise."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return None
    task = await mobiforce.get_task(task_id)
    if await sight_or_refuse(callback, task.number, viewer, ownership) is None:
        return None
    await callback.answer()
    return callback.message, task


async def tell_owner(
    ownership: Ownership,
    viewer: Viewer,
    sight: Sight,
    number: str,
    action: str,
    **details: FieldValue,
) -> None:
    """The task's chat hears what ``viewer`` did from another chat (nothing otherwise)."""
    await ownership.tell_owner(
        viewer, sight, kind=ACTED, source=SOURCE, title=f"№{number}", action=action, **details
    )
