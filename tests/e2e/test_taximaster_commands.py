"""Taxi-Master's reading commands end to end (/order, /taxi_cost, /crews, /tariffs), the order
card followed by a group through the real watcher, bad input, upstream errors and access."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.taximaster.demo import demo as taxi_demo
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from storage.users import Role
from tests.e2e.conftest import ADMIN, eventually
from tests.e2e.test_taximaster_taxi import button_labels, has_button, has_text, text

SECRET = "tm-secret-never-logged"
HOUR = timedelta(hours=1)
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
    """One watcher cycle now, every order due (the simulator's time runs ahead of the wall
    clock the watcher's schedule keeps)."""
    h.app.services["taximaster"].watcher.schedule.all_due()
    await h.app.scheduler.runners["taximaster"]._cycle_once()


async def watch_here(h: BotHarness, card: dict, user_id: int = ADMIN) -> None:
    """An admin presses «👁 Следить здесь» under an order's card (an order nobody watched)."""
    start = len(h.emu.calls)
    h.press(user_id, card, "Следить здесь")
    await h.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery" and "Слежу" in c.params.get("text", ""),
        start=start,
    )


async def open_and_watch(h: BotHarness, order_id: int, chat_id: int | None = None) -> dict:
    """An admin opens an order the bot does not know and puts it on watch in the chat."""
    card = await h.say(ADMIN, f"/order {order_id}", chat_id=chat_id, expect=has_text("Заказ №"))
    await watch_here(h, card)
    return card


async def test_order_card_in_a_group_then_the_car_at_the_door_reaches_it(harness, sim):
    h = harness
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP, has_text("подключил"))
    order_id = sim.place_order("Железнодорожный вокзал", "улица Малышева, 51")
    sim.advance_until(order_id, "driver_assigned")

    card = await h.say(ADMIN, f"/order {order_id}", chat_id=GROUP, expect=has_text("Заказ №"))
    body = text(card)
    assert "машина назначена" in body and "Экипаж:" in body and "Водитель:" in body
    assert "🗺" in body and "yandex.ru/maps" in str(card.get("entities"))  # last position
    assert any(m.get("location") for m in h.emu.messages(GROUP))  # ... and as a map point
    assert "🔄 Обновить" in button_labels(card)
    # An order the bot did not make: an admin sees it once; nothing goes on the poll unasked.
    assert "👁 Следить здесь" in button_labels(card)
    assert str(order_id) not in await h.app.repos.snapshots.get("taximaster")

    h.press(ADMIN, card, "Обновить")
    await h.emu.wait_for_event(
        lambda c: (
            c.method == "answerCallbackQuery"
            and c.params.get("text") in ("Обновлено", "Без изменений")
        ),
        start=0,
    )
    await watch_here(h, card)
    entries = await h.app.repos.audit.latest(5)
    assert any(e.action == "taximaster.order.watch" for e in entries)

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
    spaced = sim.place_order("ТЦ Гринвич", phone="89120000009")
    grouped = f"{spaced // 1000}\u00a0{spaced % 1000:03d}"  # "5 001", as copied from a table
    reply = await h.say(ADMIN, f"/order {grouped}", expect=has_text("Заказ №"))
    assert f"№{spaced}" in text(reply)
    done = sim.place_order("ТЦ Гринвич")
    sim.abort_order(done)
    reply = await h.say(ADMIN, f"/order {done}", expect=has_text("Заказ №"))
    assert "заказ отменён" in text(reply) and "больше не слежу" in text(reply)
    assert str(done) not in await h.app.repos.snapshots.get("taximaster")  # ended: not watched


async def test_taxi_cost_prices_a_trip_and_refuses_a_bad_route_without_a_call(harness, sim):
    h = harness
    reply = await h.say(ADMIN, "/taxi_cost улица Малышева, 51 — Аэропорт Кольцово")
    body = text(reply).replace("\u00a0", " ")
    assert "Цена:" in body and "км по городу" in body and "км за городом" in body
    # Money as on every screen (bot.money): «1 234,56 ₽», the boarding line included.
    assert re.search(r"Цена: \d{1,3}(?: \d{3})*,\d\d ₽", body), body
    assert "Посадка: 99,00 ₽" in body
    assert sim.calls_of("analyze_route") == 1 and sim.calls_of("calc_order_cost") == 1
    before = len(sim.requests)
    reply = await h.say(ADMIN, "/taxi_cost просто вокзал")
    assert "Не понял маршрут" in text(reply)
    assert len(sim.requests) == before
    reply = await h.say(ADMIN, "/taxi_cost Нигдешняя улица — ТЦ Гринвич")
    assert "«Нигдешняя улица»: такого адреса Такси-Мастер не знает" in text(reply)


@pytest.mark.parametrize(
    "typed",
    [
        "Малышева 51 - вокзал",  # a hyphen, a short street, a place by one word
        "ул. Малышева, д. 51 — вокзал",
        "улица Малышева 51−вокзал",  # a minus sign without spaces
        "Малышева 51 -> Железнодорожный вокзал",
    ],
)
async def test_taxi_cost_reads_addresses_as_the_wizard_does(harness, sim, typed):
    reply = await harness.say(ADMIN, f"/taxi_cost {typed}")
    body = text(reply)
    assert "улица Малышева, 51 → Железнодорожный вокзал" in body and "Цена:" in body, body
    assert [r.params["source"] for r in sim.requests if r.name == "analyze_route"] == [
        "улица Малышева, 51"
    ]


async def test_taxi_cost_says_which_part_it_could_not_read(harness, sim):
    h = harness
    reply = await h.say(ADMIN, "/taxi_cost Малышева 999 - вокзал")
    assert "дома 999 на «улица Малышева» Такси-Мастер не знает" in text(reply)
    reply = await h.say(ADMIN, "/taxi_cost Малышева 51 - вокз")
    assert "«Автовокзал Южный», «Железнодорожный вокзал»" in text(reply)
    assert "Напишите точнее" in text(reply)
    assert sim.calls_of("analyze_route") == 0


async def test_crews_with_a_map_point_on_request_and_tariffs(harness, sim):
    h = harness
    reply = await h.say(ADMIN, "/crews", expect=has_button("📍"))
    body = text(reply)
    assert "Экипажи на линии: 12" in body and "Свободны" in body and "(стр. 1 из 2)" in body
    # Each crew by its one identity: call sign · car (make, colour, plate) · driver.
    assert "• 011 · Kia Rio, белый, А123ВС196 · Иванов Сергей Петрович" in body
    h.press(ADMIN, reply, "📍 011")
    point = await h.emu.wait_for_message(
        ADMIN, lambda m: bool(m.get("location")), after_message_id=reply["message_id"]
    )
    caption = await h.emu.wait_for_message(
        ADMIN, has_text("Экипаж 011 · Kia Rio"), after_message_id=point["message_id"]
    )
    assert caption["reply_to_message"]["message_id"] == point["message_id"]
    h.press(ADMIN, reply, "▶️")
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "(стр. 2 из 2)" in c.params["text"], start=0
    )
    tariffs = await h.say(ADMIN, "/tariffs")
    body = text(tariffs).replace("\u00a0", " ")
    assert "Детское кресло: 100,00 ₽" in body
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


async def test_a_switched_off_tariff_is_never_priced_with_nor_the_default(tmp_path):
    """A real server's wire (public shape, Windows-1251): the first tariff is switched off."""
    sim = TaxiMasterSimulator(SECRET, wire="public", charset="windows-1251")
    sim.deactivate_tariff(1)  # «Эконом»
    await sim.start()
    settings = {"taximaster_base_url": sim.base_url, "taximaster_secret": SECRET}
    try:
        async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
            await h.app.scheduler.set_paused("taximaster", True, by=ADMIN)
            reply = await h.say(ADMIN, "/taxi_cost улица Малышева, 51 — Аэропорт Кольцово")
            assert "тариф «Комфорт»" in text(reply) and "Эконом" not in text(reply)
            priced = [r for r in sim.requests if r.name == "calc_order_cost"]
            assert [r.params["tariff_id"] for r in priced] == ["2"]
            tariffs = text(await h.say(ADMIN, "/tariffs"))
            assert "Эконом (№1) — выключен" in tariffs and "Комфорт (№2) ⭐" in tariffs
    finally:
        await sim.stop()


async def test_orders_lists_what_the_bot_knows_with_number_route_crew_and_state(tmp_path):
    """A newer server (public wire) tells an order's phone and addresses in get_order_state:
    orders a chat looked up are listed with their route and passenger too."""
    sim = TaxiMasterSimulator(SECRET, wire="public")
    await sim.start()
    settings = {"taximaster_base_url": sim.base_url, "taximaster_secret": SECRET}
    try:
        async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
            await h.app.scheduler.set_paused("taximaster", True, by=ADMIN)
            await list_orders(h, sim)
    finally:
        await sim.stop()


async def list_orders(h: BotHarness, sim: TaxiMasterSimulator) -> None:
    assert "нет" in text(await h.say(ADMIN, "/orders"))
    riding = sim.place_order("Железнодорожный вокзал", "улица Малышева, 51", phone="89125550001")
    waiting = sim.place_order("ТЦ Гринвич", phone="89125550002", source_time=sim.now() + HOUR)
    ending = sim.place_order("Ельцин Центр", "Площадь 1905 года", phone="89125550003")
    sim.advance_until(riding, "client_inside", step=timedelta(seconds=20))
    for order_id in (riding, waiting, ending):
        await open_and_watch(h, order_id)

    async def all_watched() -> bool:
        return len(await h.app.repos.snapshots.get("taximaster")) == 3

    await eventually(all_watched)
    sim.advance_until(ending, "finished", step=timedelta(minutes=1))
    await cycle(h)
    lost = await h.app.repos.taximaster.sending(
        order_key="k",
        chat_id=ADMIN,
        thread_id=0,
        user_id=ADMIN,
        locale="ru",
        payload={
            "phone": "89125550004",
            "phone_shown": "+7 912 555-00-04",
            "source": "улица Вайнера, 9",
            "dest": "",
            "source_time": sim.now().isoformat(),
        },
    )
    assert lost.state == "sending"
    before = len(sim.requests)
    listed = await h.say(ADMIN, "/orders", expect=has_text("Заказы такси"))
    assert len(sim.requests) == before  # the list is what the watcher knows: no call
    body = text(listed).replace("\u00a0", " ")
    live, done, unknown = (
        body.index("Идут сейчас (2)"),
        body.index("Завершены сегодня (1)"),
        body.index("Неизвестно, созданы ли (1)"),
    )
    assert live < body.index(f"№{waiting}") < done and live < body.index(f"№{riding}") < done
    assert done < body.index(f"№{ending}") < unknown < body.index("+7 912 555-00-04")
    assert "Железнодорожный вокзал → улица Малышева, 51" in body
    assert "📞 +7 912 555-00-01" in body and "пассажир в машине" in body
    assert "поездка завершена" in body
    crew = re.search(rf"№{riding} .*\n.*\n\s+🚖 Экипаж: (\d{{3}} · .+ · .+)", body)
    assert crew is not None, body
    h.press(ADMIN, listed, f"🚕 {riding}")
    card = await h.emu.wait_for_message(
        ADMIN, has_text(f"Заказ №{riding}"), after_message_id=listed["message_id"]
    )
    assert crew.group(1) in text(card)  # the same crew, named the same way
    assert "Пассажир: +7 912 555-00-01" in text(card)


async def test_the_demos_orders_are_listed(tmp_path):
    backend = await taxi_demo(lambda: datetime.now(UTC))
    try:
        async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=backend.settings) as h:
            await h.app.scheduler.set_paused("taximaster", True, by=ADMIN)
            assert backend.seed is not None
            await backend.seed(h.app.repos)
            body = text(await h.say(ADMIN, "/orders", expect=has_text("Заказы такси")))
            assert "Идут сейчас (3)" in body and body.count("📞 +7 912 555-00-0") == 3
    finally:
        await backend.stop()


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
