"""The bot's settings in /status: each watcher's poll period with its source, and every
setting an admin changed from the chat (value, who, when)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.settings.registry import Scope, all_settings, find_setting
from bot.settings.values import SettingsValues
from handlers.settings.screens import source_text
from storage import Repos


async def poll_line(name: str, values: SettingsValues, repos: Repos, tz: ZoneInfo) -> str | None:
    setting = find_setting(f"{name}.poll_seconds")
    if setting is None:
        return None
    value, source = await values.effective(setting, None)
    return _("status.poll").format(
        value=html.quote(setting.kind.render(value)),
        env=setting.label,
        source=await source_text(source, repos, tz),
    )


async def changed_lines(values: SettingsValues, repos: Repos, tz: ZoneInfo) -> list[str]:
    lines = []
    for setting in all_settings():
        if setting.secret or setting.scope is not Scope.GLOBAL:
            continue
        value, source = await values.effective(setting, None)
        if source.kind != "set":
            continue
        lines.append(
            _("status.setting").format(
                label=html.quote(setting.label),
                value=html.quote(setting.kind.render(value)),
                source=await source_text(source, repos, tz),
            )
        )
    return [_("status.settings_changed"), *lines] if lines else []
