"""/audit's words for a setting's change: its name as people know it (the environment
variable when it has one), the old and new values as the screens show them, and the chat."""

from __future__ import annotations

from typing import Any, Protocol

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.settings.registry import find_setting
from storage.audit import AuditEntry


class ChatNames(Protocol):
    async def chat(self, target: str) -> str: ...


async def setting_words(entry: AuditEntry, names: ChatNames) -> dict[str, str]:
    name = entry.target or ""
    setting = find_setting(name)

    def shown(stored: Any) -> str:
        if setting is None:
            return html.quote("—" if stored is None else str(stored))
        try:
            return html.quote(setting.kind.render(setting.kind.load(stored)))
        except (ValueError, TypeError):  # a value from older rules, or None for a plain kind
            return html.quote("—" if stored is None else str(stored))

    chat_id = entry.details.get("chat_id")
    place = ""
    if chat_id is not None:
        place = _("audit.setting.place").format(chat=await names.chat(str(chat_id)))
    return {
        "setting": html.quote(setting.label if setting else name),
        "old": shown(entry.details.get("old")),
        "new": shown(entry.details.get("new")),
        "place": place,
    }
