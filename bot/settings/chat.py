"""A chat's own settings (per chat and per forum topic): time zone, quiet hours, language.

Zone and quiet hours stay where routing reads them, in ``chat_prefs`` (one home: the
ChatPrefsStore of bot/settings/stores.py; /timezone and /quiet are shortcuts to the same
values). The language is a new setting (``setting_values``): «auto» keeps each person's
Telegram language.
"""

from __future__ import annotations

from bot.settings.registry import (
    ChatKey,
    Choice,
    OptionalKind,
    Scope,
    Setting,
    TimeWindow,
    Zone,
    declare,
)
from bot.settings.values import SettingsValues
from storage import Repos

ZONE = declare(
    Setting(
        "chat.zone",
        OptionalKind(Zone(), none_key="setting.value.bot_zone"),
        None,  # the bot's zone (BOT_TIMEZONE)
        Scope.CHAT,
        None,
        "chat",
        live=True,
        stored_in="chat_prefs.timezone",
    )
)
QUIET_HOURS = declare(
    Setting(
        "chat.quiet_hours",
        OptionalKind(TimeWindow(), none_key="setting.value.off"),
        None,
        Scope.CHAT,
        None,
        "chat",
        live=True,
        topic_inherits=False,  # routing reads a topic's own quiet hours (bot/alerts/pipeline.py)
        stored_in="chat_prefs.quiet",
    )
)
LANGUAGE = declare(
    Setting(
        "chat.language",
        Choice(("auto", "ru", "en"), label_prefix="setting.language"),
        "auto",
        Scope.CHAT,
        None,
        "chat",
        live=True,
    )
)


async def chat_language(repos: Repos, chat_id: int, thread_id: int = 0) -> str | None:
    """The language a chat (topic) chose, or None («auto»: each person's own)."""
    language = await SettingsValues(repos).get(LANGUAGE, ChatKey(chat_id, thread_id))
    return None if language == "auto" else language
