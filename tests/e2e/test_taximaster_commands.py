"""Taxi-Master's reading commands end to end (/order, /taxi_cost, /crews, /tariffs), the order
card followed by a group through the real watcher, bad input, upstream errors and access."""

from __future__ import annotations

import logging

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from storage.users import Role
from tests.e2e.conftest import ADMIN
from tests.e2e.test_taximaster_taxi import button_labels, has_button, has_text, text

SECRET = "tm-secret-never-logged"
VIEWER = 5205
GROUP = -100700900


@pytest.fixture
async def sim():
    simulator = TaxiMasterSimulator(SECRET)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim, caplog):
    caplog.set_level(logging.DEBUG)
    settings = {
        "taximaster_base_url": sim.base_url,
        "taximaster_secret": SECRET,
        "taximaster_poll_seconds": 5,
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        await h.app.scheduler.set_paused("taximaster", True, by=ADMIN)  # cycles by hand
        h.emu.add_user(VIEWER, "Вера")
        await h.app.repos.users.set_role(VIEWER, Role.VIEWER, by=ADMIN)
        yield h
        assert not h.emu.rejected_calls()
    assert SECRET not in caplog.text


async def cycle(h) -> None:
    await h.app.scheduler.runners["taximaster"]._cycle_once()


async def test_order_card_in_a_group_then_the_car_at_the_door_reaches_it(harness, sim):
    h = harness
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP, has_text("подключил"))
    order_id = sim.place_order("Железнодорожный вокзал", "улица Малышева, 51")
    sim.advance_until(order_id, "driver_assigned")

    card = await h.say(ADMIN, f"/order {order_id}", chat_id=GROUP, expect=has_text("Заказ №"))
    body = text(card)
    assert "машина назначена" in body and "Машина:" in body and "Водитель:" in body
    assert "🗺" in body and "yandex.ru/maps" in str(card.get("entities"))  # last position
    assert any(m.get("location") for m in h.emu.messages(GROUP))  # ... and as a map point
    assert "🔄 Обновить" in button_labels(card)

    h.press(ADMIN, card, "Обновить")
    await h.emu.wait_for_event(
        lambda c: (
            c.method == "answerCallbackQuery"
            and c.params.get("text") in ("Обновлено", "Без изменений")
        ),
        start=0,
    )

    # The group now watches the order: the car at the door posts the card anew (it rings),
    # and only that: the old card is not edited to say it again.
    sim.advance_until(order_id, "car_at_place")
    await cycle(h)
    at_door = await h.emu.wait_for_message(
        GROUP, has_text("Такси на месте"), after_message_id=card["message_id"]
    )
    assert at_door["message_id"] != card["message_id"]
    assert len([m for m in h.emu.messages(GROUP) if "Такси на месте" in text(m)]) == 1
    # An order the chat did not ask about is not announced there.
    other = sim.place_order("ТЦ Гринвич", "Ельцин Центр")
    sim.advance_until(other, "driver_assigned")
    calls = sim.calls_of("get_order_state")
    await cycle(h)
    assert sim.calls_of("get_order_state") == calls + 1  # only the watched live order
    assert not any(f"№{other}" in text(m) for m in h.emu.messages(GROUP))


async def test_order_bad_id_unknown_id_and_a_finished_order(harness, sim):
    h = harness
    before = len(sim.requests)
    reply = await h.say(ADMIN, "/order 12ab")
    assert "Не понял номер заказа «12ab»" in text(reply)
    assert "/order" in text(await h.say(ADMIN, "/order"))
    assert len(sim.requests) == before  # no call for bad input
    reply = await h.say(ADMIN, "/order 987654")
    assert "Заказ не найден" in text(reply)
    done = sim.place_order("ТЦ Гринвич")
    sim.abort_order(done)
    reply = await h.say(ADMIN, f"/order {done}", expect=has_text("Заказ №"))
    assert "заказ отменён" in text(reply) and "больше не слежу" in text(reply)
    assert await h.app.repos.snapshots.get("taximaster") == {}


async def test_taxi_cost_prices_a_trip_and_refuses_a_bad_route_without_a_call(harness, sim):
    h = harness
    reply = await h.say(ADMIN, "/taxi_cost улица Малышева, 51 — Аэропорт Кольцово")
    body = text(reply)
    assert "Цена:" in body and "км по городу" in body and "км за городом" in body
    assert sim.calls_of("analyze_route") == 1 and sim.calls_of("calc_order_cost") == 1
    before = len(sim.requests)
    reply = await h.say(ADMIN, "/taxi_cost просто вокзал")
    assert "Не понял маршрут" in text(reply)
    assert len(sim.requests) == before
    reply = await h.say(ADMIN, "/taxi_cost Нигдешняя улица — ТЦ Гринвич")
    assert "не распознал адрес подачи" in text(reply)


async def test_crews_with_a_map_point_on_request_and_tariffs(harness, sim):
    h = harness
    reply = await h.say(ADMIN, "/crews", expect=has_button("📍"))
    assert "Экипажи на линии: 12" in text(reply) and "Свободны" in text(reply)
    h.press(ADMIN, reply, "📍")
    await h.emu.wait_for_message(
        ADMIN, lambda m: bool(m.get("location")), after_message_id=reply["message_id"]
    )
    tariffs = await h.say(ADMIN, "/tariffs")
    body = text(tariffs)
    assert "Тарифы" in body and "⭐" in body and "Услуги" in body and "Скидки" in body


async def test_upstream_errors_are_answered_politely(harness, sim):
    h = harness
    sim.set_api_enabled(False)
    reply = await h.say(ADMIN, "/crews")
    assert "API выключено" in text(reply) and "Traceback" not in text(reply)
    sim.set_api_enabled(True)
    sim.fail_next("get_tariffs_list", 502, times=3)
    reply = await h.say(ADMIN, "/tariffs", timeout=10)
    assert "недоступен" in text(reply)


async def test_viewer_reads_but_does_not_order(harness, sim):
    h = harness
    reply = await h.say(VIEWER, "/taxi")
    assert "диспетчер" in text(reply).lower()
    assert sim.calls_of("get_crew_groups_list") == 0
    reply = await h.say(VIEWER, "/tariffs")
    assert "Тарифы" in text(reply)


async def test_taximaster_off_answers_not_configured(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN]) as h:
        for command in ("/taxi", "/order 1", "/crews", "/tariffs", "/taxi_cost а — б"):
            reply = await h.say(ADMIN, command)
            assert "Taxi-Master не настроена" in text(reply), command


async def test_a_rejected_secret_locks_calls_until_resume(tmp_path):
    sim = TaxiMasterSimulator("the-right-secret")
    await sim.start()
    settings = {"taximaster_base_url": sim.base_url, "taximaster_secret": SECRET}
    try:
        async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
            reply = await h.say(ADMIN, "/crews")
            assert "ключ" in text(reply).lower()
            client = h.app.services["taximaster"].client
            assert client.auth_locked
            calls = len(sim.requests)
            reply = await h.say(ADMIN, "/tariffs")
            assert len(sim.requests) == calls  # locked: no request at all
            status = await h.say(ADMIN, "/status")
            assert "Taxi-Master" in text(status) and "/resume taximaster" in text(status)
            sim.secret = SECRET  # the admin fixed it
            reply = await h.say(ADMIN, "/resume taximaster", expect=has_text("снова разрешены"))
            assert not client.auth_locked
            reply = await h.say(ADMIN, "/tariffs", expect=has_text("Тарифы"))
            assert "Тарифы" in text(reply)
    finally:
        await sim.stop()


async def test_a_refresh_button_edits_only_the_card_it_belongs_to(harness, sim):
    """«🔄 Обновить» of order A sent on order B's card (a stale or modified client) is answered
    "button expired": B's card is not turned into A's."""
    h = harness
    first = sim.place_order("Железнодорожный вокзал", "улица Малышева, 51")
    second = sim.place_order("ТЦ Гринвич", "Ельцин Центр")
    card_a = await h.say(ADMIN, f"/order {first}", expect=has_text(f"№{first}"))
    card_b = await h.say(ADMIN, f"/order {second}", expect=has_text(f"№{second}"))
    refresh_a = h.button_data(card_a, "Обновить")
    start = len(h.emu.calls)
    h.emu.client_sends_callback(ADMIN, card_b["message_id"], refresh_a)
    answer = await h.emu.wait_for_event(lambda c: c.method == "answerCallbackQuery", start=start)
    assert "не действует" in answer.params.get("text", "")
    now_b = next(m for m in h.emu.messages(ADMIN) if m["message_id"] == card_b["message_id"])
    assert f"№{second}" in text(now_b) and f"№{first}" not in text(now_b)
    assert not [c for c in h.emu.calls[start:] if c.method == "editMessageText"]
