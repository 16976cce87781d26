"""The test source's watcher: alerts queued with :meth:`emit` come out of the next poll.

Its cursor is the sequence number of the last alert handed out, so a crash between poll and
commit re-delivers exactly what was not committed, like a real integration's event feed.
"""

from __future__ import annotations

from integrations.base import Alert, WatchResult
from integrations.errors import UpstreamUnavailable


class TestSource:
    __test__ = False  # not a pytest class
    name = "testsource"

    def __init__(self, *, page_size: int = 1000) -> None:
        self.page_size = page_size
        self._alerts: list[Alert] = []  # sequence number = index + 1
        self.failing = False  # set True to make polls fail like an unreachable service

    def emit(self, *alerts: Alert) -> None:
        self._alerts.extend(alerts)

    @property
    def emitted(self) -> int:
        return len(self._alerts)

    async def poll(self, cursor: str | None) -> WatchResult:
        if self.failing:
            raise UpstreamUnavailable("the test source is set to fail", code="test")
        start = int(cursor) if cursor else 0
        page = self._alerts[start : start + self.page_size]
        return WatchResult(alerts=page, cursor=str(start + len(page)))
