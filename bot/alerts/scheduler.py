"""APScheduler: one job per enabled integration's watcher, plus housekeeping.

Jobs live in memory and are rebuilt at every start from our own tables (the cursors are in
SQLite with the outbox), so there is no pickled job store to drift out of date.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.watching import WatchRunner
from storage import Repos
from storage.db import utcnow
from storage.retention import Retention, prune

log = logging.getLogger(__name__)

PAUSED_SETTING = "paused_integrations"


class AlertScheduler:
    def __init__(self, repos: Repos, retention: Retention | None = None) -> None:
        self.repos = repos
        self.retention = retention or Retention()
        self.runners: dict[str, WatchRunner] = {}
        self.intervals: dict[str, int] = {}
        self.jobs: dict[str, tuple[Callable[[], Awaitable[object]], int]] = {}
        self._scheduler: AsyncIOScheduler | None = None

    def add(self, runner: WatchRunner, every_seconds: int) -> None:
        self.runners[runner.name] = runner
        self.intervals[runner.name] = every_seconds

    def add_job(self, name: str, job: Callable[[], Awaitable[object]], every_seconds: int) -> None:
        """A job of the bot's own (the escalation steps) beside the watchers."""
        self.jobs[name] = (job, every_seconds)

    async def start(self) -> None:
        """Create and start the scheduler inside the running loop (as APScheduler wants)."""
        paused = await self.repos.settings.get(PAUSED_SETTING, [])
        self._scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        for name, runner in self.runners.items():
            runner.stopped = False
            runner.health.paused = isinstance(paused, list) and name in paused
            every = self.intervals[name]
            self._scheduler.add_job(
                runner.run_once,
                "interval",
                seconds=every,
                id=f"watch:{name}",
                jitter=max(1, every // 10),
                next_run_time=None if runner.health.paused else _soon(),
            )
        for name, (job, every) in self.jobs.items():
            self._scheduler.add_job(job, "interval", seconds=every, id=name, next_run_time=_soon())
        # Daily, and once soon after start (a bot restarted every night still prunes).
        self._scheduler.add_job(
            self.housekeeping, "interval", days=1, id="housekeeping", next_run_time=_soon(60)
        )
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        for runner in self.runners.values():
            runner.stopped = True
            await runner.wait_idle()  # a cycle in flight commits (or not) before the db closes

    async def set_paused(self, name: str, paused: bool, *, by: int | None) -> None:
        runner = self.runners[name]
        runner.health.paused = paused
        if self._scheduler is not None:
            job = self._scheduler.get_job(f"watch:{name}")
            if job is not None:
                job.pause() if paused else job.resume()
        current = await self.repos.settings.get(PAUSED_SETTING, [])
        names = set(current) if isinstance(current, list) else set()
        names = names | {name} if paused else names - {name}
        await self.repos.settings.set(PAUSED_SETTING, sorted(names), by=by)

    async def housekeeping(self) -> dict[str, int]:
        """The retention rules (storage.retention): what ended, expired or aged goes."""
        removed = await prune(self.repos.db, utcnow(), self.retention)
        if removed:
            log.info("housekeeping removed %s", ", ".join(f"{n} {t}" for t, n in removed.items()))
        return removed


def _soon(seconds: float = 1) -> datetime:
    """A first run right after start (not one whole interval later). APScheduler runs on the
    wall clock, not on the bot's (which the demo runs faster)."""
    return datetime.now(UTC) + timedelta(seconds=seconds)
