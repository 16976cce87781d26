"""The /settings screens as text and buttons: the sections of the bot's settings (an admin's),
a section's settings grouped by area, one setting with its value and source, and a chat's
(topic's) own settings. Secrets are never listed (nor settable: bot/settings/values.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.settings.registry import (
    SERVICES,
    ChatKey,
    Scope,
    Setting,
    all_settings,
    chat_sections,
)
from bot.settings.values import SettingsValues, ValueSource
from bot.texts import format_time
from handlers.settings.callbacks import CHAT, GLOBAL, SettingsCb
from storage import Repos

GENERAL = "general"  # the section of the settings that belong to no service


def shown(settings: Iterable[Setting[Any]]) -> list[Setting[Any]]:
    return [setting for setting in settings if not setting.secret]


def global_sections() -> list[str]:
    """The sections with at least one setting: general first, then the services in order."""
    present = {s.service or GENERAL for s in shown(all_settings()) if s.scope is Scope.GLOBAL}
    return [section for section in (GENERAL, *SERVICES) if section in present]


def section_settings(section: str) -> list[Setting[Any]]:
    service = None if section == GENERAL else section
    return [s for s in shown(all_settings()) if s.scope is Scope.GLOBAL and s.service == service]


def chat_settings() -> list[Setting[Any]]:
    return [s for s in shown(all_settings()) if s.scope is Scope.CHAT]


def by_area(settings: list[Setting[Any]]) -> dict[str, list[Setting[Any]]]:
    areas: dict[str, list[Setting[Any]]] = {}
    for setting in settings:
        areas.setdefault(setting.area, []).append(setting)
    return areas


def title(setting: Setting[Any]) -> str:
    return html.quote(_(setting.title_key))


def section_title(section: str) -> str:
    return _(f"settings.section.{section}")


def area_title(area: str) -> str:
    return _(f"setting.area.{area}")


async def source_text(source: ValueSource, repos: Repos, tz: ZoneInfo) -> str:
    if source.kind == "default":
        return _("settings.source.default")
    if source.kind == "env":
        return _("settings.source.env")
    if source.inherited:
        return _("settings.source.chat")
    if source.by is None:
        return _("settings.source.set_here")
    person = await repos.users.get(source.by)
    who = html.quote(person.full_name) if person else str(source.by)
    when = format_time(source.at, tz) if source.at else ""
    return _("settings.source.set").format(who=who, when=when)


async def value_line(
    setting: Setting[Any], values: SettingsValues, chat: ChatKey | None, repos: Repos, tz: ZoneInfo
) -> str:
    value, source = await values.effective(setting, chat)
    env = f" <code>{setting.env}</code>" if setting.env else ""
    return _("settings.row").format(
        title=title(setting),
        env=env,
        value=html.quote(setting.kind.render(value)),
        source=await source_text(source, repos, tz),
    )


def _button(builder: InlineKeyboardBuilder, text: str, data: SettingsCb) -> None:
    builder.button(text=text, callback_data=data.pack())


def home_screen(at: int) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    for section in global_sections():
        _button(
            builder, section_title(section), SettingsCb(act="sec", scope=GLOBAL, sec=section, at=at)
        )
    _button(builder, _("settings.btn.this_chat"), SettingsCb(act="home", scope=CHAT, at=at))
    builder.adjust(2)
    return _("settings.home"), builder.as_markup()


async def section_screen(
    section: str, values: SettingsValues, repos: Repos, tz: ZoneInfo, at: int
) -> tuple[str, InlineKeyboardMarkup]:
    settings = section_settings(section)
    lines = [_("settings.section_head").format(section=html.quote(section_title(section)))]
    for area, members in by_area(settings).items():
        lines.append(f"\n<b>{html.quote(area_title(area))}</b>")
        lines += [await value_line(s, values, None, repos, tz) for s in members]
    builder = InlineKeyboardBuilder()
    for setting in settings:
        data = SettingsCb(act="open", scope=GLOBAL, sec=section, name=setting.name, at=at)
        _button(builder, _(setting.title_key), data)
    _button(builder, _("settings.btn.back"), SettingsCb(act="home", scope=GLOBAL, at=at))
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


async def chat_screen(
    chat: ChatKey,
    values: SettingsValues,
    repos: Repos,
    tz: ZoneInfo,
    at: int,
    *,
    with_back: bool,
) -> tuple[str, InlineKeyboardMarkup]:
    settings = chat_settings()
    head = "settings.chat_head_topic" if chat.thread_id else "settings.chat_head"
    lines = [_(head)]
    sections = chat_sections()
    areas = by_area(settings)
    for area in [*areas, *(s.area for s in sections if s.area not in areas)]:
        lines.append(f"\n<b>{html.quote(area_title(area))}</b>")
        lines += [await value_line(s, values, chat, repos, tz) for s in areas.get(area, [])]
    prefs = await repos.subscriptions.prefs(chat.chat_id, chat.thread_id)
    if prefs.muted_until is not None:
        lines.append(_("settings.muted").format(time=format_time(prefs.muted_until, tz)))
    builder = InlineKeyboardBuilder()
    for setting in settings:
        _button(
            builder,
            _(setting.title_key),
            SettingsCb(act="open", scope=CHAT, name=setting.name, at=at),
        )
    for section in sections:
        builder.button(text=_(section.title_key), callback_data=section.open_callback_prefix)
    if with_back:
        _button(builder, _("settings.btn.back"), SettingsCb(act="home", scope=GLOBAL, at=at))
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


async def setting_screen(
    setting: Setting[Any],
    scope: str,
    chat: ChatKey | None,
    values: SettingsValues,
    repos: Repos,
    tz: ZoneInfo,
    at: int,
    section: str = "",
) -> tuple[str, InlineKeyboardMarkup]:
    value, source = await values.effective(setting, chat)
    kind = setting.kind
    lines = [
        f"<b>{title(setting)}</b>" + (f" (<code>{setting.env}</code>)" if setting.env else ""),
        _("settings.value").format(value=html.quote(kind.render(value))),
        _("settings.source").format(source=await source_text(source, repos, tz)),
        _("settings.live") if setting.live else _("settings.restart"),
    ]
    builder = InlineKeyboardBuilder()
    widths = []
    choices = kind.choices()
    if choices is not None:
        for index, choice in enumerate(choices):
            mark = "✅ " if choice == value else ""
            data = SettingsCb(
                act="pick", scope=scope, sec=section, name=setting.name, pick=index, at=at
            )
            _button(builder, mark + kind.render(choice), data)
        widths.append(min(len(choices), 3))
    if typed(setting):
        lines.append(html.quote(_(kind.hint_key)))
        _button(
            builder,
            _("settings.btn.type"),
            SettingsCb(act="type", scope=scope, sec=section, name=setting.name, at=at),
        )
        widths.append(1)
    if source.kind == "set" and not source.inherited:
        _button(
            builder,
            _("settings.btn.reset"),
            SettingsCb(act="reset", scope=scope, sec=section, name=setting.name, at=at),
        )
        widths.append(1)
    back = (
        SettingsCb(act="sec", scope=GLOBAL, sec=section, at=at)
        if scope == GLOBAL
        else SettingsCb(act="home", scope=CHAT, at=at)
    )
    _button(builder, _("settings.btn.back"), back)
    widths.append(1)
    builder.adjust(*_rows(choices, widths))
    return "\n".join(lines), builder.as_markup()


def _rows(choices: list[Any] | None, widths: list[int]) -> list[int]:
    """Choices three a row, then one button a row."""
    if not choices:
        return [1] * len(widths)
    per_row = widths[0]
    full, rest = divmod(len(choices), per_row)
    return [per_row] * full + ([rest] if rest else []) + [1] * (len(widths) - 1)


def typed(setting: Setting[Any]) -> bool:
    """Whether a value is typed (else only the choice buttons set it: a choice, a flag)."""
    return setting.kind.hint_key not in ("setting.hint.choice", "setting.hint.flag")
