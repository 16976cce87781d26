"""Storm mode: when a chat's due alerts outrun its message budget, messages get denser, not later.

A group may hear 20 messages a minute. At a real storm (a snowfall, a closed highway, a
service outage) a group can be due hundreds of alerts a minute: sent as always, the queue grows
and a dispatcher reads about a driver who left the route a minute late. So each job of the
sender (bot/alerts/sender.py) picks the density of what it sends:

- **Entering.** The chat's due alerts, laid out as always (``Density.FULL``), need more messages
  than its budget sends within ``horizon`` seconds (what is free now and what refills
  meanwhile): the job climbs the ladder (bot/alerts/packing.py ``Density``: one line per
  subject, then one summary line per kind with urgent subjects first) to the first density that
  fits, and the chat is in a storm from then. Its first storm message says why.
- **While it lasts** messages stay at least one line per subject, so a chat does not flap
  between long and dense messages while the storm comes in waves.
- **Leaving.** Once ``calm`` seconds have passed since the chat last needed density, one line
  says the storm ended and how many alerts went out in summaries.

Nothing is dropped: every alert rides the message that summarized it (its outbox row is marked
sent with that message), so «📋» lists it, «✅ Принял»/«🔕 Тишина» act on it. The state is in
memory and in ``alert_storms`` (/status lists it; a restart mid-storm keeps the count).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter

from bot.alerts.packing import Density, Outgoing
from bot.metrics import Metrics
from storage import Repos
from storage.db import utcnow

HORIZON = 5.0  # seconds: how long the budget may take to send a chat's due alerts as always
CALM = 120.0  # seconds without needing density before a storm is over
# (density, whether the chat's first storm message is still to come) -> its messages
LayOut = Callable[[Density, bool], Awaitable[list[Outgoing]]]


@dataclass
class ChatStorm:
    since: datetime
    dense_at: datetime  # the last time the chat's due alerts outran its budget
    summarized: dict[int, int] = field(default_factory=dict)  # topic -> alerts in summaries


def room(limiter: AsyncLimiter, horizon: float) -> int:
    """How many messages the chat's budget sends within ``horizon`` seconds (at least one)."""
    free = next((n for n in range(int(limiter.max_rate), 0, -1) if limiter.has_capacity(n)), 0)
    refill = limiter.max_rate / limiter.time_period * horizon
    return max(1, free + int(refill))


class StormDesk:
    def __init__(
        self,
        repos: Repos,
        metrics: Metrics,
        *,
        enabled: bool = True,
        horizon: float = HORIZON,
        calm: float = CALM,
    ) -> None:
        self.repos = repos
        self.metrics = metrics
        self.enabled = enabled
        self.horizon = horizon
        self.calm = timedelta(seconds=calm)
        self._storms: dict[int, ChatStorm] = {}

    async def load(self) -> None:
        """The storms that were on when the process stopped (their counts go on)."""
        self._storms = {}
        for row in await self.repos.alert_storms.all():
            storm = self._storms.setdefault(row.chat_id, ChatStorm(row.since, row.last_dense_at))
            storm.since = min(storm.since, row.since)
            storm.dense_at = max(storm.dense_at, row.last_dense_at)
            storm.summarized[row.thread_id] = row.summarized
        self.metrics.storm_chats.set(len(self._storms))

    # --- choosing a density ------------------------------------------------------------------
    async def fit(self, chat_id: int, limiter: AsyncLimiter, lay_out: LayOut) -> list[Outgoing]:
        """The messages for a chat's due alerts: laid out as always when the budget sends
        them in time, else at the first density up the ladder that it does."""
        entering = not self.announced(chat_id)
        queue = await lay_out(Density.FULL, entering)
        if not self.enabled or not queue:
            return queue
        needed, budget = Density.FULL, room(limiter, self.horizon)
        while len(queue) > budget and needed < Density.KIND:
            needed = Density(needed + 1)
            queue = await lay_out(needed, entering)
        density = self.observe(chat_id, needed)
        if density != needed:
            queue = await lay_out(density, entering)
        return queue

    def announced(self, chat_id: int) -> bool:
        """The chat has had a storm message already (the first one says why)."""
        storm = self._storms.get(chat_id)
        return storm is not None and any(storm.summarized.values())

    def observe(self, chat_id: int, needed: Density) -> Density:
        """The chat's due alerts need ``needed`` to fit its budget: the density to send at."""
        storm = self._storms.get(chat_id)
        if needed > Density.FULL:
            now = utcnow()
            if storm is None:
                self._storms[chat_id] = ChatStorm(now, now)
                self.metrics.storm_chats.set(len(self._storms))
            else:
                storm.dense_at = now
            return needed
        return Density.SUBJECT if storm is not None else Density.FULL

    async def delivered(self, chat_id: int, thread_id: int, count: int) -> None:
        """A storm message carrying ``count`` alerts went out."""
        storm = self._storms.get(chat_id)
        if storm is None:
            return
        storm.summarized[thread_id] = storm.summarized.get(thread_id, 0) + count
        self.metrics.alerts_summarized.inc(count)
        await self.repos.alert_storms.add_summarized(
            chat_id, thread_id, count, since=storm.since, dense_at=storm.dense_at
        )

    # --- leaving -----------------------------------------------------------------------------
    def over(self, now: datetime) -> list[int]:
        """The chats whose storm is over: calm for long enough."""
        return [chat for chat, storm in self._storms.items() if storm.dense_at + self.calm <= now]

    def is_over(self, chat_id: int, now: datetime) -> bool:
        storm = self._storms.get(chat_id)
        return storm is not None and storm.dense_at + self.calm <= now

    def next_end_in(self, now: datetime) -> float | None:
        """Seconds until the next storm may end (None: no storm)."""
        if not self._storms:
            return None
        first = min(storm.dense_at for storm in self._storms.values()) + self.calm
        return max(0.0, (first - now).total_seconds())

    def ending(self, chat_id: int) -> tuple[datetime, dict[int, int]]:
        """When the chat's storm began, and its topics' counts still to be told."""
        storm = self._storms[chat_id]
        return storm.since, {t: n for t, n in storm.summarized.items() if n}

    async def told(self, chat_id: int, thread_id: int) -> None:
        """The "storm ended" line went out to this topic (or could not: it is not retried)."""
        storm = self._storms.get(chat_id)
        if storm is not None:
            storm.summarized.pop(thread_id, None)
        await self.repos.alert_storms.end(chat_id, thread_id)

    async def forget(self, chat_id: int) -> None:
        self._storms.pop(chat_id, None)
        self.metrics.storm_chats.set(len(self._storms))
        await self.repos.alert_storms.end(chat_id)

    def move(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup (storage moved its rows)."""
        storm = self._storms.pop(old_id, None)
        if storm is not None:
            self._storms[new_id] = storm

    def chats(self) -> list[int]:
        return list(self._storms)
