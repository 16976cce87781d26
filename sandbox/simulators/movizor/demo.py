"""Movizor for `make demo`: its simulator, seeded, and the settings that point the bot at it."""

from __future__ import annotations

from sandbox.simulators.backend import Clock, DemoBackend
from sandbox.simulators.movizor.simulator import MovizorSimulator


async def demo(clock: Clock) -> DemoBackend:
    sim = MovizorSimulator("demo", "demo-key", clock=clock, seed_demo=True)
    await sim.start()
    settings = {
        "movizor_project": "demo",
        "movizor_key": "demo-key",
        "movizor_base_url": sim.base_url,
        "movizor_poll_seconds": 5,
    }
    return DemoBackend(settings, sim.stop, secrets=("demo-key",))
