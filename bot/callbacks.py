"""Callback data factories: short prefixes and ids keep every button under Telegram's 64 bytes."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class AccessRequestCb(CallbackData, prefix="ar"):
    """An admin's answer to a stranger's access request."""

    user_id: int
    role: str  # "viewer" | "dispatcher" | "-" (ignore)


class ChatStatusCb(CallbackData, prefix="cs"):
    chat_id: int
    status: str  # "approved" | "disabled"


class ConfirmCb(CallbackData, prefix="ok"):
    """Yes / no on a one-shot confirmation (see storage.confirmations)."""

    token: str
    yes: bool
