"""The /settings buttons' data (under Telegram's 64 bytes: short words, the setting's name)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

GLOBAL = "g"  # the bot's settings (an admin, in private)
CHAT = "c"  # the settings of the chat (topic) the screen is in


class SettingsCb(CallbackData, prefix="st"):
    act: str  # "home" | "sec" (a section) | "open" (a setting) | "pick" | "type" | "reset"
    scope: str  # GLOBAL | CHAT
    sec: str = ""  # a GLOBAL section: "general" or a service's name
    name: str = ""  # the setting
    pick: int = -1  # the index of a choice
    at: int = 0  # when the screen was drawn (seconds, the bot's clock): buttons last 10 min
