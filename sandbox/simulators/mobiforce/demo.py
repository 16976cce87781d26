"""Mobiforce for `make demo`: its simulator, seeded, and the settings that point the bot at it."""

from __future__ import annotations

from sandbox.simulators.backend import Clock, DemoBackend
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator


async def demo(clock: Clock) -> DemoBackend:
    # The demo account answers get-task with more than the document shows (executor, client,
    # status), as real accounts may: the cards and alerts show them.
    sim = MobiforceSimulator("demo-mobiforce-key", clock=clock, seed_demo=True, task_shape="rich")
    await sim.start()
    settings = {
        "mobiforce_base_url": sim.base_url,
        "mobiforce_api_key": "demo-mobiforce-key",
        "mobiforce_poll_seconds": 5,
        "mobiforce_close_status": "74",
    }
    return DemoBackend(settings, sim.stop, secrets=("demo-mobiforce-key",))
