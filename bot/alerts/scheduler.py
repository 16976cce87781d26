"""APScheduler: one job per enabled integration's watcher, plus housekeeping.

Jobs live in memory and are rebuilt at every start from our own tables (the cursors are in
SQLite with the outbox), so there is no pickled job store to drift out of date.
"""

from __future__ import annotations

import asyncio
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
CHORE_STOP_SECONDS = 10.0  # how long a stop waits for a chore in flight before cancelling it


class AlertScheduler:
    def __init__(self, repos: Repos, retention: Retention | None = None) -> None:
        self.repos = repos
        self.retention = retention or Retention()
        self.runners: dict[str, WatchRunner] = {}
        self.intervals: dict[str, int] = {}
        # Other periodic jobs of the app: (name, job, every seconds).
        self.chores: list[tuple[str, Callable[[], Awaitable[object]], int]] = []
        self._scheduler: AsyncIOScheduler | None = None
        self._chores_in_flight: set[asyncio.Future[object]] = set()

    def add(self, runner: WatchRunner, every_seconds: int) -> None:
        self.runners[runner.name] = runner
        self.intervals[runner.name] = every_seconds

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
        for chore, job, seconds in self.chores:
            self._scheduler.add_job(
                self._finishing(job),
                "interval",
                seconds=seconds,
                id=f"chore:{chore}",
                name=f"chore:{chore}",  # in APScheduler's log lines (else "…_finishing.<locals>")
            )
        # Daily, and once soon after start (a bot restarted every night still prunes).
        self._scheduler.add_job(
            self.housekeeping, "interval", days=1, id="housekeeping", next_run_time=_soon(60)
        )
        self._scheduler.start()

    def reschedule(self, name: str, every_seconds: int) -> None:
        """A poll period changed from the chat: the watcher's job runs every ``every_seconds``
        from now on (APScheduler's reschedule_job: the next run is one new period from now),
        kept paused if it was. Before start, only the period to start with changes."""
        if name not in self.runners or self.intervals[name] == every_seconds:
            return
        self.intervals[name] = every_seconds
        if self._scheduler is None:
            return
        job = self._scheduler.get_job(f"watch:{name}")
        if job is None:
            return
        job = self._scheduler.reschedule_job(
            job.id, trigger="interval", seconds=every_seconds, jitter=max(1, every_seconds // 10)
        )
        if self.runners[name].health.paused:
            job.pause()
        log.info("watcher %s now polls every %s s", name, every_seconds)

    def _finishing(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        """``job`` as a job that a scheduler's shutdown does not cut off half-way (APScheduler
        cancels the coroutine jobs in flight): :meth:`stop` waits for it instead."""

        async def run() -> object:
            work = asyncio.ensure_future(job())
            self._chores_in_flight.add(work)
            work.add_done_callback(self._chores_in_flight.discard)
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                if work.cancelled():
                    raise
                return None  # the scheduler shuts down; stop() waits for the work

        return run

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._chores_in_flight:
            in_flight = list(self._chores_in_flight)
            _done, late = await asyncio.wait(in_flight, timeout=CHORE_STOP_SECONDS)
            for work in late:
                log.warning("stopping: a chore runs past %s s: cancelled", CHORE_STOP_SECONDS)
                work.cancel()
            await asyncio.gather(*late, return_exceptions=True)
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
