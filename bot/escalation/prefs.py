"""A chat's escalation settings: which kinds escalate, and how many rounds the chain runs."""

from __future__ import annotations

from bot.alerts.kinds import ESCALATING

DEFAULT_ROUNDS = 2


class EscalationPrefs:
    """The defaults (a chat that changed nothing)."""

    async def kinds(self, chat_id: int, thread_id: int) -> tuple[str, ...]:
        return ESCALATING

    async def rounds(self, chat_id: int, thread_id: int) -> int:
        return DEFAULT_ROUNDS
