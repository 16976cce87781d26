"""AltaClient against AltaSimulator over real loopback HTTP.

The simulator runs on a frozen clock moved with ``sim.advance``. Happy paths and error cases
are tables parametrized over the client's own tables (ACTIONS, ERRORS), so an action or error
added there without a test here fails the run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from integrations.alta.client import AltaClient
from integrations.alta.errors import (
    ERRORS,
    AltaAuthError,
    AltaDisabled,
    AltaError,
    AltaInvalidNumbers,
    AltaRateLimited,
    AltaUnavailable,
)
from integrations.alta.functions import (
    ACTIONS,
    TEST_CONTAINER,
    TEST_CONTAINER_HASH,
    TEST_LOGIN,
    TEST_PASSWORD,
    TEST_SA,
    TEST_SECRET,
    TEST_WAGON,
    TEST_WAGON_HASH,
)
from integrations.alta.models import TrackMode
from integrations.errors import IntegrationDisabled, RateLimited
from sandbox.simulators.alta.simulator import AltaSimulator

T0 = datetime(2024, 5, 13, 5, 0, tzinfo=UTC)  # Monday 08:00 in Moscow
WAGONS = ["52345675", "52345683"]
HOUR = timedelta(hours=1)


@pytest.fixture
async def sim() -> AsyncIterator[AltaSimulator]:
    simulator = AltaSimulator(clock=lambda: T0)
    simulator.fault_delay = 1.0
    await simulator.start()
    yield simulator
    await simulator.stop()


def make_client(sim: AltaSimulator, password: str = TEST_PASSWORD, **options: Any) -> AltaClient:
    assert sim.base_url is not None
    settings: dict[str, Any] = {"timeout": 2.0, "retries": 2, "backoff": 0.001}
    settings.update(options)
    # The once-a-minute rule on the simulator's clock, so tests can move time.
    settings.setdefault("monotonic", lambda: sim.now().timestamp())
    return AltaClient(sim.base_url, TEST_LOGIN, TEST_SA, password, **settings)


@pytest.fixture
async def client(sim: AltaSimulator) -> AsyncIterator[AltaClient]:
    async with make_client(sim) as alta:
        yield alta


def on_the_way(sim: AltaSimulator, **options: Any) -> str:
    settings: dict[str, Any] = {"departed_ago": 10 * HOUR, "added_ago": 3 * HOUR}
    settings.update(options)
    return sim.put_on_track(WAGONS, **settings)


Scenario = Callable[[AltaSimulator, AltaClient], Awaitable[None]]


# --- happy paths: one per action ------------------------------------------------------------------


async def happy_test_secret(sim: AltaSimulator, client: AltaClient) -> None:
    assert await client.test_secret() is True
    assert client._secret == TEST_SECRET  # the document's vector, computed once


async def happy_add(sim: AltaSimulator, client: AltaClient) -> None:
    added = await client.add(
        f"{TEST_WAGON}, {TEST_CONTAINER}",
        region="ru",
        mode=TrackMode.DAILY,
        times=["13:00", "09:00"],
        days=[1, 2, 3, 4, 5],
        stop_station=False,
        comment="первое слежение",
    )
    assert (added.hash, added.cont_hash) == (TEST_WAGON_HASH, TEST_CONTAINER_HASH)
    action, method, params = sim.requests[-1]
    assert (action, method) == ("add", "POST")
    assert params == {
        "wagons": f"{TEST_WAGON},{TEST_CONTAINER}",
        "state": "20",
        "track_state": "ru",
        "track_type": "2",  # add's numbering: 2 daily, 3 trip
        "stop_station": "no",
        "times": "09:00,13:00",
        "times_per_day": "2",
        "days": "1,2,3,4,5",
        "comment": "первое слежение",
    }
    trip = await client.add(WAGONS, mode="trip", region="sng", stop_station="78000")
    _, _, params = sim.requests[-1]
    assert (params["track_type"], params["state"], params["stop_station"]) == ("3", "22", "78000")
    listed = {r.hash: r for r in await client.track_list()}
    assert listed[trip.hash].mode is TrackMode.TRIP and listed[trip.hash].track_type == 2
    assert (
        listed[TEST_WAGON_HASH].mode is TrackMode.DAILY and listed[TEST_WAGON_HASH].track_type == 1
    )


async def happy_show(sim: AltaSimulator, client: AltaClient) -> None:
    request_hash = on_the_way(sim)
    first = await client.show(request_hash)
    assert first.no_data and {r.number for r in first.reports} == set(WAGONS)
    sim.advance(5 * HOUR)  # 13:00 Moscow has passed: a report with data
    report = await client.show(request_hash)
    assert not report.no_data
    row = report.by_number()[WAGONS[0]]
    assert row.station.isdigit() and row.station_name and row.operation
    assert row.destination_name == "Екатеринбург-Сортировочный" and row.destination == "78000"
    assert row.distance_left_km is not None and row.distance_left_km > 0
    assert row.operation_at is not None and row.report_at is not None
    assert row.raw["vagon"] == WAGONS[0]


async def happy_cancel_track(sim: AltaSimulator, client: AltaClient) -> None:
    request_hash = on_the_way(sim)
    await client.cancel_track(request_hash, [WAGONS[0]])
    assert await client.carr_list(request_hash) == [WAGONS[1]]
    await client.cancel_track(request_hash)
    listed = {r.hash: r for r in await client.track_list()}
    assert not listed[request_hash].on_track
    # The document: cancelling test data answers "success" but it stays on tracking.
    test_hash = sim.put_on_track([TEST_WAGON])
    await client.cancel_track(test_hash)
    assert await client.carr_list(test_hash) == [TEST_WAGON]


async def happy_track_list(sim: AltaSimulator, client: AltaClient) -> None:
    request_hash = on_the_way(sim, comment="Уголь")
    [row] = await client.track_list()
    assert row.hash == request_hash and row.vagon_count == 2 and row.on_track
    assert row.name == "Уголь" and row.modify_date is not None and row.track_state == "ru"


async def happy_carr_list(sim: AltaSimulator, client: AltaClient) -> None:
    assert await client.carr_list(on_the_way(sim)) == WAGONS


async def happy_balance(sim: AltaSimulator, client: AltaClient) -> None:
    balance = await client.balance()
    assert balance.rubles == 10_000.0 and balance.sa == TEST_SA and "баланс" in balance.descr
    on_the_way(sim)
    sim.advance(5 * HOUR)  # the first report with data of the day is charged per wagon
    assert (await client.balance()).rubles == 10_000.0 - 2 * 45.0


HAPPY: dict[str, Scenario] = {
    "test_secret": happy_test_secret,
    "add": happy_add,
    "show": happy_show,
    "cancel_track": happy_cancel_track,
    "track_list": happy_track_list,
    "carr_list": happy_carr_list,
    "balance": happy_balance,
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_happy_path(action: str, sim: AltaSimulator, client: AltaClient) -> None:
    await HAPPY[action](sim, client)
    assert sim.calls(action) >= 1 and client.stats.calls[action] >= 1


def test_every_action_has_a_client_method_and_a_test() -> None:
    assert set(HAPPY) == set(ACTIONS)
    for action in ACTIONS:
        assert callable(getattr(AltaClient, action))


# --- every error of the table ---------------------------------------------------------------------


async def _unsupported(sim: AltaSimulator, client: AltaClient) -> None:
    await client._request("track_lst", {}, lambda e: None)  # a typo in an action name


async def _auth(sim: AltaSimulator, client: AltaClient) -> None:
    async with make_client(sim, password="wrong") as bad:
        await bad.balance()


async def _test_numbers_only(sim: AltaSimulator, client: AltaClient) -> None:
    sim.world.test_numbers_only = True
    await client.add(WAGONS)


async def _too_frequent(sim: AltaSimulator, client: AltaClient) -> None:
    request_hash = on_the_way(sim)
    async with make_client(sim, show_interval=0) as eager:  # our own guard off
        await eager.show(request_hash)
        await eager.show(request_hash)


async def _no_money(sim: AltaSimulator, client: AltaClient) -> None:
    sim.set_balance(100.0)
    await client.add(WAGONS, mode=TrackMode.TRIP)


async def _not_found(sim: AltaSimulator, client: AltaClient) -> None:
    await client.show("0" * 32)


async def _invalid_numbers(sim: AltaSimulator, client: AltaClient) -> None:
    await client.cancel_track(on_the_way(sim), [TEST_WAGON])  # not in that request


async def _missing(sim: AltaSimulator, client: AltaClient) -> None:
    await client.carr_list("")


async def _invalid(sim: AltaSimulator, client: AltaClient) -> None:
    sim.force_error("add", "invalid_argument")
    await client.add(WAGONS)


ERROR_SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "unsupported_method": ("track_lst", _unsupported),
    "auth": ("balance", _auth),
    "test_numbers_only": ("add", _test_numbers_only),
    "too_frequent": ("show", _too_frequent),
    "no_money": ("add", _no_money),
    "request_not_found": ("show", _not_found),
    "invalid_numbers": ("cancel_track", _invalid_numbers),
    "missing_argument": ("carr_list", _missing),
    "invalid_argument": ("add", _invalid),
}


@pytest.mark.parametrize("reason", sorted(ERRORS))
async def test_every_error(reason: str, sim: AltaSimulator, client: AltaClient) -> None:
    spec = ERRORS[reason]
    action, scenario = ERROR_SCENARIOS[reason]
    with pytest.raises(AltaError) as caught:
        await scenario(sim, client)
    error = caught.value
    assert type(error) is spec.exc, error
    assert error.action == action and error.code == spec.code
    assert error.user_message == spec.ru and error.message_for("en") == spec.en
    assert error.vendor_text.startswith(spec.descr)
    assert TEST_SECRET not in str(error) and sim.calls(action) >= 1


def test_error_scenarios_match_the_table() -> None:
    assert set(ERROR_SCENARIOS) == set(ERRORS)
    assert [r for r, s in ERRORS.items() if s.documented] == ["unsupported_method"]


async def test_fail_status_and_unknown_code_still_raise_with_alta_words() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=[{"status": "fail", "descr": "Сервис обновляется", "code": 99}]
        )

    transport = httpx.MockTransport(handler)
    async with AltaClient(
        "https://alta.example/api_v2.php", "l", "s", "p", transport=transport
    ) as c:
        with pytest.raises(AltaError) as caught:
            await c.balance()
    assert caught.value.code == 99 and "Сервис обновляется" in caught.value.user_message
    assert not c.auth_locked


# --- credentials, the minute rule, numbers ------------------------------------------------------


async def test_rejected_secret_locks_the_client_until_reset(sim: AltaSimulator) -> None:
    async with make_client(sim, password="wrong-password") as bad:
        with pytest.raises(AltaAuthError):
            await bad.test_secret()  # documented refusal: a bare {"status": "error"}
        assert bad.auth_locked
        calls = len(sim.requests)
        with pytest.raises(AltaDisabled) as caught:
            await bad.track_list()
        assert isinstance(caught.value, IntegrationDisabled) and len(sim.requests) == calls
        assert "/resume alta" in caught.value.user_message
        bad.reset_auth_lock()
        with pytest.raises(AltaAuthError):
            await bad.balance()
        assert len(sim.requests) == calls + 1


async def test_show_is_paced_once_a_minute_for_the_whole_account(
    sim: AltaSimulator, client: AltaClient
) -> None:
    """Alta's once-a-minute rule is the account's: a show of ANOTHER request within the minute
    is refused too, without a call."""
    first, second = on_the_way(sim), sim.put_on_track([TEST_WAGON])
    await client.show(first)
    with pytest.raises(AltaRateLimited) as caught:
        await client.show(second)
    assert isinstance(caught.value, RateLimited) and 0 < caught.value.retry_after <= 60
    assert sim.calls("show") == 1 and 0 < client.show_wait() <= 60
    await client.track_list()  # other calls are not held back by the show pace
    sim.advance(61)
    assert client.show_wait() == 0
    await client.show(second)
    with pytest.raises(AltaRateLimited):
        await client.show(first)
    assert sim.calls("show") == 2


def answering(status: int, body: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("status", "descr", "error_type"),
    [
        (200, "Недостаточно средств на счете договора sa000000", "AltaNoMoney"),
        (200, "Запрос не найден", "AltaRequestNotFound"),
        (200, "Запрос не найден для логина alta@alta.ru", "AltaRequestNotFound"),
        (200, "Договор sa000000: слишком частые запросы", "AltaRateLimited"),
        (200, "Сервис временно недоступен, договор обслуживается", "AltaError"),
        (403, "Forbidden", "AltaUnavailable"),
    ],
)
async def test_only_authorization_signals_lock_the_client(
    status: int, descr: str, error_type: str
) -> None:
    body = [{"status": "error", "descr": descr}] if status == 200 else {"detail": descr}
    async with AltaClient(
        "https://alta.example/api_v2.php", "l", "s", "p", transport=answering(status, body)
    ) as client:
        with pytest.raises(AltaError) as caught:
            await client.track_list()
        assert type(caught.value).__name__ == error_type
        assert not client.auth_locked


@pytest.mark.parametrize(
    ("status", "descr"),
    [
        (401, "Unauthorized"),
        (200, "Ошибка авторизации"),
        (200, "Неверный секрет"),
        (200, "Неверный логин или пароль"),
        (200, "Неверный номер договора"),
        (200, "Договор не найден"),
    ],
)
async def test_authorization_signals_lock_the_client(status: int, descr: str) -> None:
    async with AltaClient(
        "https://alta.example/api_v2.php",
        "l",
        "s",
        "p",
        transport=answering(status, [{"status": "error", "descr": descr}]),
    ) as client:
        with pytest.raises(AltaAuthError):
            await client.track_list()
        assert client.auth_locked


async def test_wrong_number_is_explained_and_nothing_is_sent(
    sim: AltaSimulator, client: AltaClient
) -> None:
    with pytest.raises(AltaInvalidNumbers) as caught:
        await client.add("54676515 54676516")
    assert caught.value.user_message == "54676516: контрольная цифра должна быть 5"
    assert caught.value.problems[0].expected_check_digit == "5"
    assert sim.requests == []


async def test_reports_wait_for_the_first_hours_and_the_schedule(sim: AltaSimulator) -> None:
    async with make_client(sim) as client:
        sim.plan_route(WAGONS[0], departed_ago=5 * HOUR)
        added = await client.add([WAGONS[0]], times=["09:00", "13:00", "18:00"])
        sim.advance(2 * HOUR)  # 09:00 report came, but within two hours of add: no data
        assert (await client.show(added.hash)).no_data
        sim.advance(3 * HOUR)  # 13:00: the report is queued, show still has the old one
        [queued] = await client.track_list()
        assert queued.status == 1 and not queued.processed
        assert queued.modify_date is not None and queued.modify_date.hour == 13
        assert (await client.show(added.hash)).no_data
        sim.advance(40)  # halfway through "about a minute" of processing
        assert (await client.track_list())[0].status == 2
        sim.advance(30)  # 13:01:10: done
        [done] = await client.track_list()
        assert done.status == 4 and done.processed
        assert done.modify_date_raw == queued.modify_date_raw  # modify_date did not move again
        report = await client.show(added.hash)
        assert not report.no_data


async def test_arrival_at_the_stop_station_removes_the_wagon(
    sim: AltaSimulator, client: AltaClient
) -> None:
    request_hash = sim.put_on_track(
        WAGONS[:1], line="spb_moscow", departed_ago=20 * HOUR, added_ago=20 * HOUR,
        speed_kmh=40.0, stop_station="yes",
    )  # fmt: skip
    sim.advance(12 * HOUR)
    row = (await client.show(request_hash)).by_number()[WAGONS[0]]
    assert row.arrived_at_destination and row.station_name == "Москва-Товарная"
    [listed] = await client.track_list()
    assert not listed.on_track and listed.vagon_count == 0


# --- retries and the wire -------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [500, 503, "bad_json", "html"])
async def test_reads_are_retried(fault: Any, sim: AltaSimulator, client: AltaClient) -> None:
    sim.fail_next("track_list", fault, times=2)
    assert await client.track_list() == []
    assert sim.calls("track_list") == 3 and client.stats.retries["track_list"] == 2


@pytest.mark.parametrize("action", ["add", "cancel_track", "show"])
async def test_writes_and_show_are_not_retried(
    action: str, sim: AltaSimulator, client: AltaClient
) -> None:
    request_hash = on_the_way(sim)
    sim.fail_next(action, 502, times=3)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "add": lambda: client.add(WAGONS),
        "cancel_track": lambda: client.cancel_track(request_hash),
        "show": lambda: client.show(request_hash),
    }
    with pytest.raises(AltaUnavailable):
        await calls[action]()
    assert sim.calls(action) == 1


async def test_reads_are_get_writes_are_post_with_everything_in_the_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"status": "ok", "hash": "h"}])

    url = "https://www.alta.ru/rail_tracking/api_v2.php"
    async with AltaClient(
        url, TEST_LOGIN, TEST_SA, TEST_PASSWORD, transport=httpx.MockTransport(handler)
    ) as client:
        await client.balance()
        await client.add([TEST_WAGON], times=["9:00", "18:00"], days=[0, 6])
    get, post = seen
    assert get.method == "GET" and get.url.path == "/rail_tracking/api_v2.php"
    assert dict(get.url.params) == {
        "action": "balance",
        "login": TEST_LOGIN,
        "sa": TEST_SA,
        "secret": TEST_SECRET,
    }
    assert post.method == "POST" and not post.url.params
    body = {k: v[0] for k, v in parse_qs(post.content.decode()).items()}
    assert body["action"] == "add" and body["secret"] == TEST_SECRET
    assert (body["times"], body["times_per_day"], body["days"]) == ("09:00,18:00", "2", "0,6")
    assert "×" not in post.content.decode() and TEST_PASSWORD not in post.content.decode()


async def test_secret_never_in_logs_or_errors(
    sim: AltaSimulator, caplog: pytest.LogCaptureFixture
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
        sim.fail_next("track_list", 500, times=2)
        await attempt(client.balance())
        await attempt(client.track_list())
        await attempt(client.show("0" * 32))

    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    async with AltaClient(
        "https://alta.example/api_v2.php", TEST_LOGIN, TEST_SA, TEST_PASSWORD,
        transport=httpx.MockTransport(leaky), retries=1, backoff=0.001,
    ) as offline:  # fmt: skip
        await attempt(offline.balance())
        await attempt(offline.add([TEST_WAGON]))

    assert len(errors) == 5 and all(isinstance(e, AltaError) for e in errors)
    assert any("ConnectError" in str(e) for e in errors)
    for error in errors:
        texts = [str(error), repr(error), error.user_message, error.user_message_en]
        assert not any(TEST_SECRET in text or TEST_PASSWORD in text for text in texts), texts
        assert error.__cause__ is None and error.__context__ is None
    assert caplog.records
    for record in caplog.records:
        assert TEST_SECRET not in record.getMessage()


async def test_demo_has_wagons_on_the_way() -> None:
    sim = AltaSimulator(seed_demo=True, clock=lambda: T0)
    await sim.start()
    try:
        async with make_client(sim) as client:
            requests = await client.track_list()
            assert len(requests) >= 5 and {TEST_WAGON_HASH, TEST_CONTAINER_HASH} <= {
                r.hash for r in requests
            }
            reports = []
            for request in requests:
                reports.append(await client.show(request.hash))
                sim.advance(61)  # one show a minute for the account
            stations = {row.station_name for report in reports for row in report.reports}
            assert len(stations) >= 3 and not any(report.no_data for report in reports)
    finally:
        await sim.stop()
