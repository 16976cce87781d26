"""/audit in words: each recorded action as a sentence of its own.

The audit log stores an action name (``user.grant``), a target (an id, a phone, a hash) and
details by key (``role=viewer``). The sentence for an action is the .po text ``audit.<action>``
(a service keeps those of its actions in its own .po file); its placeholders are the details
plus what the target means to a person: ``{who}`` (a user by name), ``{chat}`` (a group by its
title), ``{phone}`` (written as every screen writes phones) and ``{target}`` as stored. An
action without a sentence of its own is still shown, as ``audit.other``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.access import role_name, user_label
from bot.phones import format_phone
from bot.texts import format_time
from handlers.settings.audit import setting_words
from storage import Repos
from storage.audit import AuditEntry
from storage.users import Role

ROLE_DETAILS = ("role", "was")
TIME_DETAILS = ("until",)


class Names:
    """Users and chats by the names people know, looked up once per /audit."""

    def __init__(self, repos: Repos) -> None:
        self.repos = repos
        self._users: dict[int, str | None] = {}

    async def user(self, user_id: int) -> str | None:
        if user_id not in self._users:
            known = await self.repos.users.get(user_id)
            self._users[user_id] = user_label(known) if known else None
        return self._users[user_id]

    async def actor(self, entry: AuditEntry) -> str:
        if entry.actor_id is None:
            return _("audit.system")
        return await self.user(entry.actor_id) or str(entry.actor_id)

    async def who(self, target: str) -> str:
        number = as_id(target)
        name = await self.user(number) if number is not None else None
        return name or html.quote(target)

    async def chat(self, target: str) -> str:
        number = as_id(target)
        if number is None:
            return html.quote(target)
        group = await self.repos.chats.get(number)
        if group is not None and group.title:
            return _("audit.chat").format(title=html.quote(group.title))
        return await self.user(number) or html.quote(target)  # a private chat: its person


def as_id(text: str) -> int | None:
    digits = text[1:] if text.startswith("-") else text
    return int(text) if digits.isdigit() else None


def detail_text(key: str, value: Any, timezone: ZoneInfo) -> str:
    if key in ROLE_DETAILS:
        try:
            return role_name(Role(str(value)))
        except ValueError:
            pass
    if key in TIME_DETAILS:
        try:
            return format_time(datetime.fromisoformat(str(value)), timezone)
        except ValueError:
            pass
    if isinstance(value, list | tuple):
        value = ", ".join(str(item) for item in value)
    return html.quote(str(value))


async def describe(entry: AuditEntry, names: Names, timezone: ZoneInfo) -> str:
    """What the entry's actor did, in words (Telegram HTML)."""
    target = entry.target or ""
    values = {key: detail_text(key, value, timezone) for key, value in entry.details.items()}
    values.update(
        target=html.quote(target),
        phone=html.quote(format_phone(target)),
        who=await names.who(target),
        chat=await names.chat(target),
    )
    if entry.action in ("setting.set", "setting.reset"):
        values.update(await setting_words(entry, names))
    key = f"audit.{entry.action}"
    template = _(key)
    if template != key:
        try:
            return template.format(**values)
        except (KeyError, IndexError):
            pass  # an older entry without a detail the sentence names now
    details = ", ".join(f"{k}={v}" for k, v in entry.details.items())
    return _("audit.other").format(
        action=html.quote(entry.action), target=html.quote(f"{target} {details}".strip())
    )
