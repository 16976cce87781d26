"""MovizorClient against MovizorSimulator over real loopback HTTP.

The simulator runs on a frozen clock; tests move time with ``sim.advance``. Happy paths and
error cases are tables keyed by function / (function, code) and parametrized over the client's
own tables, so a function or error code added there without a test here fails the run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from integrations.errors import IntegrationDisabled, RateLimited, UpstreamUnavailable
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import (
    ERRORS,
    WORD_ERRORS,
    MovizorAuthError,
    MovizorDeleteTooEarly,
    MovizorDisabled,
    MovizorError,
    MovizorLimitExceeded,
    MovizorNotConfirmed,
    MovizorObjectNotFound,
    MovizorRequestFailed,
    MovizorRequestPending,
    MovizorTooSoon,
    MovizorUnavailable,
)
from integrations.movizor.functions import FUNCTIONS, READ_FUNCTIONS
from integrations.movizor.models import EventType, Forecast, ObjectStatus, RoutePoint
from sandbox.simulators.movizor.simulator import MovizorSimulator

PROJECT = "logibot"
KEY = "s3cret-K3y-for-movizor-0042"
T0 = datetime(2024, 5, 13, 9, 0, tzinfo=UTC)  # Monday, 12:00 in Moscow

DRIVER = "79161234567"  # mts
OTHER = "79261234567"  # megafon
NEW_PHONE = "79031234567"  # beeline, not on the account
UNKNOWN_OPERATOR = "79401234567"
UNSUPPORTED_OPERATOR = "79701234567"

MOSCOW = ("Москва", 55.755826, 37.617300)
VLADIMIR = ("Владимир", 56.129057, 40.406635)
KAZAN = ("Казань", 55.796127, 49.106405)


def route(arrive_in_hours: float = 12.0) -> list[tuple[str, float, float, datetime | None]]:
    """Москва → Владимир → Казань, leaving now."""
    return [
        (*MOSCOW, T0),
        (*VLADIMIR, T0 + timedelta(hours=arrive_in_hours / 4)),
        (*KAZAN, T0 + timedelta(hours=arrive_in_hours)),
    ]


@pytest.fixture
async def sim() -> AsyncIterator[MovizorSimulator]:
    simulator = MovizorSimulator(PROJECT, KEY, clock=lambda: T0)
    simulator.fault_delay = 1.0
    await simulator.start()
    yield simulator
    await simulator.stop()


def make_client(
    sim: MovizorSimulator, key: str = KEY, project: str = PROJECT, **options: Any
) -> MovizorClient:
    assert sim.base_url is not None
    settings: dict[str, Any] = {"timeout": 2.0, "retries": 2, "backoff": 0.001}
    settings.update(options)
    return MovizorClient(sim.base_url, project, key, **settings)


@pytest.fixture
async def client(sim: MovizorSimulator) -> AsyncIterator[MovizorClient]:
    async with make_client(sim) as movizor:
        yield movizor


def add_driver(sim: MovizorSimulator, phone: str = DRIVER, **options: Any) -> None:
    settings: dict[str, Any] = {"route": route(), "tariff": "manual", "speed_kmh": 80.0}
    settings.update(options)
    sim.add_driver(phone, "Петров И.И., Газель А123ВС77", **settings)


def calls_of(sim: MovizorSimulator, function: str) -> int:
    return sum(1 for name, _ in sim.requests if name == function)


Scenario = Callable[[MovizorSimulator, MovizorClient], Awaitable[None]]


# --- happy paths: one per function --------------------------------------------------------------


async def happy_balance(sim: MovizorSimulator, client: MovizorClient) -> None:
    balance = await client.balance()
    assert balance.balance == 1000.0
    assert balance.tariffs["mts"]["15"].title == "Каждые 15 мин"


async def happy_object_add(sim: MovizorSimulator, client: MovizorClient) -> None:
    ack = await client.object_add(
        "+7 (903) 123-45-67",
        title="Сидоров А.В., Volvo Е456КХ78",
        tags=["Казань", "реф"],
        dateoff=T0 + timedelta(days=3),
        tariff=15,
        destination=[
            RoutePoint(text=text, lat=lat, lon=lon, planned_at=at) for text, lat, lon, at in route()
        ],
        schedule_days=[1, 5],
        schedule_times=["12:00", "17:00"],
        metadata={"Склад": "Восточный"},
    )
    assert (ack.code, ack.message) == ("OK", "Added")
    function, params = sim.requests[-1]
    assert function == "object_add"
    assert params["destination"][2] == {
        "text": "Казань",
        "coord": "55.796127,49.106405",
        "time": "14.05.2024 00:00",
    }
    assert params["metadata"] == {"Склад": "Восточный"}
    assert params["st"] == ["12:00", "17:00"] and params["sw1"] == params["sw5"] == "1"
    assert params["dateoff"] == "16.05.2024 12:00:00" and params["tags"] == "Казань,реф"
    info = await client.object_get(NEW_PHONE)
    assert info.status is ObjectStatus.NEW and info.tariff == "15"
    assert [p.text for p in info.destination] == ["Москва", "Владимир", "Казань"]
    assert info.metadata == {"Склад": "Восточный"}
    assert info.timestamp_off == T0 + timedelta(days=3)


async def happy_object_get(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim, tariff="15")
    info = await client.object_get(DRIVER)
    assert info.status is ObjectStatus.OK and info.confirmed
    assert info.current_lat is not None and info.distance is not None
    assert info.on_parking is False
    assert info.timestamp_add == T0
    assert info.destination[0].status is Forecast.FINISHED


async def happy_object_edit(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    ack = await client.object_edit(DRIVER, title="Новое имя", tariff=15, metadata={"Рейс": "42"})
    assert ack.message == "Edited"
    info = await client.object_get(DRIVER)
    assert info.title == "Новое имя" and info.tariff == "manual" and info.tariff_new == "15"
    assert info.metadata == {"Рейс": "42"}
    await client.object_edit(DRIVER, tariff=30, activate=True)
    info = await client.object_get(DRIVER)
    assert info.tariff == "30" and info.tariff_new is None


async def happy_object_list(sim: MovizorSimulator, client: MovizorClient) -> None:
    assert await client.object_list() == []
    add_driver(sim)
    add_driver(sim, OTHER, confirmed=False)
    rows = {row.phone: row.status for row in await client.object_list()}
    assert rows == {DRIVER: ObjectStatus.OK, OTHER: ObjectStatus.NEW}


async def happy_object_delete(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    first = await client.object_delete(DRIVER)
    assert first.disabled and first.code == "DISABLED"
    assert (await client.object_get(DRIVER)).status is ObjectStatus.OFF_NEW
    sim.advance(120)
    assert (await client.object_get(DRIVER)).status is ObjectStatus.OFF
    second = await client.object_delete(DRIVER)
    assert second.deleted
    with pytest.raises(MovizorObjectNotFound):
        await client.object_get(DRIVER)


async def happy_object_reactivate(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim, confirmed=False)
    sim.reject(DRIVER)
    ack = await client.object_reactivate(DRIVER)
    assert ack.message == "Phone reactivated, need confirm from abonent"
    assert (await client.object_get(DRIVER)).status is ObjectStatus.NEW
    sim.advance(60)
    assert (await client.object_get(DRIVER)).status is ObjectStatus.WAIT
    sim.confirm(DRIVER)
    assert (await client.object_get(DRIVER)).status is ObjectStatus.OK


async def happy_object_cancel_tariff(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    await client.object_edit(DRIVER, tariff=60)
    ack = await client.object_cancel_tariff(DRIVER)
    assert ack.message == "New tariff canceled"
    assert (await client.object_get(DRIVER)).tariff_new is None
    sim.advance(24 * 3600)  # past midnight: nothing switches
    assert (await client.object_get(DRIVER)).tariff == "manual"


async def happy_pos_last(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim, tariff="15")
    position = await client.pos_last(DRIVER)
    assert position.has_fix and position.timestamp == T0
    assert abs(position.lat - MOSCOW[1]) < 0.01 and abs(position.lon - MOSCOW[2]) < 0.01  # type: ignore[operator]


async def happy_pos_request(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    ticket = await client.pos_request(DRIVER)
    assert ticket.request_id and not ticket.already_processing
    again = await client.pos_request(DRIVER)
    assert again.already_processing and again.request_id == ticket.request_id


async def happy_pos_get(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    sim.advance(3600)
    ticket = await client.pos_request(DRIVER)
    with pytest.raises(MovizorRequestPending):
        await client.pos_get(ticket.request_id)
    sim.advance(45)
    position = await client.pos_get(ticket.request_id)
    assert position.timestamp == T0 + timedelta(seconds=3630)
    lat, lon = sim.position(DRIVER)  # 15 s later: a few hundred metres on
    assert position.lat == pytest.approx(lat, abs=0.01) and position.lon == pytest.approx(
        lon, abs=0.01
    )
    assert position.distance is not None and position.distance_forecast_status is Forecast.OK


async def happy_pos_objects(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim, tariff="15")
    add_driver(sim, OTHER, tariff="manual")
    rows = await client.pos_objects()
    assert [row.phone for row in rows] == [DRIVER]  # OTHER was never located
    assert rows[0].has_fix


async def happy_pos_list(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim, tariff="15")
    sim.advance(3600)
    history = await client.pos_list(DRIVER)
    assert len(history) == 5  # 0, 15, 30, 45, 60 minutes
    assert history[0].timestamp == T0 + timedelta(hours=1)  # newest first
    window = await client.pos_list(
        DRIVER, date_start=T0 + timedelta(minutes=10), date_end=T0 + timedelta(minutes=50)
    )
    assert [p.timestamp for p in window] == [T0 + timedelta(minutes=m) for m in (45, 30, 15)]
    assert len(await client.pos_list(DRIVER, offset=3)) == 2


async def happy_distance_search(sim: MovizorSimulator, client: MovizorClient) -> None:
    [place] = await client.distance_search("Казань, улица Баумана")
    assert place.title.startswith("Казань") and place.lat == pytest.approx(KAZAN[1])


async def happy_get_operator(sim: MovizorSimulator, client: MovizorClient) -> None:
    operator = await client.get_operator(DRIVER)
    assert (operator.operator, operator.title) == ("mts", "МТС")
    assert operator.region == "г. Москва и Московская область"


async def happy_tariff_calculator(sim: MovizorSimulator, client: MovizorClient) -> None:
    tariff = await client.tariff_calculator("mts", 15)
    assert tariff.type == "daily" and tariff.price == 28.0
    assert "28.00 руб." in tariff.description_text
    assert (await client.tariff_calculator("tele2", "3")).type == "package"


async def happy_events(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim, confirmed=False)
    sim.confirm(DRIVER)
    events = await client.events()
    assert [(e.phone, e.type) for e in events] == [
        (DRIVER, EventType.ADD),
        (DRIVER, EventType.CONFIRM),
    ]
    assert events[0].timestamp == T0
    assert await client.events(after_id=events[-1].id) == []


async def happy_share_list(sim: MovizorSimulator, client: MovizorClient) -> None:
    assert await client.share_list() == []
    add_driver(sim)
    created = await client.share_add([DRIVER], client="ООО Ромашка", req_limit=10)
    [link] = await client.share_list()
    assert link.key == created.key and link.client == "ООО Ромашка" and link.req_limit == 10
    assert link.link.endswith(f"/share/{created.key}") and link.cnt == 1


async def happy_share_add(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    add_driver(sim, OTHER, confirmed=False)
    created = await client.share_add(
        [DRIVER, OTHER],
        comments="Рейс 42",
        email=["a@example.ru", "b@example.ru"],
        dateoff=T0 + timedelta(days=2),
    )
    assert created.objects_count == 1  # only confirmed objects are shown
    _, params = sim.requests[-1]
    assert params["phone"] == [DRIVER, OTHER] and params["email"] == "a@example.ru b@example.ru"
    assert params["dateoff"] == "15.05.2024 12:00:00"


async def happy_share_delete(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    created = await client.share_add([DRIVER])
    ack = await client.share_delete(created.key)
    assert ack.code == "DELETED"
    assert await client.share_list() == []


HAPPY: dict[str, Scenario] = {
    "balance": happy_balance,
    "object_add": happy_object_add,
    "object_get": happy_object_get,
    "object_edit": happy_object_edit,
    "object_list": happy_object_list,
    "object_delete": happy_object_delete,
    "object_reactivate": happy_object_reactivate,
    "object_cancel_tariff": happy_object_cancel_tariff,
    "pos_last": happy_pos_last,
    "pos_request": happy_pos_request,
    "pos_get": happy_pos_get,
    "pos_objects": happy_pos_objects,
    "pos_list": happy_pos_list,
    "distance_search": happy_distance_search,
    "get_operator": happy_get_operator,
    "tariff_calculator": happy_tariff_calculator,
    "events": happy_events,
    "share_list": happy_share_list,
    "share_add": happy_share_add,
    "share_delete": happy_share_delete,
}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
async def test_happy_path(function: str, sim: MovizorSimulator, client: MovizorClient) -> None:
    await HAPPY[function](sim, client)
    assert calls_of(sim, function) >= 1
    assert client.stats.calls[function] >= 1


def test_every_function_has_a_client_method() -> None:
    for function in FUNCTIONS:
        assert callable(getattr(MovizorClient, function))


# --- every documented error code ------------------------------------------------------------------


def _error(
    call: Callable[[MovizorClient], Awaitable[Any]],
    setup: Callable[[MovizorSimulator], None] | None = None,
) -> Scenario:
    async def scenario(sim: MovizorSimulator, client: MovizorClient) -> None:
        if setup is not None:
            setup(sim)
        await call(client)

    return scenario


def _off_with_dateoff(hours_left_after: float) -> Scenario:
    """A switched-off object whose stored auto-off date is ``hours_left_after`` from now."""

    async def scenario(sim: MovizorSimulator, client: MovizorClient) -> None:
        add_driver(sim)
        await client.object_edit(DRIVER, dateoff=T0 + timedelta(hours=25))
        await client.object_delete(DRIVER)
        sim.advance(25 * 3600 - hours_left_after * 3600)
        await client.object_reactivate(DRIVER)

    return scenario


async def _too_soon(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    await client.pos_request(DRIVER)
    sim.advance(60)
    await client.pos_request(DRIVER)


async def _pending(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    ticket = await client.pos_request(DRIVER)
    await client.pos_get(ticket.request_id)


async def _failed(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    sim.set_unreachable(DRIVER)
    ticket = await client.pos_request(DRIVER)
    sim.advance(60)
    await client.pos_get(ticket.request_id)


async def _delete_twice(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    await client.object_delete(DRIVER)
    await client.object_delete(DRIVER)


async def _reactivate_switching_off(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    await client.object_delete(DRIVER)
    await client.object_reactivate(DRIVER)


async def _reactivate_broke(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    await client.object_delete(DRIVER)
    sim.advance(120)
    sim.set_balance(0)
    await client.object_reactivate(DRIVER)


def _unconfirmed(sim: MovizorSimulator, phone: str = DRIVER) -> None:
    add_driver(sim, phone, confirmed=False)


def _many_unconfirmed(sim: MovizorSimulator) -> None:
    sim.world.max_unconfirmed = 1
    _unconfirmed(sim, OTHER)


def _waiting(sim: MovizorSimulator) -> None:
    _unconfirmed(sim)
    sim.advance(60)


def _blocked_driver(sim: MovizorSimulator) -> None:
    add_driver(sim)
    sim.block_phone(DRIVER)


def _broke(sim: MovizorSimulator) -> None:
    sim.set_balance(0)


SOON = T0 + timedelta(hours=2)
PAST = T0 - timedelta(hours=1)

ERROR_SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("object_add", "1"): _error(lambda c: c.object_add("8-800-555")),
    ("object_add", "2"): _error(lambda c: c.object_add(NEW_PHONE, dateoff=PAST)),
    ("object_add", "3"): _error(lambda c: c.object_add(NEW_PHONE, dateoff=SOON)),
    ("object_add", "4"): _error(lambda c: c.object_add(NEW_PHONE, distance_text="Казань")),
    ("object_add", "5"): _error(lambda c: c.object_add(NEW_PHONE, schedule_times=["25:00"])),
    ("object_add", "6"): _error(lambda c: c.object_add(NEW_PHONE), _many_unconfirmed),
    ("object_add", "7"): _error(lambda c: c.object_add(DRIVER), add_driver),
    ("object_add", "8"): _error(
        lambda c: c.object_add(NEW_PHONE), lambda s: s.add_foreign_phone(NEW_PHONE)
    ),
    ("object_add", "9"): _error(
        lambda c: c.object_add(NEW_PHONE), lambda s: s.block_phone(NEW_PHONE)
    ),
    ("object_add", "10"): _error(lambda c: c.object_add(UNKNOWN_OPERATOR)),
    ("object_add", "11"): _error(lambda c: c.object_add(UNSUPPORTED_OPERATOR)),
    ("object_add", "12"): _error(lambda c: c.object_add(DRIVER, tariff=1)),  # MTS has no "online"
    ("object_add", "13"): _error(lambda c: c.object_add(NEW_PHONE, tariff=15), _broke),
    ("object_get", "1"): _error(lambda c: c.object_get(NEW_PHONE)),
    ("object_edit", "1"): _error(lambda c: c.object_edit(NEW_PHONE, title="x")),
    ("object_edit", "2"): _error(lambda c: c.object_edit(DRIVER, tariff=1), add_driver),
    ("object_edit", "3"): _error(lambda c: c.object_edit(DRIVER, dateoff=PAST), add_driver),
    ("object_edit", "4"): _error(lambda c: c.object_edit(DRIVER, dateoff=SOON), add_driver),
    ("object_edit", "5"): _error(
        lambda c: c.object_edit(DRIVER, distance_text="Казань"), add_driver
    ),
    ("object_edit", "6"): _error(
        lambda c: c.object_edit(DRIVER, schedule_times=["9:7"]), add_driver
    ),
    ("object_delete", "1"): _error(lambda c: c.object_delete(NEW_PHONE)),
    ("object_delete", "2"): _error(lambda c: c.object_delete(DRIVER), _waiting),
    ("object_delete", "3"): _error(lambda c: c.object_delete(DRIVER), _unconfirmed),
    ("object_delete", "4"): _delete_twice,
    ("object_reactivate", "1"): _error(lambda c: c.object_reactivate(NEW_PHONE)),
    ("object_reactivate", "2"): _error(lambda c: c.object_reactivate(DRIVER), _blocked_driver),
    ("object_reactivate", "3"): _off_with_dateoff(hours_left_after=-1),
    ("object_reactivate", "4"): _off_with_dateoff(hours_left_after=10),
    ("object_reactivate", "5"): _reactivate_broke,
    ("object_reactivate", "6"): _error(lambda c: c.object_reactivate(DRIVER), add_driver),
    ("object_reactivate", "7"): _reactivate_switching_off,
    ("object_cancel_tariff", "1"): _error(lambda c: c.object_cancel_tariff(NEW_PHONE)),
    ("pos_last", "1"): _error(lambda c: c.pos_last(NEW_PHONE)),
    ("pos_list", "1"): _error(lambda c: c.pos_list(NEW_PHONE)),
    ("pos_request", "1"): _error(lambda c: c.pos_request(NEW_PHONE)),
    ("pos_request", "2"): _error(lambda c: c.pos_request(DRIVER), _unconfirmed),
    ("pos_request", "4"): _too_soon,
    ("pos_request", "5"): _error(
        lambda c: c.pos_request(DRIVER), lambda s: add_driver(s, tariff="3")
    ),
    ("pos_request", "6"): _error(
        lambda c: c.pos_request(DRIVER), lambda s: (add_driver(s), _broke(s))
    ),
    ("pos_get", "1"): _error(lambda c: c.pos_get(999)),
    ("pos_get", "2"): _pending,
    ("pos_get", "4"): _failed,
    ("distance_search", "1"): _error(lambda c: c.distance_search("Атлантида")),
    ("distance_search", "2"): _error(
        lambda c: c.distance_search("Казань"), lambda s: s.force_error("distance_search", "2")
    ),
    ("distance_search", "4"): _error(
        lambda c: c.distance_search("Казань"), lambda s: s.force_error("distance_search", "4")
    ),
    ("get_operator", "1"): _error(lambda c: c.get_operator("12345")),
    ("get_operator", "2"): _error(lambda c: c.get_operator(UNKNOWN_OPERATOR)),
    ("tariff_calculator", "1"): _error(lambda c: c.tariff_calculator("", 15)),
    ("tariff_calculator", "2"): _error(lambda c: c.tariff_calculator("mts", "")),
    ("tariff_calculator", "3"): _error(lambda c: c.tariff_calculator("mts", 1)),
    ("share_add", "1"): _error(lambda c: c.share_add([NEW_PHONE])),
    ("share_add", "2"): _error(lambda c: c.share_add([DRIVER]), _unconfirmed),
    ("share_add", "3"): _error(
        lambda c: c.share_add([DRIVER]), lambda s: (add_driver(s), s.force_error("share_add", "3"))
    ),
    ("share_delete", "1"): _error(lambda c: c.share_delete("000-000-000-000-0000")),
}


@pytest.mark.parametrize(("function", "code"), sorted(ERRORS, key=lambda fc: (fc[0], int(fc[1]))))
async def test_documented_error(
    function: str, code: str, sim: MovizorSimulator, client: MovizorClient
) -> None:
    spec = ERRORS[(function, code)]
    with pytest.raises(MovizorError) as caught:
        await ERROR_SCENARIOS[(function, code)](sim, client)
    error = caught.value
    assert type(error) is spec.exc, error
    assert (error.function, error.code) == (function, code)
    assert error.user_message == spec.ru and error.message_for("en") == spec.en
    assert error.vendor_text == spec.vendor_text
    assert KEY not in str(error)
    assert calls_of(sim, function) >= 1
    assert client.stats.errors[function] == 1


def test_error_scenarios_match_the_table() -> None:
    assert set(ERROR_SCENARIOS) == set(ERRORS)


# --- word codes, the key and limits ---------------------------------------------------------------


def test_word_codes_are_tested() -> None:
    assert set(WORD_ERRORS) == {"ACCESS_DENIED", "LIMIT_EXCEEDED"}  # each has a test below


async def test_wrong_key_locks_the_client(sim: MovizorSimulator) -> None:
    async with make_client(sim, key="wrong-key-1234") as bad:
        with pytest.raises(MovizorAuthError) as caught:
            await bad.balance()
        assert caught.value.code == "ACCESS_DENIED"
        assert bad.auth_locked
        seen = sim.request_count
        for call in (bad.balance(), bad.object_list(), bad.object_add(NEW_PHONE), bad.events()):
            with pytest.raises(IntegrationDisabled) as disabled:
                await call
            assert isinstance(disabled.value, MovizorDisabled)
        assert sim.request_count == seen  # nothing reached the service
        assert bad.stats.errors["balance"] == 2 and bad.stats.calls["object_add"] == 1

        bad.reset_auth_lock()
        assert not bad.auth_locked
        with pytest.raises(MovizorAuthError):
            await bad.balance()
        assert sim.request_count == seen + 1


async def test_five_wrong_keys_block_even_the_right_key_until_the_hour_ends(
    sim: MovizorSimulator, client: MovizorClient
) -> None:
    async with make_client(sim, key="wrong-key-1234") as bad:
        for _ in range(5):
            bad.reset_auth_lock()
            with pytest.raises(MovizorAuthError) as caught:
                await bad.balance()
            assert caught.value.vendor_text == "Wrong project or key"
    with pytest.raises(MovizorAuthError) as blocked:
        await client.balance()
    assert blocked.value.vendor_text == "Auth rate limit exceeded"
    assert client.auth_locked
    sim.advance(3600)  # the next clock hour
    client.reset_auth_lock()
    assert (await client.balance()).balance == 1000.0


async def test_wrong_project_is_a_wrong_key(sim: MovizorSimulator) -> None:
    assert sim.base_url is not None
    async with MovizorClient(sim.base_url, "someone-else", KEY, timeout=2) as other:
        with pytest.raises(MovizorAuthError):
            await other.object_list()


async def test_service_hourly_limit() -> None:
    sim = MovizorSimulator(PROJECT, KEY, clock=lambda: T0, hourly_limit=3)
    await sim.start()
    try:
        async with make_client(sim) as client:
            for _ in range(3):
                await client.object_list()
            with pytest.raises(MovizorLimitExceeded) as caught:
                await client.object_list()
            assert caught.value.code == "LIMIT_EXCEEDED"
            assert isinstance(caught.value, RateLimited)
            assert not client.auth_locked
            assert calls_of(sim, "object_list") == 4  # not retried
            sim.advance(3600)
            assert await client.object_list() == []
    finally:
        await sim.stop()


async def test_client_side_budget_raises_instead_of_waiting(sim: MovizorSimulator) -> None:
    async with make_client(sim, hourly_limit=2, max_rate_wait=0.05) as client:
        await client.balance()
        await client.balance()
        with pytest.raises(RateLimited) as caught:
            await client.balance()
        assert isinstance(caught.value, MovizorLimitExceeded)
        assert caught.value.code == "CLIENT_BUDGET"
        assert calls_of(sim, "balance") == 2


# --- positions ----------------------------------------------------------------------------------


async def test_pos_request_then_pos_get(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    ticket = await client.pos_request(DRIVER)
    assert (await client.object_get(DRIVER)).at_request
    with pytest.raises(MovizorRequestPending):
        await client.pos_get(ticket.request_id)
    sim.advance(30)
    position = await client.pos_get(ticket.request_id)
    assert position.has_fix and position.timestamp == T0 + timedelta(seconds=30)
    assert (await client.pos_last(DRIVER)).timestamp == position.timestamp
    types = [e.type for e in await client.events() if e.phone == DRIVER]
    assert types[-2:] == [EventType.ONROUTE, EventType.REQUEST]


async def test_unreachable_driver(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    sim.set_unreachable(DRIVER, "roaming")
    ticket = await client.pos_request(DRIVER)
    sim.advance(60)
    with pytest.raises(MovizorRequestFailed):
        await client.pos_get(ticket.request_id)
    assert (await client.object_get(DRIVER)).pos_error
    assert (await client.events())[-1].type is EventType.REQUEST_ROAMING


async def test_five_minute_rule(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    await client.pos_request(DRIVER)
    sim.advance(60)
    with pytest.raises(MovizorTooSoon) as caught:
        await client.pos_request(DRIVER)
    assert caught.value.user_message.startswith("С прошлого запроса")
    sim.advance(239)
    with pytest.raises(MovizorTooSoon):
        await client.pos_request(DRIVER)
    sim.advance(1)
    assert not (await client.pos_request(DRIVER)).already_processing


async def test_not_confirmed_driver(sim: MovizorSimulator, client: MovizorClient) -> None:
    _unconfirmed(sim)
    with pytest.raises(MovizorNotConfirmed) as caught:
        await client.pos_request(DRIVER)
    assert caught.value.user_message == "Номер ещё не подтвердил подключение к мониторингу."


async def test_manual_requests_cost_money(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)  # MTS manual: 3.00 a request
    await client.pos_request(DRIVER)
    assert (await client.balance()).balance == 997.0


# --- delete rules -------------------------------------------------------------------------------


async def test_one_hour_rule_for_new_objects(sim: MovizorSimulator, client: MovizorClient) -> None:
    sim.world.sms_delay = timedelta(hours=3)  # the operator is slow: the object stays "new"
    await client.object_add(NEW_PHONE)
    with pytest.raises(MovizorDeleteTooEarly) as caught:
        await client.object_delete(NEW_PHONE)
    assert caught.value.code == "3"
    sim.advance(3599)
    with pytest.raises(MovizorDeleteTooEarly):
        await client.object_delete(NEW_PHONE)
    sim.advance(1)
    assert (await client.object_delete(NEW_PHONE)).deleted


async def test_24_hour_rule_for_waiting_objects(
    sim: MovizorSimulator, client: MovizorClient
) -> None:
    await client.object_add(NEW_PHONE)
    sim.advance(60)
    assert (await client.object_get(NEW_PHONE)).status is ObjectStatus.WAIT
    with pytest.raises(MovizorDeleteTooEarly) as caught:
        await client.object_delete(NEW_PHONE)
    assert caught.value.code == "2"
    sim.advance(23 * 3600)
    with pytest.raises(MovizorDeleteTooEarly):
        await client.object_delete(NEW_PHONE)
    sim.advance(3600)
    assert (await client.object_delete(NEW_PHONE)).deleted
    types = [e.type for e in await client.events()]
    assert EventType.NO_CONFIRM in types


async def test_answer_lifts_the_delete_timeout(
    sim: MovizorSimulator, client: MovizorClient
) -> None:
    await client.object_add(NEW_PHONE)
    await client.object_add(OTHER)
    sim.reject(NEW_PHONE)
    assert (await client.object_delete(NEW_PHONE)).deleted
    sim.confirm(OTHER)
    assert (await client.object_delete(OTHER)).disabled


async def test_adding_a_switched_off_phone_starts_over(
    sim: MovizorSimulator, client: MovizorClient
) -> None:
    add_driver(sim, tariff="15")
    await client.object_delete(DRIVER)
    sim.advance(120)
    assert await client.pos_list(DRIVER)
    await client.object_add(DRIVER)
    info = await client.object_get(DRIVER)
    assert info.status is ObjectStatus.NEW
    assert await client.pos_list(DRIVER) == []


# --- events -------------------------------------------------------------------------------------


async def test_events_paging_with_afterid(sim: MovizorSimulator, client: MovizorClient) -> None:
    """With the "oldest" reading of ``afterid`` (the document leaves it open), paging forward
    from the largest id seen drains the feed."""
    sim.world.events_window = "oldest"
    add_driver(sim)
    for n in range(30):
        sim.emit(DRIVER, "autoinform" if n % 2 else "mstart")
    everything = await client.events(limit=1000)
    assert len(everything) == 32  # add, confirm and the 30 emitted (a manual tariff never locates)
    ids = [e.id for e in everything]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    seen: list[int] = []
    after = 0
    while page := await client.events(after_id=after, limit=10):
        assert len(page) <= 10 and all(e.id > after for e in page)
        seen += [e.id for e in page]
        after = page[-1].id
    assert seen == ids
    _, params = sim.requests[-1]
    assert params == {"afterid": str(after), "limit": "10"}


async def test_events_wire_lists_newest_first(sim: MovizorSimulator) -> None:
    """As the service answers: ids descending, with or without ``afterid``; when more than
    ``limit`` follow ``afterid`` the newest ``limit`` come back (the worst case)."""
    add_driver(sim)
    for _ in range(30):
        sim.emit(DRIVER, "mstart")
    all_ids = [event["id"] for event in sim.events]
    async with httpx.AsyncClient() as http:
        for params in ({"limit": "1000"}, {"afterid": str(all_ids[0]), "limit": "10"}):
            answer = await http.get(
                f"{sim.base_url}/{PROJECT}/events/", params={"key": KEY, **params}
            )
            ids = [int(row["id"]) for row in answer.json()["data"]]
            assert ids == sorted(ids, reverse=True)
        assert ids == sorted(all_ids[-10:], reverse=True)


async def test_events_limit_is_clamped(sim: MovizorSimulator, client: MovizorClient) -> None:
    await client.events(limit=1)
    await client.events(limit=5000)
    assert [p["limit"] for f, p in sim.requests if f == "events"] == ["10", "1000"]


async def test_emit_carries_extra_fields(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    sim.emit(DRIVER, "mstop", text="Приложение закрыто", lat=55.7, lon=37.6)
    [event] = (await client.events())[-1:]
    assert event.type is EventType.MSTOP and event.text == "Приложение закрыто"
    assert (event.lat, event.lon) == (55.7, 37.6)


async def test_drivers_move_and_raise_route_events(
    sim: MovizorSimulator, client: MovizorClient
) -> None:
    # Late: Казань 820 km away in 6 hours at 80 km/h.
    add_driver(
        sim, tariff="15", route=route(arrive_in_hours=6), parking=[(30, 30)], detours=[(90, 20)]
    )
    start = (await client.pos_last(DRIVER)).distance
    sim.advance(2 * 3600)
    position = await client.pos_last(DRIVER)
    assert position.distance is not None and start is not None
    assert start - position.distance == pytest.approx(80 * 1.5, abs=2)  # 30 minutes parked
    assert position.is_late
    sim.advance(12 * 3600)
    types = [e.type for e in await client.events(limit=1000)]
    for expected in (
        EventType.ONROUTE,
        EventType.POS_LATE,
        EventType.ONPARKING,
        EventType.OFFPARKING,
        EventType.LEFTROUTE,
        EventType.RETURNROUTE,
        EventType.POS_FINISHED,
    ):
        assert expected in types, expected
    assert types.index(EventType.ONPARKING) < types.index(EventType.OFFPARKING)
    info = await client.object_get(DRIVER)
    assert all(p.status is Forecast.FINISHED for p in info.destination)


async def test_on_time_driver_and_tariff_change_at_midnight(
    sim: MovizorSimulator, client: MovizorClient
) -> None:
    add_driver(sim, tariff="15", route=route(arrive_in_hours=14))
    await client.object_edit(DRIVER, tariff=60)
    sim.advance(12 * 3600 + 60)  # past 00:00 Moscow
    info = await client.object_get(DRIVER)
    assert info.tariff == "60" and info.tariff_new is None
    types = [e.type for e in await client.events(limit=1000)]
    assert EventType.TARIFF_AUTO in types
    assert EventType.POS_LATE not in types


async def test_auto_off_at_dateoff(sim: MovizorSimulator, client: MovizorClient) -> None:
    add_driver(sim)
    await client.object_edit(DRIVER, dateoff=T0 + timedelta(days=1, hours=1))
    sim.advance(25 * 3600)
    assert (await client.object_get(DRIVER)).status is ObjectStatus.OFF
    assert (await client.events())[-1].type is EventType.AUTO_OFF


async def test_demo_is_lively() -> None:
    sim = MovizorSimulator("demo", "demo-key", clock=lambda: T0, seed_demo=True)
    await sim.start()
    try:
        async with make_client(sim, key="demo-key", project="demo") as demo:
            assert sim.base_url is not None
            rows = await demo.pos_objects()
            assert len(rows) >= 5
            sim.advance(3600)
            recent = [e for e in await demo.events(limit=1000) if e.timestamp and e.timestamp >= T0]
            types = {e.type for e in recent}
            assert {EventType.CONFIRM, EventType.POS_LATE, EventType.POS_FINISHED} <= types
            assert {EventType.LEFTROUTE, EventType.ONPARKING} <= types
            titles = {(await demo.object_get(r.phone)).title for r in rows}
            assert "Петров И.И., Газель А123ВС77" in titles
            sim.advance(6 * 3600)  # demo drivers turn round and drive back
            arrivals = [
                e
                for e in await demo.events(limit=1000)
                if e.phone == "79121234503" and e.type is EventType.POS_FINISHED
            ]
            assert len(arrivals) >= 2
    finally:
        await sim.stop()


# --- retries: reads only --------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [500, 503, "bad_json", "html"])
async def test_reads_are_retried(fault: Any, sim: MovizorSimulator, client: MovizorClient) -> None:
    sim.fail_next("object_list", fault, times=2)
    assert await client.object_list() == []
    assert calls_of(sim, "object_list") == 3
    assert client.stats.retries["object_list"] == 2 and client.stats.errors["object_list"] == 0


async def test_reads_give_up_after_retries(sim: MovizorSimulator, client: MovizorClient) -> None:
    sim.fail_next("balance", 502, times=3)
    with pytest.raises(UpstreamUnavailable) as caught:
        await client.balance()
    assert isinstance(caught.value, MovizorUnavailable) and caught.value.code == 502
    assert calls_of(sim, "balance") == 3


async def test_read_timeout_is_retried(sim: MovizorSimulator) -> None:
    async with make_client(sim, timeout=0.2) as client:
        sim.fail_next("events", "timeout")
        assert await client.events() == []
        assert calls_of(sim, "events") == 2


@pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - READ_FUNCTIONS))
async def test_writes_are_never_retried(
    function: str, sim: MovizorSimulator, client: MovizorClient
) -> None:
    add_driver(sim)
    sim.fail_next(function, 500, times=3)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "object_add": lambda: client.object_add(NEW_PHONE),
        "object_edit": lambda: client.object_edit(DRIVER, title="x"),
        "object_delete": lambda: client.object_delete(DRIVER),
        "object_reactivate": lambda: client.object_reactivate(DRIVER),
        "object_cancel_tariff": lambda: client.object_cancel_tariff(DRIVER),
        "pos_request": lambda: client.pos_request(DRIVER),
        "share_add": lambda: client.share_add([DRIVER]),
        "share_delete": lambda: client.share_delete("k"),
    }
    with pytest.raises(MovizorUnavailable):
        await calls[function]()
    assert calls_of(sim, function) == 1
    assert client.stats.retries[function] == 0


async def test_write_timeout_is_not_retried(sim: MovizorSimulator) -> None:
    add_driver(sim)
    async with make_client(sim, timeout=0.2) as client:
        sim.fail_next("pos_request", "timeout")
        with pytest.raises(MovizorUnavailable) as caught:
            await client.pos_request(DRIVER)
        assert "timed out" in str(caught.value)
        assert calls_of(sim, "pos_request") == 1


async def test_vendor_errors_and_4xx_are_not_retried(
    sim: MovizorSimulator, client: MovizorClient
) -> None:
    with pytest.raises(MovizorObjectNotFound):
        await client.object_get(NEW_PHONE)
    sim.fail_next("balance", 404)
    with pytest.raises(MovizorUnavailable):
        await client.balance()
    assert calls_of(sim, "object_get") == 1 and calls_of(sim, "balance") == 1


async def test_reads_are_get_with_key_in_query_writes_are_post() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"code": "OK", "message": "", "result": "success", "data": []}
        )

    async with MovizorClient(
        "https://movizor.example/api/", "my project", KEY, transport=httpx.MockTransport(handler)
    ) as client:
        await client.object_list()
        await client.object_add(DRIVER, title="Т")
    get, post = seen
    assert get.method == "GET" and get.url.raw_path.startswith(b"/api/my%20project/object_list/?")
    assert get.url.params["key"] == KEY
    assert post.method == "POST" and "key" not in post.url.params
    assert post.content == f"key={KEY}&phone={DRIVER}&title=%D0%A2".encode()


# --- secrets ------------------------------------------------------------------------------------


async def test_key_never_in_logs_or_errors(
    sim: MovizorSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []

    async def attempt(call: Awaitable[Any]) -> None:
        try:
            await call
        except Exception as exc:
            errors.append(exc)

    async with make_client(sim, timeout=0.2, retries=1) as client:
        sim.fail_next("balance", "timeout", times=2)
        sim.fail_next("object_list", 500, times=2)
        sim.fail_next("events", "bad_json", times=2)
        await attempt(client.balance())
        await attempt(client.object_list())
        await attempt(client.events())
        await attempt(client.object_get(NEW_PHONE))
        await attempt(client.pos_request(NEW_PHONE))

    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    async with MovizorClient(
        "https://movizor.example/api",
        PROJECT,
        KEY,
        transport=httpx.MockTransport(leaky),
        retries=1,
        backoff=0.001,
    ) as offline:
        await attempt(offline.balance())
        await attempt(offline.object_add(DRIVER))

    async with make_client(sim, key=KEY + "-wrong") as bad:
        await attempt(bad.balance())
        await attempt(bad.balance())

    assert len(errors) == 9
    assert all(isinstance(e, MovizorError) for e in errors)
    assert any("ConnectError" in str(e) for e in errors)
    for error in errors:
        texts = [str(error), repr(error), error.user_message, error.user_message_en]
        assert not any(KEY in text for text in texts), texts
        # nothing that holds the request (and so the key) is chained to the error
        assert error.__cause__ is None and error.__context__ is None, repr(error.__context__)
    assert caplog.records
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert not record.exc_text or KEY not in record.exc_text
    assert KEY not in repr(make_client(sim))
