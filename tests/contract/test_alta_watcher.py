"""The Alta watcher against the simulator over loopback HTTP, with an in-memory snapshot store
that commits each WatchResult the way the bot does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta

import pytest

from integrations.alta.client import AltaClient
from integrations.alta.functions import TEST_LOGIN, TEST_PASSWORD, TEST_SA
from integrations.alta.watcher import KINDS, AltaWatcher, initial_snapshot
from integrations.base import Snapshot, WatchResult
from sandbox.simulators.alta.simulator import AltaSimulator

T0 = datetime(2024, 5, 13, 5, 0, tzinfo=UTC)  # Monday 08:00 in Moscow
HOUR = timedelta(hours=1)


class Store:
    """The bot's side: snapshots by number and the cursor, committed per result."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self.cursor: str | None = None

    async def __call__(self, ids: Collection[str] | None = None) -> dict[str, Snapshot]:
        return {k: v for k, v in self.snapshots.items() if ids is None or k in ids}

    def commit(self, result: WatchResult) -> None:
        for number, snapshot in result.snapshots.items():
            if snapshot is None:
                self.snapshots.pop(number, None)
            else:
                self.snapshots[number] = snapshot
        if result.cursor is not None:
            self.cursor = result.cursor

    def watch(self, sim: AltaSimulator, request_hash: str, **options: object) -> None:
        for number in sim.request(request_hash).numbers:
            self.snapshots[number] = initial_snapshot(
                number, request_hash, sim.request(request_hash).created_at, **options
            )  # type: ignore[arg-type]


@pytest.fixture
async def sim() -> AsyncIterator[AltaSimulator]:
    simulator = AltaSimulator(clock=lambda: T0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: AltaSimulator) -> AsyncIterator[AltaClient]:
    assert sim.base_url
    async with AltaClient(
        sim.base_url, TEST_LOGIN, TEST_SA, TEST_PASSWORD, retries=0,
        monotonic=lambda: sim.now().timestamp(),
    ) as alta:  # fmt: skip
        yield alta


@pytest.fixture
def store() -> Store:
    return Store()


def make_watcher(
    sim: AltaSimulator, client: AltaClient, store: Store, **options: object
) -> AltaWatcher:
    return AltaWatcher(client, store, clock=sim.now, **options)  # type: ignore[arg-type]


async def cycle(watcher: AltaWatcher, store: Store) -> WatchResult:
    result = await watcher.poll(store.cursor)
    store.commit(result)
    return result


def test_kinds() -> None:
    assert KINDS == ("wagon.moved", "wagon.arrived", "wagon.no_data", "wagon.tracking_ended")


async def test_first_report_then_moves_with_one_call_when_nothing_changed(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    request_hash = sim.put_on_track(["52345675", "52345683"], departed_ago=10 * HOUR)
    store.watch(sim, request_hash, title="Трубы")
    watcher = make_watcher(sim, client, store)
    first = await cycle(watcher, store)
    assert first.alerts == [] and watcher.calls_last_cycle == 2  # track_list + show (no_data)

    sim.advance(6 * HOUR)  # 13:00 Moscow: the first report with data
    result = await cycle(watcher, store)
    assert [(a.kind, a.subject.type, a.subject.id) for a in result.alerts] == [
        ("wagon.moved", "wagon", "52345675"),
        ("wagon.moved", "wagon", "52345683"),
    ]
    alert = result.alerts[0]
    assert alert.subject.title == "Трубы" and alert.source == "alta"
    assert alert.fields["station_code"] and alert.fields["station_name"]
    assert alert.fields["destination_name"] == "Екатеринбург-Сортировочный"
    assert isinstance(alert.fields["distance_left_km"], float)
    assert "T" in str(alert.fields["operation_at"]) and alert.occurred_at.tzinfo is not None
    assert store.snapshots["52345675"]["station"] == alert.fields["station_code"]
    assert watcher.calls_last_cycle == 2

    sim.advance(60)
    quiet = await cycle(watcher, store)
    assert quiet.alerts == [] and watcher.calls_last_cycle == 1  # track_list only

    sim.advance(5 * HOUR)  # 18:00 report: further down the line
    moved = await cycle(watcher, store)
    assert {a.kind for a in moved.alerts} == {"wagon.moved"}
    assert moved.alerts[0].fields["previous_station_name"] == alert.fields["station_name"]
    assert moved.alerts[0].dedupe_key != alert.dedupe_key


async def test_show_budget_defers_the_rest_without_losing_any(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    wagons = ["52345675", "52345683", "52345691", "60123452", "60123460"]
    for number in wagons:
        store.watch(sim, sim.put_on_track([number], departed_ago=10 * HOUR))
    unwatched = sim.put_on_track(["24680134"], departed_ago=10 * HOUR)
    watcher = make_watcher(sim, client, store, show_budget=2)
    sim.advance(6 * HOUR)
    seen: list[str] = []
    deferred = []
    for _ in range(3):
        result = await cycle(watcher, store)
        assert watcher.calls_last_cycle == 1 + min(2, 5 - len(seen))  # track_list + shows
        assert {a.kind for a in result.alerts} == {"wagon.moved"}  # no false "no data"
        seen += [a.subject.id for a in result.alerts]
        deferred.append(watcher.deferred_last_cycle)
        sim.advance(61)
    assert deferred == [3, 1, 0]
    assert sorted(seen) == sorted(wagons)
    assert all(name != unwatched for name in store.snapshots)


async def test_arrival_at_the_stop_station_then_tracking_ended(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    request_hash = sim.put_on_track(
        ["52345675"], line="spb_moscow", departed_ago=8 * HOUR, speed_kmh=40.0, added_ago=3 * HOUR
    )
    store.watch(sim, request_hash)
    watcher = make_watcher(sim, client, store)
    await cycle(watcher, store)
    sim.advance(30 * HOUR)
    result = await cycle(watcher, store)
    kinds = [a.kind for a in result.alerts]
    assert kinds == ["wagon.arrived", "wagon.tracking_ended"]
    arrived, ended = result.alerts
    assert arrived.fields["station_name"] == "Москва-Товарная"
    assert ended.fields["reason"] == "arrived"
    assert store.snapshots["52345675"]["ended"] is True
    sim.advance(HOUR)
    assert (await cycle(watcher, store)).alerts == []


async def test_a_number_cancelled_from_its_request_ends(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    request_hash = sim.put_on_track(["52345675", "52345683"], departed_ago=HOUR)
    store.watch(sim, request_hash)
    watcher = make_watcher(sim, client, store)
    await cycle(watcher, store)
    await client.cancel_track(request_hash, ["52345683"])
    sim.advance(61)
    result = await cycle(watcher, store)
    assert [(a.kind, a.subject.id, a.fields["reason"]) for a in result.alerts] == [
        ("wagon.tracking_ended", "52345683", "cancelled")
    ]
    assert sim.calls("carr_list") == 1


async def test_no_data_after_n_hours_once(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    request_hash = sim.put_on_track(["AMFU8899067"], departed_ago=HOUR)
    sim.hide("AMFU8899067")
    store.watch(sim, request_hash)
    watcher = make_watcher(sim, client, store, no_data_after=4 * HOUR)
    await cycle(watcher, store)
    sim.advance(3 * HOUR)
    assert (await cycle(watcher, store)).alerts == []
    sim.advance(2 * HOUR)
    result = await cycle(watcher, store)
    [alert] = result.alerts
    assert (alert.kind, alert.subject.type, alert.subject.id) == (
        "wagon.no_data",
        "container",
        "AMFU8899067",
    )
    assert alert.fields["hours_without_data"] == 5
    sim.advance(HOUR)
    assert (await cycle(watcher, store)).alerts == []
