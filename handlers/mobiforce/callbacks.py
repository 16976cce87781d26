"""Mobiforce's buttons: callback data kept short (Telegram allows 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class TaskCb(CallbackData, prefix="mft"):
    """A task card's buttons: ``show`` (from a list), ``refresh``, ``comment``, ``close``;
    ``id`` is the internal task id."""

    action: str
    id: int


class TasksPageCb(CallbackData, prefix="mfp"):
    """A /tasks page; ``s`` is the stored search's short key ("" for all tasks)."""

    page: int
    s: str = ""


class ClientCb(CallbackData, prefix="mfc"):
    id: int


class NewTaskCb(CallbackData, prefix="mfw"):
    """`/task new` buttons. ``step`` ties a button to the wizard step that showed it, so a
    stale button cannot act on a later step; ``value`` is an id or an index."""

    step: str
    value: int = 0


class CreateCb(CallbackData, prefix="mfn"):
    """The choice after a `/task new` whose answer was lost: ``act`` "retry" or "drop";
    ``m`` is the task's marker (the number the bot gave it)."""

    act: str
    m: str
