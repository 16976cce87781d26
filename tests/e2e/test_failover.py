"""Two `logibot run` replicas on one PostgreSQL, behind a load balancer in webhook mode, while
1,000 alerts stream into three groups: SIGKILL the leader mid-delivery, twice, at different
moments. The standby takes over, no alert is lost, each kill repeats at most one message per
group (the one in flight), and a wizard begun before a kill finishes after it.

How fast the standby takes over is a figure of `make bench` (failover), not asserted here.
"""

from __future__ import annotations

import time

import pytest

from sandbox.failover import ADMIN, GROUPS, FailoverStand

TAKEOVER = 3  # LEADER_TAKEOVER_SECONDS: small, so the test takes seconds


@pytest.fixture
def backend() -> str:
    return "postgresql"


async def answer(stand: FailoverStand, text: str, expect: str) -> dict:
    """Send ``text`` as the admin in private; the bot's reply containing ``expect``."""
    last = stand.emu.last_message(ADMIN)
    stand.emu.user_sends(ADMIN, text)
    return await stand.emu.wait_for_message(
        ADMIN,
        lambda m: expect in m.get("text", ""),
        after_message_id=last["message_id"] if last else 0,
        timeout=60,
    )


async def test_the_standby_takes_over_and_nothing_is_lost(tmp_path, database_url):
    stand = FailoverStand(tmp_path, database_url, takeover_seconds=TAKEOVER)
    await stand.start()
    try:
        a = await stand.launch("a", slot=0)
        await stand.until_role(a, "leader")
        b = await stand.launch("b", slot=1)
        await stand.until_role(b, "standby")

        # Kill 1: a third of the stream in, a wizard half-way.
        await answer(stand, "/survey", "Как вас зовут?")
        await stand.until_delivered(300)
        first_kill = await stand.kill(a)
        await answer(stand, "Ирина", "Из какого вы города?")  # answered by b, a's question
        await stand.until_role(b, "leader", timeout=60)

        # a comes back as a standby; kill 2 at another moment, the wizard still open.
        a = await stand.launch("a2", slot=0)
        await stand.until_role(a, "standby")
        await stand.until_delivered(650)
        second_kill = await stand.kill(b)
        done = await answer(stand, "Тверь", "Записал")
        assert done["text"] == "Записал: Ирина, Тверь"
        await stand.until_role(a, "leader", timeout=60)

        await stand.until_delivered(1000, timeout=180)
        for group in GROUPS:
            delivered = {n for message in stand.delivered(group) for n in message}
            assert delivered == set(range(1000)), f"alerts lost in group {group}"
            assert stand.duplicate_messages(group) <= 2, f"group {group}: more than one a kill"
        takeovers = [
            (stand.first_alert_after(moment) or time.monotonic()) - moment
            for moment in (first_kill, second_kill)
        ]
        print(f"\nfailover: first alert after each SIGKILL in {takeovers} s (T={TAKEOVER})")
        rejected = [
            call
            for call in stand.emu.rejected_calls()
            if not (call.method == "getUpdates" and call.error_code == 409)
        ]
        assert not rejected
        assert not stand.emu.calls_of("getUpdates")  # webhook mode: nobody polls

        a.process.terminate()
        assert await a.process.wait() == 0
    finally:
        await stand.stop()
