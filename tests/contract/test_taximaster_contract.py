"""TaxiMasterClient against TaxiMasterSimulator over real loopback HTTP.

The simulator runs on a frozen clock; tests move time with ``sim.advance``. Happy paths and
error codes are parametrized over the client's own tables (REQUESTS, COMMON_ERRORS,
REQUEST_ERRORS), so a request or code added there without a test here fails the run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from integrations.errors import IntegrationDisabled
from integrations.taximaster.client import NewOrder, TaxiMasterClient
from integrations.taximaster.errors import (
    COMMON_ERRORS,
    REQUEST_ERRORS,
    TaxiMasterAccessDenied,
    TaxiMasterApiDisabled,
    TaxiMasterClientRefused,
    TaxiMasterDisabled,
    TaxiMasterError,
    TaxiMasterInvalidParameter,
    TaxiMasterOrderExists,
    TaxiMasterOrderNotSent,
    TaxiMasterOrderUnknown,
    TaxiMasterReferenceNotFound,
    TaxiMasterRouteError,
    TaxiMasterSignatureError,
    TaxiMasterUnavailable,
    TaxiMasterUnsupported,
    documented_codes,
    lookup,
)
from integrations.taximaster.models import OrderStateKind
from integrations.taximaster.requests import READ_REQUESTS, REQUESTS
from integrations.taximaster.wire import sign
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator

SECRET = "tm-S3cret-for-tests-0042"
T0 = datetime(2024, 5, 13, 7, 0, tzinfo=UTC)  # Monday, 12:00 in Yekaterinburg, 10:00 Moscow
PICKUP = "улица Малышева, 36"
AIRPORT = "Аэропорт Кольцово"


@pytest.fixture
async def sim() -> AsyncIterator[TaxiMasterSimulator]:
    simulator = TaxiMasterSimulator(SECRET, clock=lambda: T0)
    simulator.fault_delay = 1.0
    await simulator.start()
    yield simulator
    await simulator.stop()


def make_client(sim: TaxiMasterSimulator, secret: str = SECRET, **options: Any) -> TaxiMasterClient:
    assert sim.base_url is not None
    settings: dict[str, Any] = {"timeout": 2.0, "retries": 2, "backoff": 0.001}
    settings.update(options)
    return TaxiMasterClient(sim.base_url, secret, **settings)


@pytest.fixture
async def client(sim: TaxiMasterSimulator) -> AsyncIterator[TaxiMasterClient]:
    async with make_client(sim) as taximaster:
        yield taximaster


def new_order(**changes: Any) -> NewOrder:
    fields: dict[str, Any] = {
        "phone": "89123456789",
        "source": PICKUP,
        "source_time": T0,
        "dest": AIRPORT,
        "customer": "ООО Ромашка",
        "comment": "Подъезд 2",
        "crew_group_id": 1,
    }
    fields.update(changes)
    return NewOrder(**fields)


async def raw(
    sim: TaxiMasterSimulator,
    method: str,
    path: str,
    params: str = "",
    *,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A hand-made request, for what the client never sends (wrong method, missing parameter)."""
    sent = {"Signature": sign(params, secret), **(headers or {})}
    async with httpx.AsyncClient(base_url=sim.base_url or "") as http:
        if method == "GET":
            response = await http.get(f"{path}?{params}" if params else path, headers=sent)
        else:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            response = await http.post(path, content=params.encode(), headers=sent)
    assert response.status_code == 200  # TMWeb always answers 200
    body: dict[str, Any] = json.loads(response.text)  # by the declared charset
    return body


Scenario = Callable[[TaxiMasterSimulator, TaxiMasterClient], Awaitable[None]]


# --- happy paths: one per request -------------------------------------------------------------


async def happy_ping(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    await client.ping()
    async with make_client(sim, secret="wrong") as wrong:
        await wrong.ping()  # ping checks no key
    assert not wrong.auth_locked


async def happy_get_crew_groups_list(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    groups = await client.get_crew_groups_list()
    assert [(g.id, g.name) for g in groups] == [(1, "Эконом"), (2, "Комфорт"), (3, "Минивэн")]


async def happy_get_uds_list(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    assert [u.id for u in await client.get_uds_list()] == [1, 2]


async def happy_get_tariffs_list(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    tariffs = await client.get_tariffs_list()
    assert tariffs[0].name == "Эконом" and all(t.active for t in tariffs)  # no flag: active


async def happy_get_services_list(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    services = {s.name: s for s in await client.get_services_list()}
    assert services["Детское кресло"].sum == 100 and services["Перевозка животного"].percent == 10


async def happy_get_discounts_list(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    discounts = await client.get_discounts_list()
    assert [(d.id, d.percent) for d in discounts][:1] == [(1, 5)]


async def happy_create_order(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    created = await client.create_order(new_order())
    assert created.order_id > 0
    seen = sim.requests[-1]
    assert seen.method == "POST" and seen.signature_ok
    assert seen.params == {
        "phone": "89123456789",
        "source": PICKUP,
        "source_time": "20240513100000",  # Moscow time by default
        "dest": AIRPORT,
        "customer": "ООО Ромашка",
        "comment": "Подъезд 2",
        "crew_group_id": "1",
    }
    [order] = sim.orders
    assert order.id == created.order_id and order.crew_group_id == 1


async def happy_calc_order_cost(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    cost = await client.calc_order_cost(1, distance_city=10, distance_country=2.5, services=[1])
    # 99 boarding + 8 km × 22 + 2.5 km × 28 + child seat 100
    assert cost.sum == pytest.approx(99 + 8 * 22 + 2.5 * 28 + 100)
    assert cost.info[0].comment == "Посадка"
    params = sim.requests[-1].params
    assert params["distance_city"] == "10" and params["services"] == "1"


async def happy_get_crew_info(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    crew = await client.get_crew_info(1)
    assert (crew.crew_id, crew.driver_id, crew.car_id, crew.crew_group_id) == (1, 201, 101, 1)


async def happy_get_driver_info(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    driver = await client.get_driver_info(201)
    assert driver.name == "Иванов Сергей Петрович" and driver.phone.startswith("+7912")
    assert driver.driver_photo is None and driver.is_locked is False
    assert (await client.get_driver_info(201, need_photo=True)).driver_photo


async def happy_get_car_info(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    car = await client.get_car_info(101)
    assert (car.mark, car.model, car.color, car.gos_number) == ("Kia", "Rio", "белый", "А123ВС196")
    assert car.production_year is not None and car.car_photo is None


async def happy_get_crews_coords(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    crews = await client.get_crews_coords()
    assert len(crews) == 12
    assert {c.state_kind for c in crews} == {"waiting", "on_break"}
    one = (await client.get_crews_coords(1))[0]
    assert one.crew_id == 1 and one.has_fix and one.coords_time is not None
    assert abs(one.lat - 56.838) < 0.01 and abs(one.lon - 60.5975) < 0.02  # type: ignore[operator]


async def happy_get_addresses_like(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    found = await client.get_addresses_like("вокз")
    assert [(a.street, a.kind) for a in found] == [
        ("Автовокзал Южный", "point"),
        ("Железнодорожный вокзал", "point"),
    ]
    assert found[1].comment == "улица Вокзальная, 22"
    streets = await client.get_addresses_like("малыш", get_points=False)
    assert [a.text for a in streets] == ["улица Малышева"]
    houses = await client.find_houses("улица Малышева", "3", max_addresses_count=3)
    assert [a.house for a in houses] == ["3", "30", "30а"] and houses[0].kind == "house"
    assert await client.get_addresses_like("Бейкер-стрит") == []  # 100: nothing found


async def happy_analyze_route(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    route = await client.analyze_route(PICKUP, AIRPORT)
    assert route.city_dist > 10 and route.country_dist > 2  # the airport is out of town
    assert route.dest_zone_id == 8 and route.source_lon == pytest.approx(60.594, abs=0.01)
    inside = await client.analyze_route(PICKUP, "Железнодорожный вокзал")
    assert inside.country_dist == 0


async def happy_get_order_state(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    created = await client.create_order(new_order())
    state = await client.get_order_state(created.order_id)
    assert state.state_kind == OrderStateKind.NEW_ORDER and state.crew_id is None
    sim.advance(timedelta(seconds=30))
    state = await client.get_order_state(created.order_id)
    assert state.state_kind == OrderStateKind.DRIVER_ASSIGNED
    assert state.crew_id and state.driver_id and state.car_id


async def happy_get_current_orders(sim: TaxiMasterSimulator, client: TaxiMasterClient) -> None:
    sim.current_orders = True  # a newer TMWeb
    created = await client.create_order(new_order())
    other = sim.place_order("ТЦ Гринвич", phone="89120000001")
    rows = await client.get_current_orders(phone="89123456789")
    assert [(r.id, r.phone, r.source, r.destination) for r in rows] == [
        (created.order_id, "89123456789", PICKUP, AIRPORT)
    ]
    assert rows[0].source_time == T0 and rows[0].start_time == T0
    assert rows[0].creation_way == "common_api" and rows[0].crew_id is None  # 0: no crew yet
    assert {r.id for r in await client.get_current_orders()} == {created.order_id, other}
    assert client.current_orders_supported is True


HAPPY: dict[str, Scenario] = {
    "ping": happy_ping,
    "get_crew_groups_list": happy_get_crew_groups_list,
    "get_uds_list": happy_get_uds_list,
    "get_tariffs_list": happy_get_tariffs_list,
    "get_services_list": happy_get_services_list,
    "get_discounts_list": happy_get_discounts_list,
    "create_order": happy_create_order,
    "calc_order_cost": happy_calc_order_cost,
    "get_crew_info": happy_get_crew_info,
    "get_driver_info": happy_get_driver_info,
    "get_car_info": happy_get_car_info,
    "get_crews_coords": happy_get_crews_coords,
    "get_addresses_like": happy_get_addresses_like,
    "analyze_route": happy_analyze_route,
    "get_order_state": happy_get_order_state,
    "get_current_orders": happy_get_current_orders,
}


@pytest.mark.parametrize("request_name", sorted(REQUESTS))
async def test_happy_path(
    request_name: str, sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    await HAPPY[request_name](sim, client)
    seen = [r for r in sim.requests if r.name == request_name]
    assert seen and all(r.method == REQUESTS[request_name].method for r in seen)
    assert all(r.signature_ok for r in seen if request_name != "ping")
    assert client.stats.calls[request_name] >= 1


@pytest.mark.parametrize("request_name", sorted(REQUESTS))
async def test_happy_path_on_a_real_servers_wire(request_name: str) -> None:
    """The same scenarios against answers shaped as real TMWeb servers send them (a public
    client's field types: 0 for "no crew yet", ``is_active``, a ``phones`` list, extra
    fields) in Windows-1251: the client keeps to the document and tolerates the rest."""
    sim = TaxiMasterSimulator(SECRET, clock=lambda: T0, wire="public", charset="windows-1251")
    await sim.start()
    try:
        async with make_client(sim) as client:
            await HAPPY[request_name](sim, client)
    finally:
        await sim.stop()


async def test_the_wire_really_is_windows_1251_and_public_shaped() -> None:
    sim = TaxiMasterSimulator(SECRET, clock=lambda: T0, wire="public", charset="windows-1251")
    sim.deactivate_tariff(1)
    await sim.start()
    try:
        body = await raw(sim, "GET", "/common_api/1.0/get_tariffs_list")
        assert body["data"]["tariffs"][0] == {"id": 1, "name": "Эконом", "is_active": False}
        async with httpx.AsyncClient() as http:
            response = await http.get(
                f"{sim.base_url}/common_api/1.0/get_tariffs_list",
                headers={"Signature": sign("", SECRET)},
            )
        assert response.headers["Content-Type"] == "application/json; charset=windows-1251"
        assert "Эконом".encode("cp1251") in response.content
        async with make_client(sim) as client:
            tariffs = await client.get_tariffs_list()
            assert [(t.name, t.active) for t in tariffs][:2] == [
                ("Эконом", False),
                ("Комфорт", True),
            ]
            created = await client.create_order(new_order())
            state = await client.get_order_state(created.order_id)
            assert state.crew_id is None and state.phone == "89123456789"
            assert state.source == PICKUP and state.destination == AIRPORT
    finally:
        await sim.stop()


async def test_an_undeclared_charset_is_utf8_else_windows_1251() -> None:
    answers = iter(["Эконом".encode("cp1251"), "Эконом".encode()])

    def answer(request: httpx.Request) -> httpx.Response:
        name = next(answers)
        body = b'{"code":0,"descr":"OK","data":{"tariffs":[{"id":1,"name":"' + name + b'"}]}}'
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    async with TaxiMasterClient(
        "https://tm.example:8089", SECRET, transport=httpx.MockTransport(answer)
    ) as client:
        assert (await client.get_tariffs_list())[0].name == "Эконом"
        assert (await client.get_tariffs_list())[0].name == "Эконом"


def test_every_request_has_a_client_method() -> None:
    assert sum(spec.documented for spec in REQUESTS.values()) == 15
    assert [name for name, spec in REQUESTS.items() if not spec.documented] == [
        "get_current_orders"
    ]
    for name in REQUESTS:
        assert callable(getattr(TaxiMasterClient, name))


# --- every code, for every request ---------------------------------------------------------------

CALLS: dict[str, Callable[[TaxiMasterClient], Awaitable[Any]]] = {
    "ping": lambda c: c.ping(),
    "get_crew_groups_list": lambda c: c.get_crew_groups_list(),
    "get_uds_list": lambda c: c.get_uds_list(),
    "get_tariffs_list": lambda c: c.get_tariffs_list(),
    "get_services_list": lambda c: c.get_services_list(),
    "get_discounts_list": lambda c: c.get_discounts_list(),
    "create_order": lambda c: c.create_order(new_order()),
    "calc_order_cost": lambda c: c.calc_order_cost(1, distance_city=5),
    "get_crew_info": lambda c: c.get_crew_info(1),
    "get_driver_info": lambda c: c.get_driver_info(201),
    "get_car_info": lambda c: c.get_car_info(101),
    "get_crews_coords": lambda c: c.get_crews_coords(1),
    "get_addresses_like": lambda c: c.get_addresses_like("мал"),
    "analyze_route": lambda c: c.analyze_route(PICKUP, AIRPORT),
    "get_order_state": lambda c: c.get_order_state(1),
    "get_current_orders": lambda c: c.get_current_orders(),
}
# Codes that a method turns into an answer instead of an exception.
EMPTY_RESULTS = {("get_addresses_like", 100)}

# The codes with which a server says it does not have an optional request: its own test.
UNSUPPORTED = {("get_current_orders", 6), ("get_current_orders", 14)}
ALL_CODES = [
    (name, code)
    for name in sorted(REQUESTS)
    for code in documented_codes(name)
    if (name, code) not in UNSUPPORTED
]


def test_code_tables_cover_the_document() -> None:
    assert set(COMMON_ERRORS) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14}
    assert {code for name, code in REQUEST_ERRORS if name == "create_order"} >= {
        100,
        101,
        102,
        103,
        110,
    }
    assert {code for name, code in REQUEST_ERRORS if name == "analyze_route"} == {100, 101, 102}
    for name in ("get_driver_info", "get_car_info", "get_crews_coords", "get_order_state"):
        assert (name, 100) in REQUEST_ERRORS
    assert set(CALLS) == set(REQUESTS)


@pytest.mark.parametrize(("request_name", "code"), ALL_CODES)
async def test_every_code_is_a_typed_error(
    request_name: str, code: int, sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    spec = lookup(request_name, code)
    assert spec is not None
    data = {"param": "phone"} if code in (8, 9) else None
    sim.current_orders = True
    sim.force_error(request_name, code, data=data)
    if (request_name, code) in EMPTY_RESULTS:
        assert await CALLS[request_name](client) == []
        return
    with pytest.raises(TaxiMasterError) as caught:
        await CALLS[request_name](client)
    error = caught.value
    assert type(error) is spec.exc and error.code == code and error.request == request_name
    assert (
        error.user_message and error.user_message_en and error.user_message != error.user_message_en
    )
    assert any("а" <= ch <= "я" for ch in error.user_message.lower())  # Russian
    if code in (8, 9):
        assert error.param == "phone" and "телефон" in error.user_message
        assert "(phone)" in error.user_message
    assert sim.calls_of(request_name) == 1  # vendor errors are never retried
    assert client.auth_locked is (code == 4)


async def test_unknown_code_still_a_clear_error(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    handler_calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        handler_calls.append(request)
        return httpx.Response(200, json={"code": 777, "descr": "Странное", "data": {}})

    async with TaxiMasterClient(
        "https://tm.example:8089", SECRET, transport=httpx.MockTransport(answer)
    ) as mocked:
        with pytest.raises(TaxiMasterError) as caught:
            await mocked.get_tariffs_list()
    assert caught.value.code == 777 and "777" in caught.value.user_message
    assert caught.value.vendor_text == "Странное"


# --- the checks the simulator makes, seen naturally -------------------------------------------


async def test_wrong_secret_is_code_4_and_locks_the_client(sim: TaxiMasterSimulator) -> None:
    async with make_client(sim, secret="wrong-secret-1234") as bad:
        with pytest.raises(TaxiMasterSignatureError) as caught:
            await bad.get_tariffs_list()
        assert caught.value.code == 4 and "ключ" in caught.value.user_message
        assert bad.auth_locked
        seen = len(sim.requests)
        for call in (bad.get_tariffs_list(), bad.create_order(new_order()), bad.get_order_state(1)):
            with pytest.raises(IntegrationDisabled) as disabled:
                await call
            assert isinstance(disabled.value, TaxiMasterDisabled)
        assert len(sim.requests) == seen  # nothing reached the service
        assert sim.orders == []
        bad.reset_auth_lock()
        with pytest.raises(TaxiMasterSignatureError):
            await bad.get_tariffs_list()
        assert len(sim.requests) == seen + 1


async def test_missing_signature_header(sim: TaxiMasterSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url or "") as http:
        body = (await http.get("/common_api/1.0/get_tariffs_list")).json()
    assert body["code"] == 4


async def test_get_vs_post_is_code_7(sim: TaxiMasterSimulator) -> None:
    assert (await raw(sim, "POST", "/common_api/1.0/get_order_state", "order_id=1"))["code"] == 7
    body = "phone=89123456789&source=x&source_time=20240513100000"
    assert (await raw(sim, "GET", "/common_api/1.0/create_order", body))["code"] == 7
    assert sim.orders == []


async def test_missing_and_bad_parameters_are_named(sim: TaxiMasterSimulator) -> None:
    missing = await raw(sim, "GET", "/common_api/1.0/get_order_state")
    assert (missing["code"], missing["data"]) == (8, {"param": "order_id"})
    bad = await raw(sim, "GET", "/common_api/1.0/get_order_state", "order_id=abc")
    assert (bad["code"], bad["data"]) == (9, {"param": "order_id"})
    no_time = await raw(sim, "POST", "/common_api/1.0/create_order", "phone=8912&source=x")
    assert (no_time["code"], no_time["data"]) == (8, {"param": "source_time"})
    bad_time = await raw(
        sim, "POST", "/common_api/1.0/create_order", "phone=8912&source=x&source_time=2024-05-13"
    )
    assert (bad_time["code"], bad_time["data"]) == (9, {"param": "source_time"})
    both = "get_streets=true&get_points=false&get_houses=true&street=x"
    assert (await raw(sim, "GET", "/common_api/1.0/get_addresses_like", both))["data"] == {
        "param": "get_houses"
    }


async def test_bad_parameter_through_the_client(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    with pytest.raises(TaxiMasterInvalidParameter) as caught:
        await client.create_order(new_order(phone="звоните Пете"))
    assert caught.value.param == "phone"
    assert caught.value.user_message == (
        "Такси-Мастер не принял значение параметра «телефон» (phone)."
    )
    assert caught.value.user_message_en == (
        "Taxi-Master refused the value of the parameter “phone” (phone)."
    )
    with pytest.raises(TaxiMasterInvalidParameter) as unknown_street:
        await client.create_order(new_order(source="Нигдейская, 1"))
    assert (
        unknown_street.value.param == "source"
        and "адрес подачи" in unknown_street.value.user_message
    )


async def test_api_path_version_and_name(sim: TaxiMasterSimulator) -> None:
    assert (await raw(sim, "GET", "/other_api/1.0/get_tariffs_list"))["code"] == 2
    assert (await raw(sim, "GET", "/common_api/2.0/get_tariffs_list"))["code"] == 5
    assert (await raw(sim, "GET", "/common_api/1.0/get_everything"))["code"] == 6
    assert (await raw(sim, "POST", "/common_api/9.9/ping", secret="x"))["code"] == 0


async def test_api_switched_off_is_code_3(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    sim.set_api_enabled(False)
    await client.ping()
    with pytest.raises(TaxiMasterApiDisabled):
        await client.get_tariffs_list()
    assert not client.auth_locked


async def test_x_user_id_codes_13_and_14() -> None:
    sim = TaxiMasterSimulator(SECRET, clock=lambda: T0, users={2: True, 3: False})
    await sim.start()
    try:
        for user_id, expected in ((None, 13), (9, 13), (3, 14)):
            async with make_client(sim, user_id=user_id) as client:
                with pytest.raises(TaxiMasterAccessDenied) as caught:
                    await client.get_uds_list()
                assert caught.value.code == expected
        async with make_client(sim, user_id=2) as allowed:
            assert await allowed.get_uds_list()
        assert sim.requests[-1].headers["X-User-Id"] == "2"
    finally:
        await sim.stop()


async def test_create_order_reference_codes_naturally(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    with pytest.raises(TaxiMasterReferenceNotFound) as group:
        await client.create_order(new_order(crew_group_id=99))
    assert group.value.code == 102
    with pytest.raises(TaxiMasterReferenceNotFound) as uds:
        await client.create_order(new_order(uds_id=99))
    assert uds.value.code == 103
    sim.block_phone("89123456789")
    with pytest.raises(TaxiMasterClientRefused) as blocked:
        await client.create_order(new_order())
    assert blocked.value.code == 110
    with pytest.raises(TaxiMasterReferenceNotFound):
        await client.calc_order_cost(42, distance_city=3)
    assert sim.orders == []


async def test_route_codes_naturally(client: TaxiMasterClient) -> None:
    for source, dest, code in (
        ("Нигде, 1", AIRPORT, 100),
        (PICKUP, "Нигде, 1", 101),
        (PICKUP, PICKUP, 102),
    ):
        with pytest.raises(TaxiMasterRouteError) as caught:
            await client.analyze_route(source, dest)
        assert caught.value.code == code


# --- create_order: sent once, never again on its own ---------------------------------------------


@pytest.mark.parametrize("fault", ["drop", "timeout", 500, 502, "bad_json", "html"])
async def test_a_lost_answer_after_the_order_exists_is_unknown_and_not_resent(
    fault: Any, sim: TaxiMasterSimulator
) -> None:
    """The order IS created, then the answer is lost in any way: one send, one order, and the
    outcome is reported as unknown — neither a success nor a failure."""
    async with make_client(sim, timeout=0.3) as client:
        sim.fail_next("create_order", fault, after=True)
        with pytest.raises(TaxiMasterOrderUnknown) as caught:
            await client.create_order(new_order())
    assert len(sim.orders) == 1 and sim.calls_of("create_order") == 1
    assert "неизвестно, создан ли он" in caught.value.user_message
    assert "повторно не отправит" in caught.value.user_message


@pytest.mark.parametrize("fault", ["drop", "timeout", 503])
async def test_a_request_lost_on_the_way_is_unknown_too(
    fault: Any, sim: TaxiMasterSimulator
) -> None:
    """From outside, a request lost before TMWeb handled it looks the same: still unknown,
    still sent once (the bot cannot tell which side lost it)."""
    async with make_client(sim, timeout=0.3) as client:
        sim.fail_next("create_order", fault)
        with pytest.raises(TaxiMasterOrderUnknown):
            await client.create_order(new_order())
    assert sim.orders == [] and sim.calls_of("create_order") == 1


async def test_no_connection_means_not_sent() -> None:
    """Nothing listens: the request never left, so the order is known NOT to exist."""
    async with TaxiMasterClient("http://127.0.0.1:9", SECRET, timeout=1.0) as client:
        with pytest.raises(TaxiMasterOrderNotSent) as caught:
            await client.create_order(new_order())
    assert "не отправлен" in caught.value.user_message


async def test_a_server_without_the_duplicate_check_gets_one_order_from_one_press() -> None:
    sim = TaxiMasterSimulator(SECRET, clock=lambda: T0, reject_duplicates=False)
    await sim.start()
    try:
        async with make_client(sim) as client:
            sim.fail_next("create_order", "drop", after=True)
            with pytest.raises(TaxiMasterOrderUnknown):
                await client.create_order(new_order())
        assert len(sim.orders) == 1 and sim.calls_of("create_order") == 1
    finally:
        await sim.stop()


async def test_code_100_is_reported_with_the_id_only_when_tmweb_names_it() -> None:
    for reveals in (False, True):
        sim = TaxiMasterSimulator(SECRET, clock=lambda: T0, duplicate_reveals_order_id=reveals)
        await sim.start()
        try:
            async with make_client(sim) as client:
                first = await client.create_order(new_order())
                with pytest.raises(TaxiMasterOrderExists) as caught:
                    await client.create_order(new_order())
            assert caught.value.order_id == (first.order_id if reveals else None)
            assert "уже создан" in caught.value.user_message
            assert len(sim.orders) == 1
        finally:
            await sim.stop()


async def test_create_vendor_errors_are_not_resent(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    sim.force_error("create_order", 10)
    with pytest.raises(TaxiMasterError):
        await client.create_order(new_order())
    assert sim.calls_of("create_order") == 1


# --- get_current_orders: optional, probed once ------------------------------------------------


async def test_a_server_without_get_current_orders_is_asked_once(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    assert client.current_orders_supported is None
    with pytest.raises(TaxiMasterUnsupported):
        await client.get_current_orders(phone="89123456789")
    assert client.current_orders_supported is False
    with pytest.raises(TaxiMasterUnsupported):
        await client.get_current_orders()
    assert sim.calls_of("get_current_orders") == 1  # remembered: no second request
    assert not client.auth_locked


async def test_not_for_this_user_counts_as_unsupported(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    sim.current_orders = True
    sim.force_error("get_current_orders", 14)
    with pytest.raises(TaxiMasterUnsupported):
        await client.get_current_orders()
    assert client.current_orders_supported is False


# --- retries: reads only ----------------------------------------------------------------------


@pytest.mark.parametrize("fault", [500, 503, "bad_json", "html", "drop"])
async def test_reads_are_retried(
    fault: Any, sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    sim.fail_next("get_tariffs_list", fault, times=2)
    assert await client.get_tariffs_list()
    assert sim.calls_of("get_tariffs_list") == 3
    assert client.stats.retries["get_tariffs_list"] == 2


async def test_reads_give_up_after_retries(
    sim: TaxiMasterSimulator, client: TaxiMasterClient
) -> None:
    sim.fail_next("get_order_state", 502, times=3)
    with pytest.raises(TaxiMasterUnavailable) as caught:
        await client.get_order_state(1)
    assert caught.value.code == 502 and sim.calls_of("get_order_state") == 3


async def test_read_timeout_is_retried(sim: TaxiMasterSimulator) -> None:
    async with make_client(sim, timeout=0.2) as client:
        sim.fail_next("get_uds_list", "timeout")
        assert await client.get_uds_list()
    assert sim.calls_of("get_uds_list") == 2


def test_only_create_order_is_a_write() -> None:
    assert set(REQUESTS) - READ_REQUESTS == {"create_order"}


# --- wire format ---------------------------------------------------------------------------------


async def test_signed_bytes_are_the_sent_bytes() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        data: dict[str, Any] = {"order_id": 7} if request.method == "POST" else {"sum": 1}
        return httpx.Response(200, json={"code": 0, "descr": "OK", "data": data})

    async with TaxiMasterClient(
        "https://10.0.0.5:8089/", "1234567890", transport=httpx.MockTransport(answer)
    ) as client:
        await client.calc_order_cost(1, distance_city=10)
        await client.calc_order_cost(2, services=[1, 2], is_prior=True, distance_city=1.5)
        await client.create_order(new_order(customer=None, comment="кв. 5 & код #12"))
    vector, cost, order = seen
    assert (
        str(vector.url)
        == "https://10.0.0.5:8089/common_api/1.0/calc_order_cost?tariff_id=1&distance_city=10"
    )
    assert (
        vector.headers["Signature"] == "d7b8fb11b5499b64d750b8efe53e2877"
    )  # the document's vector
    query = cost.url.query.decode()
    assert query == "tariff_id=2&is_prior=true&distance_city=1.5&services=1%3B2"
    assert cost.headers["Signature"] == hashlib.md5((query + "1234567890").encode()).hexdigest()
    assert order.method == "POST" and order.url.path == "/common_api/1.0/create_order"
    assert order.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = order.content.decode()
    assert (
        body.startswith("phone=89123456789&source=%D1%83%D0%BB")
        and "comment=%D0%BA%D0%B2.+5+%26+" in body
    )
    assert order.headers["Signature"] == sign(body, "1234567890")


# --- secrets ------------------------------------------------------------------------------------


async def test_secret_never_in_logs_or_errors(
    sim: TaxiMasterSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []

    async def attempt(call: Awaitable[Any]) -> None:
        try:
            await call
        except Exception as exc:
            errors.append(exc)

    async with make_client(sim, timeout=0.2, retries=1) as client:
        sim.fail_next("get_uds_list", "timeout", times=2)
        sim.fail_next("get_tariffs_list", 500, times=2)
        sim.fail_next("create_order", "drop", times=2)
        await attempt(client.get_uds_list())
        await attempt(client.get_tariffs_list())
        await attempt(client.create_order(new_order()))
        await attempt(client.get_order_state(999))

    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url} {SECRET}", request=request)

    async with TaxiMasterClient(
        "https://tm.example:8089", SECRET, transport=httpx.MockTransport(leaky), retries=0
    ) as offline:
        await attempt(offline.get_uds_list())
    async with make_client(sim, secret=SECRET + "-wrong") as bad:
        await attempt(bad.get_uds_list())
        await attempt(bad.get_uds_list())

    assert len(errors) == 7 and all(isinstance(e, TaxiMasterError) for e in errors)
    for error in errors:
        assert isinstance(error, TaxiMasterError)
        texts = [str(error), repr(error), error.user_message, error.user_message_en]
        assert not any(SECRET in text for text in texts), texts
        assert error.__cause__ is None and error.__context__ is None
    assert caplog.records
    for record in caplog.records:
        assert SECRET not in record.getMessage()
    assert SECRET not in repr(make_client(sim))


async def test_a_night_price_travels_on_a_windows_1251_wire() -> None:
    """Every text the simulator sends must exist in the server's charset: the night line of a
    price once had a "×" that Windows-1251 lacks, and a night-time run got HTTP 500."""
    sim = TaxiMasterSimulator(SECRET, clock=lambda: T0, wire="public", charset="windows-1251")
    await sim.start()
    try:
        async with make_client(sim) as client:
            night = T0.replace(hour=20)  # 23:00 in Moscow, 01:00 in Yekaterinburg
            cost = await client.calc_order_cost(1, distance_city=10, source_time=night)
        assert "Ночной коэффициент 1,2" in [line.comment for line in cost.info]
    finally:
        await sim.stop()
