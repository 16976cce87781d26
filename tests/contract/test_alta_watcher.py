"""The Alta watcher against the simulator over loopback HTTP, with an in-memory snapshot store
that commits each WatchResult the way the bot does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.alta.client import AltaClient
from integrations.alta.errors import AltaError
from integrations.alta.functions import TEST_LOGIN, TEST_PASSWORD, TEST_SA
from integrations.alta.watcher import KINDS, AltaWatcher, initial_snapshot
from integrations.base import Snapshot, WatchResult
from sandbox.simulators.alta.simulator import AltaSimulator

T0 = datetime(2024, 5, 13, 5, 0, tzinfo=UTC)  # Monday 08:00 in Moscow
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


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


def watched(
    sim: AltaSimulator, client: AltaClient, store: Store, numbers: list[str], **route: Any
) -> tuple[str, AltaWatcher]:
    """Numbers put on tracking and watched by the bot, and a watcher over them."""
    request_hash = sim.put_on_track(numbers, **route)
    store.watch(sim, request_hash)
    return request_hash, make_watcher(sim, client, store)


async def cycle(watcher: AltaWatcher, store: Store) -> WatchResult:
    result = await watcher.poll(store.cursor)
    store.commit(result)
    return result


def test_kinds() -> None:
    assert KINDS == (
        "wagon.moved",
        "wagon.arrived",
        "wagon.no_data",
        "wagon.stuck",
        "wagon.tracking_ended",
    )


async def test_first_report_then_moves_with_one_call_when_nothing_changed(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    request_hash = sim.put_on_track(["52345675", "52345683"], departed_ago=10 * HOUR)
    store.watch(sim, request_hash, title="Трубы")
    watcher = make_watcher(sim, client, store)
    first = await cycle(watcher, store)
    # Queued for its first report time (status 1): nothing to read yet.
    assert first.alerts == [] and watcher.calls_last_cycle == 1

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


async def test_one_show_a_minute_defers_the_rest_without_losing_any(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    """Alta's once-a-minute rule is the account's: a cycle reads ONE changed request (the
    oldest change first); the others wait for the next cycles and none is lost."""
    wagons = ["52345675", "52345683", "52345691", "60123452", "60123460"]
    for number in wagons:
        store.watch(sim, sim.put_on_track([number], departed_ago=10 * HOUR))
    unwatched = sim.put_on_track(["24680134"], departed_ago=10 * HOUR)
    watcher = make_watcher(sim, client, store)
    sim.advance(6 * HOUR)
    seen: list[str] = []
    deferred = []
    for _ in range(5):
        result = await cycle(watcher, store)
        assert watcher.calls_last_cycle == 2  # track_list + one show
        assert {a.kind for a in result.alerts} == {"wagon.moved"}  # no false "no data"
        seen += [a.subject.id for a in result.alerts]
        deferred.append(watcher.deferred_last_cycle)
        sim.advance(61)
    assert deferred == [4, 3, 2, 1, 0]
    assert sorted(seen) == sorted(wagons)
    assert all(name != unwatched for name in store.snapshots)
    assert (await cycle(watcher, store)).alerts == [] and watcher.calls_last_cycle == 1


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
    request_hash, watcher = watched(sim, client, store, ["52345675", "52345683"], departed_ago=HOUR)
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
    sim.advance(2 * HOUR + timedelta(minutes=2))  # the 13:00 report is ready (still no data)
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


async def test_a_wagon_standing_at_one_station_is_told_stuck_once_per_stay(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    request_hash = sim.put_on_track(["52345675"], departed_ago=HOUR, speed_kmh=0.001)
    store.watch(sim, request_hash)
    watcher = make_watcher(sim, client, store, stuck_after=12 * HOUR)
    kinds: list[str] = []
    for _ in range(10):  # to 18:00 Moscow: reports at 13:00 and 18:00, the wagon stands
        sim.advance(HOUR)
        kinds += [a.kind for a in (await cycle(watcher, store)).alerts]
    assert kinds == ["wagon.moved"]  # its first report, and nothing about standing yet
    stuck: list[Any] = []
    for _ in range(24):
        sim.advance(HOUR)
        result = await cycle(watcher, store)
        kinds += [a.kind for a in result.alerts]
        stuck += [a for a in result.alerts if a.kind == "wagon.stuck"]
    assert kinds == ["wagon.moved", "wagon.stuck"]  # once, however long it stands
    assert stuck[0].fields["hours_without_movement"] >= 12 and stuck[0].fields["station_name"]
    route = sim.world.routes["52345675"]
    route.speed_kmh, route.depart_at = 60.0, sim.now()  # it leaves now
    for _ in range(24):
        sim.advance(HOUR)
        kinds += [a.kind for a in (await cycle(watcher, store)).alerts]
    assert kinds[2] == "wagon.moved"  # which ends its escalation (bot/alerts/kinds.py)


async def test_a_queued_or_processing_report_is_waited_out(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    """track_list's status 1 (queued) and 2 (processing) with a new modify_date is not a new
    report yet: reading it then gives the old one, and modify_date does not move again when
    the report is done (status 4)."""
    request_hash, watcher = watched(
        sim, client, store, ["52345675"], departed_ago=10 * HOUR, added_ago=3 * HOUR
    )
    sim.advance(HOUR)  # 09:00 sharp: queued
    assert sim.request(request_hash).status == 1
    assert (await cycle(watcher, store)).alerts == [] and sim.calls("show") == 0
    sim.advance(40)  # processing
    assert sim.request(request_hash).status == 2
    assert (await cycle(watcher, store)).alerts == [] and sim.calls("show") == 0
    assert watcher.deferred_last_cycle == 1
    sim.advance(40)  # done: the same modify_date, status 4
    result = await cycle(watcher, store)
    assert [a.kind for a in result.alerts] == ["wagon.moved"] and sim.calls("show") == 1


async def test_a_request_missing_from_one_answer_is_confirmed_before_it_ends(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    request_hash, watcher = watched(sim, client, store, ["52345675", "52345683"], departed_ago=HOUR)
    await cycle(watcher, store)
    sim.omit_from_track_list(request_hash)  # one answer leaves it out; it is still there
    sim.advance(61)
    result = await cycle(watcher, store)
    assert result.alerts == [] and sim.calls("carr_list") == 1
    assert not any(s.get("ended") for s in store.snapshots.values())
    sim.world.requests.pop(request_hash)  # now it is really gone
    sim.advance(61)
    result = await cycle(watcher, store)
    assert sorted((a.kind, a.subject.id) for a in result.alerts) == [
        ("wagon.tracking_ended", "52345675"),
        ("wagon.tracking_ended", "52345683"),
    ]


async def test_every_trip_s_arrival_is_told(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    """Manual stop: the wagon stays on tracking after it arrives; when it leaves the station
    the arrival flag resets, so the next trip's arrival is told — even at the same station."""
    number = "52345675"
    request_hash = sim.put_on_track(
        [number], line="spb_moscow", departed_ago=10 * HOUR, speed_kmh=80.0,
        added_ago=3 * HOUR, stop_station="no",
    )  # fmt: skip
    store.watch(sim, request_hash)
    watcher = make_watcher(sim, client, store)
    arrivals: list[str] = []

    async def run_until_arrival() -> None:
        told = len(arrivals)
        for _ in range(12):
            sim.advance(5 * HOUR)
            result = await cycle(watcher, store)
            arrivals.extend(str(a.fields["station_name"]) for a in result.alerts
                            if a.kind == "wagon.arrived")  # fmt: skip
            if len(arrivals) > told:
                return

    await run_until_arrival()
    back = ("Москва-Товарная", "Санкт-Петербург-Сортировочный-Московский")
    sim.plan_route(number, line="spb_moscow", origin=back[0], destination=back[1], speed_kmh=80.0)
    await run_until_arrival()
    sim.plan_route(number, line="spb_moscow", origin=back[1], destination=back[0], speed_kmh=80.0)
    await run_until_arrival()
    assert arrivals == [back[0], back[1], back[0]]
    assert not store.snapshots[number].get("ended")


@pytest.mark.parametrize("number_key", [None, "nomer_vagona"])
async def test_report_rows_are_paired_without_a_known_number_field(
    number_key: str | None,
    sim: AltaSimulator,
    client: AltaClient,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A one-number request pairs with its one row; a row naming our number under a field
    name we do not know is found by its value; rows with no number at all are logged and
    told to the admins (system.report_unpaired), never dropped silently."""
    sim.world.show_number_key = number_key
    single = sim.put_on_track(["52345675"], departed_ago=10 * HOUR, added_ago=3 * HOUR)
    double = sim.put_on_track(["60123452", "60123460"], departed_ago=10 * HOUR, added_ago=3 * HOUR)
    store.watch(sim, single)
    store.watch(sim, double)
    watcher = make_watcher(sim, client, store)
    sim.advance(5 * HOUR + 2 * MINUTE)  # the 13:00 reports are ready
    alerts = []
    for _ in range(2):  # one show a minute: two cycles read both requests
        alerts += (await cycle(watcher, store)).alerts
        sim.advance(61)
    moved = sorted(a.subject.id for a in alerts if a.kind == "wagon.moved")
    unpaired = [a for a in alerts if a.kind == "system.report_unpaired"]
    if number_key is None:
        assert moved == ["52345675"]
        [notice] = unpaired
        assert notice.fields["request_hash"] == double and notice.fields["unpaired_rows"] == 2
        assert notice.subject.type == "integration"
        assert any("name no number" in r.getMessage() for r in caplog.records)
    else:
        assert moved == ["52345675", "60123452", "60123460"] and unpaired == []


async def test_an_error_fails_the_cycle_keeps_the_cursor_and_does_not_lock(
    sim: AltaSimulator, client: AltaClient, store: Store
) -> None:
    _, watcher = watched(
        sim, client, store, ["52345675"], departed_ago=10 * HOUR, added_ago=3 * HOUR
    )
    sim.advance(5 * HOUR + 2 * MINUTE)
    cursor = store.cursor
    sim.force_error("show", "no_money")  # «Недостаточно средств на счете»
    with pytest.raises(AltaError):
        await cycle(watcher, store)
    assert store.cursor == cursor and not client.auth_locked
    sim.advance(61)
    result = await cycle(watcher, store)  # the same report is read again: nothing lost
    assert [a.kind for a in result.alerts] == ["wagon.moved"]
