"""Where setting values are kept: the ``setting_values`` table, or (a chat's zone and quiet
hours) the ``chat_prefs`` columns that routing reads — one home for each value."""

from __future__ import annotations

from datetime import time
from typing import Any, Protocol

from bot.settings.registry import ChatKey, Setting
from storage import Repos
from storage.db import Transaction
from storage.setting_values import GLOBAL_CHAT, StoredValue


class ValueStore(Protocol):
    async def load(self, setting: Setting[Any], chat: ChatKey | None) -> StoredValue | None: ...

    async def save(
        self, tx: Transaction, setting: Setting[Any], value: Any, by: int, chat: ChatKey | None
    ) -> None: ...

    async def remove(
        self, tx: Transaction, setting: Setting[Any], chat: ChatKey | None
    ) -> None: ...


def _place(chat: ChatKey | None) -> tuple[int, int]:
    return (GLOBAL_CHAT, 0) if chat is None else (chat.chat_id, chat.thread_id)


class TableStore:
    """The ``setting_values`` table (storage/setting_values.py): value, who, when."""

    def __init__(self, repos: Repos) -> None:
        self.rows = repos.setting_values

    async def load(self, setting: Setting[Any], chat: ChatKey | None) -> StoredValue | None:
        chat_id, thread_id = _place(chat)
        return await self.rows.get(setting.name, chat_id, thread_id)

    async def save(
        self, tx: Transaction, setting: Setting[Any], value: Any, by: int, chat: ChatKey | None
    ) -> None:
        chat_id, thread_id = _place(chat)
        await self.rows.put(tx, setting.name, value, by=by, chat_id=chat_id, thread_id=thread_id)

    async def remove(self, tx: Transaction, setting: Setting[Any], chat: ChatKey | None) -> None:
        chat_id, thread_id = _place(chat)
        await self.rows.delete(tx, setting.name, chat_id=chat_id, thread_id=thread_id)


class ChatPrefsStore:
    """``chat_prefs.timezone`` (a zone name) and ``chat_prefs.quiet`` (quiet_from/quiet_to as
    ["HH:MM", "HH:MM"]). Who set them and when is in /audit, not here."""

    def __init__(self, repos: Repos) -> None:
        self.prefs = repos.subscriptions

    async def load(self, setting: Setting[Any], chat: ChatKey | None) -> StoredValue | None:
        assert chat is not None
        prefs = await self.prefs.prefs(chat.chat_id, chat.thread_id)
        value: object
        if setting.stored_in == "chat_prefs.timezone":
            value = prefs.timezone
        elif prefs.quiet_from is None or prefs.quiet_to is None:
            value = None
        else:
            value = [_hhmm(prefs.quiet_from), _hhmm(prefs.quiet_to)]
        return None if value is None else StoredValue(value, None, None)

    async def save(
        self, tx: Transaction, setting: Setting[Any], value: Any, by: int, chat: ChatKey | None
    ) -> None:
        assert chat is not None
        if setting.stored_in == "chat_prefs.timezone":
            await self.prefs.set_timezone(chat.chat_id, chat.thread_id, value, tx)
            return
        start, end = (None, None) if value is None else (time.fromisoformat(v) for v in value)
        await self.prefs.set_quiet(chat.chat_id, chat.thread_id, start, end, tx)

    async def remove(self, tx: Transaction, setting: Setting[Any], chat: ChatKey | None) -> None:
        await self.save(tx, setting, None, 0, chat)


def _hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")
