"""The Movizor watcher against the simulator over loopback HTTP."""

from datetime import timedelta

import pytest

from integrations.movizor.client import MovizorClient
from integrations.movizor.models import EventType
from integrations.movizor.simulator import MovizorSimulator
from integrations.movizor.watcher import EVENT_KINDS, DriverInfo, MovizorWatcher

PHONE = "79991234567"
OTHER = "79990001122"


@pytest.fixture
async def sim():
    simulator = MovizorSimulator(project="acme", key="k-secret-1")
    await simulator.start()
    now = simulator.now()
    simulator.add_driver(
        PHONE,
        "Петров <И.И.> & Co",
        [("Москва", 55.75, 37.61, now), ("Казань", 55.79, 49.12, now + timedelta(hours=12))],
    )
    simulator.add_driver(OTHER, "Сидоров", [])
    yield simulator
    await simulator.stop()


@pytest.fixture
async def watcher(sim):
    client = MovizorClient(sim.base_url, "acme", "k-secret-1", retries=0)
    directory = {PHONE: DriverInfo("Петров (из справочника)", ("Казань",))}
    remembered: dict[str, DriverInfo] = {}

    async def lookup(phones):
        return {p: directory[p] for p in phones if p in directory}

    async def remember(phone, info):
        remembered[phone] = info

    w = MovizorWatcher(client, lookup, remember)
    w.remembered = remembered  # type: ignore[attr-defined]
    yield w
    await client.aclose()


def test_every_documented_event_type_has_a_kind():
    assert set(EVENT_KINDS) == {str(t) for t in EventType}


async def test_first_start_does_not_replay_history(sim, watcher):
    for _ in range(5):
        sim.emit(PHONE, "pos_late")
    first = await watcher.poll(None)
    assert first.alerts == [] and first.cursor is not None and int(first.cursor) > 0
    again = await watcher.poll(first.cursor)
    assert again.alerts == [] and again.cursor == first.cursor


async def test_new_events_become_enriched_alerts(sim, watcher):
    cursor = (await watcher.poll(None)).cursor
    sim.emit(PHONE, "pos_late")
    sim.emit(PHONE, "leftroute")
    sim.emit(OTHER, "onparking")
    result = await watcher.poll(cursor)
    kinds = [(a.kind, a.subject.id) for a in result.alerts]
    assert kinds == [("driver.late", PHONE), ("driver.left_route", PHONE), ("driver.parked", OTHER)]
    late = result.alerts[0]
    assert late.subject.title == "Петров (из справочника)" and late.subject.tags == ("Казань",)
    assert late.location is not None and late.dedupe_key.startswith("movizor:")
    # A phone the directory does not know is looked up once and remembered.
    assert result.alerts[2].subject.title == "Сидоров"
    assert watcher.remembered[OTHER].title == "Сидоров"
    assert int(result.cursor) > int(cursor)


async def test_upstream_calls_per_cycle_do_not_grow_with_events(sim, watcher):
    cursor = (await watcher.poll(None)).cursor
    sim.emit(PHONE, "pos_late")
    result = await watcher.poll(cursor)
    few_calls = watcher.calls_last_cycle
    for _ in range(300):
        sim.emit(PHONE, "pos_ok")
    result = await watcher.poll(result.cursor)
    assert len(result.alerts) == 300
    assert watcher.calls_last_cycle <= few_calls  # events + pos_objects, nothing per event


async def test_pages_are_drained(sim, watcher):
    cursor = (await watcher.poll(None)).cursor
    for _ in range(2500):
        sim.emit(PHONE, "mstart")
    result = await watcher.poll(cursor)
    assert len(result.alerts) == 2500
    assert len({a.dedupe_key for a in result.alerts}) == 2500
