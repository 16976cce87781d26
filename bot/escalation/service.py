"""The escalation feature as the app holds it: the step job and the desk that ends chains."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Bot

from bot.escalation.desk import EscalationDesk
from bot.escalation.engine import EscalationEngine
from bot.escalation.prefs import EscalationPrefs
from bot.i18n import PoI18n
from bot.metrics import Metrics
from bot.ownership import Ownership
from storage import Repos


class Escalation:
    def __init__(
        self,
        bot: Bot,
        repos: Repos,
        i18n: PoI18n,
        metrics: Metrics,
        ownership: Ownership,
        default_tz: ZoneInfo,
        prefs: EscalationPrefs,
    ) -> None:
        self.repos = repos
        self.metrics = metrics
        self.engine = EscalationEngine(bot, repos, i18n, metrics, ownership, default_tz, prefs)
        self.desk = EscalationDesk(bot, repos, i18n, metrics, default_tz)

    async def tick(self) -> int:
        """One round of the job: owed edits first, then the due steps."""
        await self.desk.announce_owed()
        done = await self.engine.run_due()
        self.metrics.escalations_open.set(await self.repos.escalations.count_open())
        return done
