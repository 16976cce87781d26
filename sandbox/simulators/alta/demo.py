"""Alta for `make demo`: its simulator, seeded, and the settings that point the bot at it."""

from __future__ import annotations

from datetime import timedelta

from handlers.alta.lookup import SOURCE
from integrations.alta.watcher import initial_snapshot
from sandbox.simulators.alta.simulator import AltaSimulator
from sandbox.simulators.backend import Clock, DemoBackend
from storage import Repos

DEMO_LOGIN, DEMO_SA, DEMO_PASSWORD = "demo@alta.ru", "sa000777", "demo-alta-password"


async def demo(clock: Clock) -> DemoBackend:
    """The simulator with wagons already on the way; the bot watches them (the demo group hears
    their moves from the first poll, a minute after start)."""
    sim = AltaSimulator(
        DEMO_LOGIN,
        DEMO_SA,
        DEMO_PASSWORD,
        clock=clock,
        seed_demo=True,
        first_report_delay=timedelta(minutes=20),
    )
    await sim.start()

    async def seed(repos: Repos) -> None:
        for request in sim.world.requests.values():
            for number in request.tracked:
                title = f"{number} · {request.comment}" if request.comment else number
                snapshot = initial_snapshot(number, request.hash, request.created_at, title=title)
                await repos.snapshots.put(SOURCE, number, snapshot)

    settings = {
        "alta_login": DEMO_LOGIN,
        "alta_sa": DEMO_SA,
        "alta_password": DEMO_PASSWORD,
        "alta_base_url": sim.base_url,
        "alta_poll_seconds": 60,
    }
    return DemoBackend(settings, sim.stop, secrets=(DEMO_PASSWORD,), seed=seed)
