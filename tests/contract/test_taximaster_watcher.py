"""The Taxi-Master watcher against the simulator over loopback HTTP: orders followed to the
door and beyond, each polled by how soon it can change, within a per-cycle cap, or all in one
get_current_orders where the server has it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta

import pytest

from integrations.base import Snapshot, WatchResult
from integrations.errors import UpstreamUnavailable
from integrations.taximaster.client import NewOrder, TaxiMasterClient
from integrations.taximaster.models import OrderStateKind
from integrations.taximaster.watcher import (
    GENERIC_KIND,
    STATE_KINDS,
    TaxiMasterWatcher,
    initial_snapshot,
    snapshot_from_state,
)
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator

SECRET = "watch-secret-77"
T0 = datetime(2024, 5, 13, 7, 0, tzinfo=UTC)
PICKUP = "улица Малышева, 36"


class Store:
    """The bot's watch_snapshots table, in memory: applies WatchResult.snapshots."""

    def __init__(self) -> None:
        self.rows: dict[str, Snapshot] = {}

    async def __call__(self, ids: Collection[str] | None = None) -> dict[str, Snapshot]:
        return {k: dict(v) for k, v in self.rows.items() if ids is None or k in ids}

    def apply(self, result: WatchResult) -> None:
        for key, snapshot in result.snapshots.items():
            if snapshot is None:
                self.rows.pop(key, None)
            else:
                self.rows[key] = snapshot


@pytest.fixture
async def sim() -> AsyncIterator[TaxiMasterSimulator]:
    simulator = TaxiMasterSimulator(SECRET, clock=lambda: T0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: TaxiMasterSimulator) -> AsyncIterator[TaxiMasterClient]:
    assert sim.base_url
    async with TaxiMasterClient(sim.base_url, SECRET, retries=0, timeout=2) as taximaster:
        yield taximaster


async def cycle(watcher: TaxiMasterWatcher, store: Store) -> WatchResult:
    result = await watcher.poll(None)
    assert result.cursor is None
    store.apply(result)
    return result


def test_every_state_has_a_kind() -> None:
    assert set(STATE_KINDS) == {k.value for k in OrderStateKind} - {"new_order"}
    assert GENERIC_KIND == "taxi.state_changed"


def watcher_for(
    sim: TaxiMasterSimulator, client: TaxiMasterClient, store: Store, **options: object
) -> TaxiMasterWatcher:
    return TaxiMasterWatcher(client, store, clock=sim.now, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("current_orders", [False, True], ids=["document", "newer-tmweb"])
async def test_an_order_is_followed_to_the_door_and_kept_until_the_day_ends(
    current_orders: bool, client: TaxiMasterClient
) -> None:
    sim = TaxiMasterSimulator(SECRET, clock=lambda: T0, current_orders=current_orders)
    await sim.start()
    try:
        assert sim.base_url
        async with TaxiMasterClient(sim.base_url, SECRET, retries=0, timeout=2) as client:
            await follow_to_the_end(sim, client)
    finally:
        await sim.stop()


async def follow_to_the_end(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    order = NewOrder("89123456789", PICKUP, T0, dest="Железнодорожный вокзал")
    created = await client.create_order(order)
    key = str(created.order_id)
    store = Store()
    store.rows[key] = initial_snapshot(
        created.order_id,
        phone=order.phone,
        source=order.source,
        dest=order.dest or "",
        source_time=T0,
    )
    watcher = watcher_for(sim, client, store)
    assert (await cycle(watcher, store)).alerts == []  # still new_order: nothing to say

    kinds: list[str] = []
    crews: set[object] = set()
    for _ in range(200):
        sim.advance(timedelta(seconds=15))
        result = await cycle(watcher, store)
        kinds += [a.kind for a in result.alerts]
        for alert in result.alerts:
            # Every alert names the order and its passenger.
            assert alert.subject.id == key
            assert alert.subject.title == f"№{key} · {PICKUP} → Железнодорожный вокзал"
            assert alert.fields["phone"] == "89123456789"
            crews.add(alert.fields.get("crew"))
        if result.alerts and result.alerts[0].kind == "taxi.assigned":
            fields = result.alerts[0].fields
            assert fields["state"] == "driver_assigned"
            # One identity: call sign · car (make, colour, plate) · driver
            assert re.fullmatch(r"\d{3} · [\w -]+, \w+, \w+ · \w+ \w+ \w+", str(fields["crew"]))
            assert str(fields["driver_phone"]).startswith("+7")
            assert fields["source"] == PICKUP and fields["source_time"] == T0.isoformat()
            assert result.alerts[0].location is not None
        if store.rows[key]["state_kind"] == "finished":
            break
    assert kinds == ["taxi.assigned", "taxi.at_place", "taxi.client_inside", "taxi.finished"]
    assert len(crews) == 1  # the crew reads the same in every alert of the order
    # Finished: kept (the bot lists today's finished orders), never polled again...
    assert store.rows[key]["final_at"]
    before = len(sim.requests)
    assert (await cycle(watcher, store)).alerts == []
    assert len(sim.requests) == before
    # ... and forgotten once the dispatch service's day is over.
    sim.advance(timedelta(days=1))
    await cycle(watcher, store)
    assert store.rows == {}


async def test_every_order_every_cycle_is_one_call_on_a_newer_server() -> None:
    sim = TaxiMasterSimulator(SECRET, clock=lambda: T0, current_orders=True)
    await sim.start()
    try:
        assert sim.base_url
        async with TaxiMasterClient(sim.base_url, SECRET, retries=0, timeout=2) as client:
            store = Store()
            for n in range(30):
                order_id = sim.place_order(PICKUP, phone=f"8912000{n:04d}")
                store.rows[str(order_id)] = initial_snapshot(order_id)
            watcher = watcher_for(sim, client, store)
            await cycle(watcher, store)
            assert watcher.calls_last_cycle == 1 and sim.calls_of("get_order_state") == 0
            ended = next(iter(store.rows))
            sim.abort_order(int(ended))
            result = await cycle(watcher, store)
            # The ended order is missing from the list: one get_order_state says how it ended.
            assert [a.kind for a in result.alerts] == ["taxi.aborted"]
            assert sim.calls_of("get_order_state") == 1
            assert watcher.staleness() == timedelta(0)
    finally:
        await sim.stop()


async def test_orders_are_polled_by_how_soon_they_can_change(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    """The document's server: a prior order far ahead is asked every 8th cycle, a new order
    every cycle; finished ones never."""
    store = Store()
    soon = sim.place_order(PICKUP, phone="89120000001")
    later = sim.place_order(PICKUP, phone="89120000002", source_time=T0 + timedelta(days=1))
    store.rows[str(soon)] = initial_snapshot(soon, source_time=T0)
    store.rows[str(later)] = initial_snapshot(later, source_time=T0 + timedelta(days=1))
    store.rows["1"] = {"order_id": 1, "state_kind": "finished", "final_at": T0.isoformat()}
    watcher = watcher_for(sim, client, store, poll_seconds=15)
    asked: list[list[int]] = []
    for _ in range(10):
        before = [r.params.get("order_id") for r in sim.requests if r.name == "get_order_state"]
        await cycle(watcher, store)
        after = [r.params.get("order_id") for r in sim.requests if r.name == "get_order_state"]
        asked.append(sorted(int(i) for i in after[len(before) :] if i))
        sim.advance(timedelta(seconds=15))
    assert soon in asked[0] and soon in asked[1]  # new, pickup now: every cycle
    assert [n for n, ids in enumerate(asked) if later in ids] == [0, 8]  # prior: every 8th
    assert "1" in store.rows  # today's finished order is kept, never asked about


async def test_the_cap_bounds_every_cycle_and_the_most_overdue_go_first(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    store = Store()
    for n in range(30):
        order_id = sim.place_order(
            PICKUP, phone=f"8912000{n:04d}", source_time=T0 + timedelta(minutes=5)
        )
        store.rows[str(order_id)] = initial_snapshot(order_id)
    watcher = watcher_for(sim, client, store, max_calls=10, poll_seconds=15)
    seen: set[str] = set()
    for _ in range(6):
        before = len(sim.requests)
        await cycle(watcher, store)
        assert watcher.calls_last_cycle <= 10
        seen |= {r.params["order_id"] for r in sim.requests[before:] if r.name == "get_order_state"}
        sim.advance(timedelta(seconds=15))
    # Nobody starves: 6 a cycle (the cap less what is kept for naming crews and their places),
    # the never-read first.
    assert seen == set(store.rows)


async def test_aborted_order_ends_the_watch(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    order_id = sim.place_order(PICKUP, "Аэропорт Кольцово")
    sim.advance_until(order_id, "driver_assigned")
    state = await client.get_order_state(order_id)
    store = Store()
    store.rows[str(order_id)] = snapshot_from_state(state, {"title": "Рейс SU 1403"})
    watcher = watcher_for(sim, client, store)
    assert (await cycle(watcher, store)).alerts == []  # the chat already saw this state
    sim.abort_order(order_id)
    sim.advance(timedelta(seconds=30))
    result = await cycle(watcher, store)
    [alert] = result.alerts
    assert alert.kind == "taxi.aborted" and alert.subject.title == f"№{order_id} · Рейс SU 1403"
    assert alert.location is None and store.rows[str(order_id)]["state_kind"] == "aborted"


async def test_an_order_tmweb_no_longer_knows_is_not_called_cancelled(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    store = Store()
    store.rows["424242"] = initial_snapshot(424242, phone="89123456789")
    result = await cycle(watcher_for(sim, client, store), store)
    assert [a.kind for a in result.alerts] == [GENERIC_KIND]
    assert result.alerts[0].fields["reason"] == "order_not_found" and store.rows == {}
    assert result.alerts[0].fields["phone"] == "89123456789"


async def test_a_skipped_state_still_carries_the_crew(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    order_id = sim.place_order(PICKUP)
    store = Store()
    store.rows[str(order_id)] = initial_snapshot(order_id)
    watcher = watcher_for(sim, client, store)
    sim.advance_until(order_id, "car_at_place")
    [alert] = (await cycle(watcher, store)).alerts
    assert alert.kind == "taxi.at_place" and alert.fields["crew"]
    assert store.rows[str(order_id)]["crew"]["plate"] in str(alert.fields["crew"])


async def test_a_crew_is_named_once_and_the_name_is_kept(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    """Two orders of one crew, one after another: the crew, its car and driver are read once;
    the call sign is the crew's own (not the car's)."""
    store = Store()
    first = sim.place_order(PICKUP, "Железнодорожный вокзал", phone="89120000001")
    store.rows[str(first)] = initial_snapshot(first)
    watcher = watcher_for(sim, client, store)
    sim.advance_until(first, "driver_assigned")
    [alert] = (await cycle(watcher, store)).alerts
    crew = store.rows[str(first)]["crew"]
    assert str(alert.fields["crew"]).startswith(crew["code"] + " · ")
    info = await client.get_crew_info(crew["crew_id"])
    assert crew["code"] == info.code  # the crew's call sign, not its car's
    calls = {name: sim.calls_of(name) for name in ("get_crew_info", "get_car_info")}
    sim.advance_until(first, "finished", step=timedelta(minutes=1))
    await cycle(watcher, store)
    second = sim.place_order(PICKUP, phone="89120000002")
    store.rows[str(second)] = initial_snapshot(second)
    sim.advance_until(second, "driver_assigned")
    await cycle(watcher, store)
    if store.rows[str(second)]["crew"]["crew_id"] == crew["crew_id"]:
        assert sim.calls_of("get_crew_info") == calls["get_crew_info"] + 1  # (ours, above)
        assert sim.calls_of("get_car_info") == calls["get_car_info"]


async def test_upstream_down_raises_and_keeps_snapshots(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    order_id = sim.place_order(PICKUP)
    store = Store()
    store.rows[str(order_id)] = initial_snapshot(order_id)
    sim.fail_next("get_order_state", 502)
    with pytest.raises(UpstreamUnavailable):
        await watcher_for(sim, client, store).poll(None)
    assert str(order_id) in store.rows


async def test_an_unknown_state_gets_the_generic_kind(client: TaxiMasterClient) -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("get_current_orders"):
            return httpx.Response(200, json={"code": 6, "descr": "Неизвестное", "data": {}})
        data = {"order_id": 5, "state_id": 77, "state_kind": "", "crew_id": 0}
        return httpx.Response(200, json={"code": 0, "descr": "OK", "data": data})

    async with TaxiMasterClient(
        "https://tm.example", SECRET, transport=httpx.MockTransport(answer)
    ) as mocked:
        store = Store()
        store.rows["5"] = initial_snapshot(5)
        [alert] = (await cycle(TaxiMasterWatcher(mocked, store), store)).alerts
    assert alert.kind == GENERIC_KIND and alert.fields == {"state_id": 77}


async def test_an_order_without_a_crew_past_its_pickup_time_is_told_once(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    """No free crew: ``taxi.no_crew`` once, ``no_crew_after`` past the pickup time; the crew
    that comes later is told as always."""
    for crew in sim.world.crews:
        sim.set_crew_state(crew, "not_available")
    pickup = T0 + timedelta(minutes=5)
    order = NewOrder("89123456789", PICKUP, pickup, dest="Железнодорожный вокзал")
    created = await client.create_order(order)
    key = str(created.order_id)
    store = Store()
    store.rows[key] = initial_snapshot(
        created.order_id, phone=order.phone, source=PICKUP, source_time=pickup
    )
    watcher = watcher_for(sim, client, store, no_crew_after=timedelta(minutes=10))
    kinds: list[str] = []
    for _ in range(14 * 4):  # to 14 minutes after T0: 9 past the pickup
        sim.advance(timedelta(seconds=15))
        kinds += [a.kind for a in (await cycle(watcher, store)).alerts]
    assert kinds == []
    for _ in range(4 * 4):
        sim.advance(timedelta(seconds=15))
        result = await cycle(watcher, store)
        kinds += [a.kind for a in result.alerts]
        if result.alerts:
            told = result.alerts[0]
            assert told.subject.key == f"order:{key}" and told.fields["phone"] == "89123456789"
            assert sim.now() >= pickup + timedelta(minutes=10)
    assert kinds == ["taxi.no_crew"]  # once, not every cycle
    for crew in sim.world.crews:
        sim.set_crew_state(crew, "waiting")
    for _ in range(12):
        sim.advance(timedelta(seconds=15))
        kinds += [a.kind for a in (await cycle(watcher, store)).alerts]
    assert kinds[:2] == ["taxi.no_crew", "taxi.assigned"]
