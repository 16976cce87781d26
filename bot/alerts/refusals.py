"""When Telegram refuses alerts for a chat: the bot was kicked or blocked (403), or a request it
will never accept (a 400 other than broken HTML). The chat stops getting alerts or its rows
fail with the reason, and the admins hear it once per chat, in their own language."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot, html
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import gettext as _

from bot.alerts.pins_owed import OwedPins
from bot.i18n import PoI18n, locale_for
from bot.telegram_requests import retry_on_flood
from storage import Repos
from storage.chats import ChatStatus

log = logging.getLogger(__name__)
# Setting: chats whose "Telegram refuses alerts here" the admins were told, so they hear it
# once per chat (across restarts) until a message there goes through again.
REFUSALS_TOLD = "alerts.refusals_told"


class Refusals:
    def __init__(self, bot: Bot, repos: Repos, i18n: PoI18n, owed: OwedPins) -> None:
        self.bot = bot
        self.repos = repos
        self.i18n = i18n
        self.owed = owed
        self._told: dict[str, str] | None = None  # chats whose refusals admins heard (lazy)

    async def refused(self, chat_id: int, reason: str) -> None:
        """A 400 other than "can't parse entities": tell the admins once per chat (until a
        message to that chat goes through again), with the chat's name and Telegram's reason."""
        told = await self._refusals_told()
        if str(chat_id) in told:
            return
        told[str(chat_id)] = reason
        await self.repos.settings.set(REFUSALS_TOLD, told, by=None)
        await self.repos.audit.record(None, "chat.refused_alerts", chat_id, reason=reason)
        title = await self._chat_title(chat_id)
        values = {"title": html.quote(title), "id": str(chat_id), "reason": html.quote(reason)}
        await self.tell_admins(chat_id, lambda: _("alert.admin_chat_refused").format(**values))

    async def over(self, chat_id: int) -> None:
        """A message to the chat went through: a later refusal is news again."""
        told = await self._refusals_told()
        if told.pop(str(chat_id), None) is not None:
            await self.repos.settings.set(REFUSALS_TOLD, told, by=None)

    async def _refusals_told(self) -> dict[str, str]:
        if self._told is None:
            stored = await self.repos.settings.get(REFUSALS_TOLD, {})
            self._told = dict(stored) if isinstance(stored, dict) else {}
        return self._told

    async def _chat_title(self, chat_id: int) -> str:
        if chat_id < 0:
            known = await self.repos.chats.get(chat_id)
            return (known.title if known else "") or str(chat_id)
        user = await self.repos.users.get(chat_id)
        return (user.full_name if user else "") or str(chat_id)

    async def forbidden(self, chat_id: int, reason: str) -> None:
        """403: the bot was kicked or blocked. The chat stops getting alerts, its pending rows
        fail, and the admins hear about it (once: the groups handler may have told them)."""
        log.warning("chat %s refuses the bot: %s", chat_id, reason)
        self.owed.forget(chat_id)
        if chat_id < 0:
            known = await self.repos.chats.get(chat_id)
            news = known is None or known.status is not ChatStatus.DISABLED
            await self.repos.chats.set_status(chat_id, ChatStatus.DISABLED)
            title = known.title if known and known.title else str(chat_id)
        else:
            news = True
            await self.repos.subscriptions.remove_chat(chat_id)
            user = await self.repos.users.get(chat_id)
            title = (user.full_name if user else "") or str(chat_id)
        await self.repos.outbox.fail_chat(chat_id, reason)
        await self.repos.audit.record(None, "chat.unreachable", chat_id, reason=reason)
        if not news:
            return
        values = {"title": html.quote(title), "id": str(chat_id), "reason": html.quote(reason)}
        key = "alert.admin_chat_disabled" if chat_id < 0 else "alert.admin_user_blocked"
        await self.tell_admins(chat_id, lambda: _(key).format(**values))

    async def tell_admins(self, skip: int, text: Callable[[], str]) -> None:
        """A direct message to every admin in their language, outside the outbox (the chat it
        is about may be the one that is broken). These few messages may wait out a 429."""
        token = retry_on_flood.set(True)
        try:
            for admin in await self.repos.users.admins():  # ADMIN_IDS and those granted since
                if admin.id == skip:
                    continue
                with (
                    self.i18n.context(),
                    self.i18n.use_locale(locale_for(admin.language_code, self.i18n.default_locale)),
                ):
                    body = text()
                try:
                    await self.bot.send_message(admin.id, body)
                except TelegramAPIError as exc:
                    log.warning("could not tell admin %s: %s", admin.id, exc.message)
        finally:
            retry_on_flood.reset(token)
