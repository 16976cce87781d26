"""The Taxi-Master watcher against the simulator over loopback HTTP: orders followed to the
door and beyond, one get_order_state per live order per cycle."""

from __future__ import annotations

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


async def test_an_order_is_followed_to_the_door_and_forgotten_when_finished(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    order = NewOrder("89123456789", PICKUP, T0, dest="Железнодорожный вокзал")
    created = await client.create_order(order)
    store = Store()
    store.rows[str(created.order_id)] = initial_snapshot(
        created.order_id, source=order.source, dest=order.dest or "", source_time=T0
    )
    watcher = TaxiMasterWatcher(client, store)
    assert (await cycle(watcher, store)).alerts == []  # still new_order: nothing to say
    assert watcher.calls_last_cycle == 1

    kinds: list[str] = []
    for _ in range(200):
        sim.advance(timedelta(seconds=20))
        result = await cycle(watcher, store)
        kinds += [a.kind for a in result.alerts]
        if result.alerts and result.alerts[0].kind == "taxi.assigned":
            assigned = result.alerts[0]
            assert assigned.subject.type == "order" and assigned.subject.id == str(created.order_id)
            assert assigned.subject.title == f"{PICKUP} → Железнодорожный вокзал"
            fields = assigned.fields
            assert fields["state"] == "driver_assigned" and fields["car_plate"]
            assert fields["car_mark"] and fields["car_color"] and fields["driver_name"]
            assert str(fields["driver_phone"]).startswith("+7")
            assert fields["source"] == PICKUP and fields["source_time"] == T0.isoformat()
            assert assigned.location is not None
            # get_order_state + car + driver + one crews_coords
            assert watcher.calls_last_cycle == 4
        if str(created.order_id) not in store.rows:
            break
    assert kinds == ["taxi.assigned", "taxi.at_place", "taxi.client_inside", "taxi.finished"]
    assert store.rows == {}
    before = sim.calls_of("get_order_state")
    assert (await cycle(watcher, store)).alerts == []
    assert sim.calls_of("get_order_state") == before  # nothing left to poll


async def test_one_call_per_live_order_and_none_for_finished(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    store = Store()
    for n in range(30):
        order_id = sim.place_order(
            PICKUP, phone=f"8912000{n:04d}", source_time=T0 + timedelta(days=1)
        )
        store.rows[str(order_id)] = initial_snapshot(order_id)
    store.rows["1"] = {"order_id": 1, "state_kind": "finished"}  # left over: forgotten, no call
    watcher = TaxiMasterWatcher(client, store)
    result = await cycle(watcher, store)
    assert result.snapshots["1"] is None and result.alerts == []
    assert watcher.calls_last_cycle == 30
    assert sim.calls_of("get_order_state") == 30
    await cycle(watcher, store)
    assert watcher.calls_last_cycle == 30


async def test_aborted_order_ends_the_watch(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    order_id = sim.place_order(PICKUP, "Аэропорт Кольцово")
    sim.advance_until(order_id, "driver_assigned")
    state = await client.get_order_state(order_id)
    store = Store()
    store.rows[str(order_id)] = snapshot_from_state(state, {"title": "Рейс SU 1403"})
    watcher = TaxiMasterWatcher(client, store)
    assert (await cycle(watcher, store)).alerts == []  # the chat already saw this state
    sim.abort_order(order_id)
    result = await cycle(watcher, store)
    [alert] = result.alerts
    assert alert.kind == "taxi.aborted" and alert.subject.title == "Рейс SU 1403"
    assert alert.location is None and result.snapshots[str(order_id)] is None


async def test_missing_order_is_forgotten(client: TaxiMasterClient) -> None:
    store = Store()
    store.rows["424242"] = initial_snapshot(424242)
    result = await cycle(TaxiMasterWatcher(client, store), store)
    assert [a.kind for a in result.alerts] == ["taxi.aborted"]
    assert result.alerts[0].fields["reason"] == "order_not_found" and store.rows == {}


async def test_a_skipped_state_still_carries_the_crew(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    order_id = sim.place_order(PICKUP)
    store = Store()
    store.rows[str(order_id)] = initial_snapshot(order_id)
    watcher = TaxiMasterWatcher(client, store)
    sim.advance_until(order_id, "car_at_place")
    [alert] = (await cycle(watcher, store)).alerts
    assert alert.kind == "taxi.at_place" and alert.fields["car_plate"]
    assert store.rows[str(order_id)]["car"]["plate"] == alert.fields["car_plate"]


async def test_upstream_down_raises_and_keeps_snapshots(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    order_id = sim.place_order(PICKUP)
    store = Store()
    store.rows[str(order_id)] = initial_snapshot(order_id)
    sim.fail_next("get_order_state", 502)
    with pytest.raises(UpstreamUnavailable):
        await TaxiMasterWatcher(client, store).poll(None)
    assert str(order_id) in store.rows


async def test_an_unknown_state_gets_the_generic_kind(client: TaxiMasterClient) -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        data = {"order_id": 5, "state_id": 77, "state_kind": "", "crew_id": 0}
        return httpx.Response(200, json={"code": 0, "descr": "OK", "data": data})

    async with TaxiMasterClient(
        "https://tm.example", SECRET, transport=httpx.MockTransport(answer)
    ) as mocked:
        store = Store()
        store.rows["5"] = initial_snapshot(5)
        [alert] = (await cycle(TaxiMasterWatcher(mocked, store), store)).alerts
    assert alert.kind == GENERIC_KIND and alert.fields == {"state_id": 77}
