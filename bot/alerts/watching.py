"""Running watchers: one poll cycle per APScheduler job, health per integration, and the one
`system.integration_down` / `system.integration_recovered` alert pair (never a storm).

The watcher protocol itself is the integration contract in :mod:`integrations.base`.
"""

from __future__ import annotations

import asyncio
import logging

from bot.alerts.pipeline import AlertPipeline, is_system
from bot.health import IntegrationHealth
from bot.metrics import Metrics
from integrations.base import Alert, Subject, Watcher
from integrations.errors import IntegrationError
from storage import Repos
from storage.db import utcnow

log = logging.getLogger(__name__)

# Consecutive failed polls before admins hear that an integration is down.
DOWN_AFTER_FAILURES = 3


class WatchRunner:
    """One watcher's cycle: poll, commit alerts + cursor atomically, keep health."""

    def __init__(
        self,
        watcher: Watcher,
        pipeline: AlertPipeline,
        repos: Repos,
        health: IntegrationHealth,
        metrics: Metrics,
    ) -> None:
        self.watcher = watcher
        self.pipeline = pipeline
        self.repos = repos
        self.health = health
        self.metrics = metrics
        self.down = False
        self._cycle = asyncio.Lock()  # held while a cycle runs, so shutdown can wait for it
        self.stopped = False  # set at shutdown: a job that fires after it polls nothing

    async def wait_idle(self) -> None:
        async with self._cycle:
            pass

    @property
    def name(self) -> str:
        return self.watcher.name

    async def run_once(self) -> None:
        if self.health.paused:
            return
        async with self._cycle:
            # A job the scheduler started just before it stopped may get here after shutdown
            # waited for the cycles in flight: it must not begin one the closing loop cuts off.
            if not self.stopped:
                await self._cycle_once()

    async def _cycle_once(self) -> None:
        cursor = await self.repos.alert_state.cursor(self.name)
        self.metrics.upstream_calls.labels(self.name).inc()
        try:
            result = await self.watcher.poll(cursor)
        except IntegrationError as exc:
            await self._failed(f"{type(exc).__name__}: {exc.user_message}")
            return
        except Exception as exc:  # a bug or an unexpected answer: logged, never fatal
            log.exception("%s watcher failed", self.name)
            await self._failed(type(exc).__name__)
            return
        # A system alert a watcher raises itself (events it could not read) goes to every admin
        # in private too, in the same transaction as the cycle.
        notices = [a for a in result.alerts if is_system(a.kind)]
        try:
            admins = [admin.id for admin in await self.repos.users.admins()] if notices else []
            await self.pipeline.commit(
                self.name,
                result.alerts,
                result.cursor,
                snapshots=result.snapshots,
                admins=admins,
            )
        except Exception as exc:
            # Nothing was written (one transaction): the cursor stays, the next poll fetches
            # the same events again. For health and the admins it is this integration failing.
            log.exception("%s cycle could not be committed", self.name)
            await self._failed(f"commit: {type(exc).__name__}: {exc}")
            return
        self.health.succeeded()
        for notice in notices:
            self.health.noticed(notice.kind, dict(notice.fields))
        if self.down:
            self.down = False
            self.pipeline.down.discard(self.name)
            await self._system_alert("system.integration_recovered")

    async def _failed(self, error: str) -> None:
        self.metrics.upstream_errors.labels(self.name).inc()
        self.health.failed(error)
        log.warning(
            "%s poll failed (%s in a row): %s", self.name, self.health.consecutive_failures, error
        )
        if not self.down and self.health.consecutive_failures >= DOWN_AFTER_FAILURES:
            self.down = True
            self.pipeline.down.add(self.name)
            await self._system_alert("system.integration_down", error=error)

    async def _system_alert(self, kind: str, *, error: str = "") -> None:
        now = utcnow()
        alert = Alert(
            kind=kind,
            source="system",
            subject=Subject("integration", self.name, self.name),
            occurred_at=now,
            dedupe_key=f"{kind}:{self.name}:{now.isoformat()}",
            fields={"error": error} if error else {},
        )
        # Every admin hears it in private (ADMIN_IDS and those granted since), and no one else:
        # its text is an integration's error.
        try:
            admins = [admin.id for admin in await self.repos.users.admins()]
            await self.pipeline.commit("system", [alert], None, extra_chats=admins)
        except Exception:  # the database itself may be what fails: health still says it
            log.exception("could not queue %s for %s", kind, self.name)
