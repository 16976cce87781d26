"""A chat's escalation settings as the engine reads them: whether and what escalates, the
wait between steps, how many rounds the chain runs (bot/escalation/settings.py declares them)."""

from __future__ import annotations

from bot.escalation.settings import ENABLED, KINDS_SETTING, ROUNDS, WAIT
from bot.settings.registry import ChatKey
from bot.settings.values import SettingsValues


class EscalationPrefs:
    def __init__(self, values: SettingsValues) -> None:
        self.values = values

    async def kinds(self, chat_id: int, thread_id: int) -> tuple[str, ...]:
        """The kinds this chat escalates (none when it turned escalation off)."""
        where = ChatKey(chat_id, thread_id)
        if not await self.values.get(ENABLED, where):
            return ()
        kinds: tuple[str, ...] = await self.values.get(KINDS_SETTING, where)
        return kinds

    async def wait(self, chat_id: int, thread_id: int) -> int:
        """Minutes before a step whose wait the chain does not say."""
        minutes: int = await self.values.get(WAIT, ChatKey(chat_id, thread_id))
        return minutes

    async def rounds(self, chat_id: int, thread_id: int) -> int:
        rounds: float = await self.values.get(ROUNDS, ChatKey(chat_id, thread_id))
        return int(rounds)
