"""Taxi-Master for `make demo`: its simulator, seeded, and the settings that point the bot at it."""

from __future__ import annotations

from integrations.taximaster.watcher import SOURCE, initial_snapshot
from sandbox.simulators.backend import Clock, DemoBackend
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from storage import Repos

DEMO_SECRET = "demo-taximaster-secret"


async def demo(clock: Clock) -> DemoBackend:
    sim = TaxiMasterSimulator(DEMO_SECRET, clock=clock, seed_demo=True)
    base_url = await sim.start()
    settings = {
        "taximaster_base_url": base_url,
        "taximaster_secret": DEMO_SECRET,
        "taximaster_poll_seconds": 5,
    }

    async def seed(repos: Repos) -> None:
        """The seeded orders are watched from the start: the demo group (which hears the taxi
        area) sees them get a car and reach the door."""
        for seeded in sim.orders:
            snapshot = initial_snapshot(
                seeded.id,
                phone=seeded.phone,
                source=seeded.source,
                dest=seeded.dest,
                source_time=seeded.source_time,
            )
            await repos.snapshots.put(SOURCE, str(seeded.id), snapshot)

    return DemoBackend(settings, sim.stop, secrets=(DEMO_SECRET,), seed=seed)
