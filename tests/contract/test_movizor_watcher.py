"""The Movizor watcher against the simulator over loopback HTTP."""

from datetime import timedelta

import pytest

from integrations.movizor.client import MovizorClient
from integrations.movizor.models import EventType
from integrations.movizor.watcher import EVENT_KINDS, DriverInfo, MovizorWatcher
from sandbox.simulators.movizor.simulator import MovizorSimulator

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


async def test_the_event_is_a_field_only_where_the_kind_does_not_say_it(sim, watcher):
    cursor = (await watcher.poll(None)).cursor
    sim.emit(PHONE, "onroute")  # "Водитель на маршруте" says it all
    sim.emit(PHONE, "auto_off")  # "Водитель отключён": automatically, or by someone?
    sim.emit(PHONE, "autoinform")  # "Сведения о водителе": which?
    on_route, off, info = (await watcher.poll(cursor)).alerts
    assert on_route.kind == "driver.on_route" and "event" not in on_route.fields
    assert (off.kind, off.fields["event"]) == ("driver.off", "auto_off")
    assert (info.kind, info.fields["event"]) == ("driver.info", "autoinform")


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
    """More than a page after the cursor, listed newest first, where ``afterid`` gets the
    oldest ``limit``: every event is routed once, in order, and the calls stay bounded."""
    sim.world.events_window = "oldest"
    cursor = (await watcher.poll(None)).cursor
    for _ in range(2500):
        sim.emit(PHONE, "mstart")
    result = await watcher.poll(cursor)
    assert [a.kind for a in result.alerts] == ["driver.app_started"] * 2500
    keys = [a.dedupe_key for a in result.alerts]
    assert keys == [f"movizor:{e['id']}" for e in sim.events[-2500:]]
    assert result.cursor == str(sim.events[-1]["id"])
    # 3 pages, a probe for each of the 2 full ones, pos_objects, one title lookup
    assert watcher.calls_last_cycle <= 7


async def test_events_the_service_will_not_give_are_reported(sim, watcher):
    """Where ``afterid`` gets the NEWEST 1,000 of 2,500, the 1,500 older ones cannot be asked
    for: the cycle routes what it got and says which ids may be lost, instead of skipping them
    quietly."""
    cursor = (await watcher.poll(None)).cursor
    for _ in range(2500):
        sim.emit(PHONE, "mstart")
    result = await watcher.poll(cursor)
    [gap, *events] = result.alerts
    assert len(events) == 1000
    assert [a.dedupe_key for a in events] == [f"movizor:{e['id']}" for e in sim.events[-1000:]]
    oldest_given = sim.events[-1000]["id"]
    assert gap.kind == "system.events_skipped" and gap.subject.id == "movizor"
    assert gap.fields == {"after_id": int(cursor), "before_id": oldest_given, "page_size": 1000}
    assert result.cursor == str(sim.events[-1]["id"])
    assert watcher.calls_last_cycle <= 5
    # Told once: the next cycle starts after the newest event and finds nothing missing.
    sim.emit(PHONE, "mstop")
    after = await watcher.poll(result.cursor)
    assert [a.kind for a in after.alerts] == ["driver.app_stopped"]


async def test_less_than_a_page_is_no_gap(sim, watcher):
    """999 new events fit a page: nothing can be missing, nothing is reported. (At exactly
    1,000 a service giving the newest cannot prove that none came before: "may" is said.)"""
    cursor = (await watcher.poll(None)).cursor
    for _ in range(999):
        sim.emit(PHONE, "mstart")
    result = await watcher.poll(cursor)
    assert len(result.alerts) == 999
    assert all(a.kind == "driver.app_started" for a in result.alerts)


@pytest.mark.parametrize("fault", [500, "bad_json", "html"])
async def test_a_failed_pos_objects_never_holds_the_alerts_back(sim, watcher, fault):
    cursor = (await watcher.poll(None)).cursor
    sim.emit(PHONE, "leftroute")
    sim.fail_next("pos_objects", fault)
    result = await watcher.poll(cursor)
    assert [a.kind for a in result.alerts] == ["driver.left_route"]
    assert int(result.cursor) > int(cursor)  # routed now, not at the next cycle
    left = result.alerts[0]
    assert "distance_left_km" not in left.fields  # no position this cycle: sent without it
