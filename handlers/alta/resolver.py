"""The background half of exactly-once ``add``: every ``every_seconds`` the unresolved attempts
(a lost answer nobody checked again, a restart mid-add) are looked for on Alta's list, and
their chats hear what was found — a request that appeared late is watched from then on.
Nothing is ever sent again from here."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n
from bot.periodic import Periodic
from handlers.alta.adds import AltaAdds, Outcome, numbers_of
from handlers.alta.summary import numbers_text, outcome_lines
from storage.alta import AddAttempt

log = logging.getLogger("handlers.alta")


def told_text(attempt: AddAttempt, outcome: Outcome) -> str:
    sent = numbers_of(attempt.payload)
    if outcome.state == "added":
        return "\n".join([_("alta.add.found_later"), *outcome_lines(outcome, sent, [])])
    # A restart cut the add short and Alta's list does not have it (the bot keeps looking).
    return _("alta.add.interrupted").format(numbers=numbers_text(sent, 10))


class AddResolver:
    def __init__(self, adds: AltaAdds, bot: Bot, i18n: PoI18n, *, every_seconds: float) -> None:
        self.adds = adds
        self.bot = bot
        self.i18n = i18n
        self.periodic = Periodic("alta-add-resolver", self.run_once, every_seconds)

    async def run_once(self) -> int:
        """One round; returns how many chats were told something."""
        told = 0
        for attempt, outcome in await self.adds.resolve_pending():
            locale = str(attempt.payload.get("locale") or self.i18n.default_locale)
            with self.i18n.context(), self.i18n.use_locale(locale):
                text = told_text(attempt, outcome)
            try:
                await self.bot.send_message(
                    attempt.chat_id, text, message_thread_id=attempt.thread_id or None
                )
                told += 1
            except TelegramAPIError as exc:
                log.warning("alta: could not tell chat %s about an add: %s", attempt.chat_id, exc)
        return told
