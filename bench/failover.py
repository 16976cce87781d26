"""Section: failover — seconds from the leader's SIGKILL to the first alert the standby sends.

Two `logibot run` replicas (sandbox/replica.py) on a throwaway PostgreSQL, in webhook mode
behind a load balancer (sandbox/failover.py), with the default ``LEADER_TAKEOVER_SECONDS``,
while a stream of alerts goes to three groups. The leader is killed twice, at different
moments; each time the clock runs from the SIGKILL to the first alert message the new leader
sends. Target: ``LEADER_TAKEOVER_SECONDS`` + one watcher poll (1 s here). Alerts lost (target
0) and repeated messages (at most one per group a kill) are counted too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.report import Row, at_most, exactly
from sandbox.failover import GROUPS, FailoverStand
from sandbox.pg_cluster import ThrowawayPostgres
from sandbox.replica import POLL_SECONDS

TITLE = "failover: two replicas on PostgreSQL, the leader SIGKILLed twice"

TAKEOVER_SECONDS = 15.0  # LEADER_TAKEOVER_SECONDS' default
ALERTS = 1000
KILL_AT = (250, 600)  # distinct alerts every group has when the leader is killed
PAGE_SIZE = 20  # alerts a watcher poll (1 s): the stream lasts ~50 s, the kills land inside it


async def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as workdir, ThrowawayPostgres() as cluster:
        url = await cluster.new_database()
        stand = FailoverStand(
            Path(workdir), url, takeover_seconds=TAKEOVER_SECONDS, page_size=PAGE_SIZE
        )
        await stand.start()
        try:
            takeovers = await _two_kills(stand)
            lost = sum(ALERTS - stand.distinct(g) for g in GROUPS)
            repeated = max(stand.duplicate_messages(g) for g in GROUPS)
        finally:
            await stand.stop()
    limit = TAKEOVER_SECONDS + POLL_SECONDS
    return [
        *(
            Row(f"kill {n}: SIGKILL to the standby's first alert", s, "s", at_most(limit), 1)
            for n, s in enumerate(takeovers, 1)
        ),
        Row("alerts lost (3 groups × 1,000)", lost, "", exactly(0), 0),
        Row("repeated messages in the worst group (2 kills)", repeated, "", at_most(2), 0),
    ]


async def _two_kills(stand: FailoverStand) -> list[float]:
    leader = await stand.launch("a", slot=0)
    await stand.until_role(leader, "leader", timeout=120)
    standby = await stand.launch("b", slot=1)
    await stand.until_role(standby, "standby", timeout=120)
    takeovers: list[float] = []
    for number, kill_at in enumerate(KILL_AT):
        await stand.until_delivered(kill_at, timeout=300)
        killed_at = await stand.kill(leader)
        had = min(stand.distinct(group) for group in GROUPS)
        if had >= ALERTS:
            raise RuntimeError("the stream ended before the kill: nothing left to take over")
        await stand.until_role(standby, "leader", timeout=120)
        await stand.until_delivered(min(ALERTS, had + 1), timeout=300)
        first = stand.first_alert_after(killed_at)
        if first is None:
            raise RuntimeError("no alert message after the kill")
        takeovers.append(first - killed_at)
        leader, standby = standby, await stand.launch(f"restarted-{number}", slot=number % 2)
        await stand.until_role(standby, "standby", timeout=120)
    await stand.until_delivered(ALERTS, timeout=300)
    return takeovers
