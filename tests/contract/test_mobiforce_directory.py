"""The bot's Mobiforce directories filled from the simulator over loopback HTTP into a real
SQLite file: every client, however many (the account's lists page by ten)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handlers.mobiforce.directory import MobiforceDirectory
from integrations.mobiforce.client import MobiforceClient
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator
from storage import Repos
from storage.db import Database

KEY = "mf-directory-key"


@pytest.fixture
async def sim() -> AsyncIterator[MobiforceSimulator]:
    simulator = MobiforceSimulator(KEY)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_the_client_directory_syncs_past_a_thousand_clients(sim, tmp_path):
    for i in range(1205):
        sim.add_contractor(f"Клиент {i:04d}")
    sim.add_template("Доставка")
    assert sim.base_url is not None
    async with (
        Database(tmp_path / "bot.sqlite3") as db,
        MobiforceClient(sim.base_url, KEY, per_minute=100_000) as client,
    ):
        repos = Repos.on(db)
        directory = MobiforceDirectory(client, repos.mobiforce, page_pause=0)
        counts = await directory.sync()
        assert counts["contractor"] == 1205
        assert await repos.mobiforce.count("contractor") == 1205
        [last] = await repos.mobiforce.find("contractor", "Клиент 1204")
        assert last.name == "Клиент 1204"
        assert sim.calls_of("get-contractor-list") == 121  # to the short last page
