"""Alta «Поиск вагонов» end to end: bot + Telegram emulator + Alta simulator over loopback.

The watcher is paused (driven by hand with one cycle where a test needs it), so Alta calls and
alerts happen only when the test says so.
"""

import contextlib
from datetime import timedelta

import pytest

from integrations.alta.client import make_secret
from integrations.alta.functions import TEST_LOGIN, TEST_PASSWORD, TEST_SA
from integrations.alta.watcher import initial_snapshot
from sandbox.harness import BotHarness
from sandbox.simulators.alta.simulator import AltaSimulator
from storage.db import utcnow
from tests.e2e.conftest import ADMIN

GROUP = -100700800
COLLEAGUE = 7007
WAGON_A, WAGON_B = "52345675", "52345683"
CONTAINER = "TGHU1234567"


def text(message: dict) -> str:
    return message.get("text", "")


def has_text(fragment: str):
    return lambda message: fragment in text(message)


def has_button(fragment: str):
    return lambda message: any(fragment in label for label in button_labels(message))


def button_labels(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def api_calls(sim: AltaSimulator) -> list[str]:
    return [action for action, _, _ in sim.requests]


@pytest.fixture
async def sim():
    simulator = AltaSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@contextlib.asynccontextmanager
async def alta_bot(tmp_path, sim: AltaSimulator, **settings: object):
    """The bot wired to ``sim``, the Alta watcher paused (cycles are run by hand); on the way
    out, no Bot API call may have been refused."""
    values = {
        "alta_login": TEST_LOGIN,
        "alta_sa": TEST_SA,
        "alta_password": TEST_PASSWORD,
        "alta_base_url": sim.base_url,
        **settings,
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=values) as h:
        await h.app.scheduler.set_paused("alta", True, by=ADMIN)
        sim.requests.clear()  # whatever the first poll asked before the pause
        yield h
        rejected = h.emu.rejected_calls()
        assert not rejected, f"the Bot API rejected requests: {rejected}"


@pytest.fixture
async def harness(tmp_path, sim):
    async with alta_bot(tmp_path, sim, alta_times="09:00,18:00") as h:
        yield h


async def edited(h: BotHarness, fragment: str, start: int, timeout: float = 10) -> str:
    """The text of the first edit since call ``start`` that contains ``fragment``."""
    call = await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and fragment in c.params["text"],
        start=start,
        timeout=timeout,
    )
    return str(call.params["text"])


async def test_wrong_numbers_are_explained_and_nothing_is_sent(harness, sim):
    reply = await harness.say(ADMIN, f"/wagon add {WAGON_A} 54676516 ABCD1234567")
    assert "54676516: контрольная цифра должна быть 5" in text(reply)
    assert "ничего не отправлено" in text(reply)
    card = await harness.say(ADMIN, "/wagon 54676516")
    assert "контрольная цифра должна быть 5" in text(card)
    assert api_calls(sim) == []


async def test_wagon_add_summary_settings_and_a_double_tap_adds_once(harness, sim):
    h = harness
    summary = await h.say(ADMIN, f"/wagon add {WAGON_A}, {WAGON_B} {CONTAINER}")
    assert "Поставить на слежение" in text(summary)
    assert f"Вагоны (2): {WAGON_A}, {WAGON_B}" in text(summary)
    assert f"Контейнеры (1): {CONTAINER}" in text(summary)
    assert "Россия" in text(summary) and "ежедневно" in text(summary)
    assert "09:00, 18:00" in text(summary)  # ALTA_TIMES
    assert "✅ Поставить" in button_labels(summary) and "✖️ Отмена" in button_labels(summary)
    assert api_calls(sim) == ["track_list"]  # what is on tracking already: nothing paid

    start = len(h.emu.calls)
    h.press(ADMIN, summary, "🌍")
    await edited(h, "СНГ", start)
    h.press(ADMIN, summary, "📅")
    changed = await edited(h, "за рейс", start)
    assert "СНГ" in changed
    h.press(ADMIN, summary, "🏁")
    await edited(h, "вручную", start)

    h.press(ADMIN, summary, "Поставить")
    h.press(ADMIN, summary, "Поставить")  # a double tap: one add
    done = await edited(h, "На слежении в Альте", start)
    assert WAGON_A in done and CONTAINER in done
    await h.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery" and "уже выполнено" in str(c.params),
        start=start,
    )
    assert api_calls(sim).count("add") == 1
    _, method, params = next(r for r in sim.requests if r[0] == "add")
    assert method == "POST"
    assert params["track_state"] == "sng" and params["state"] == "22"
    assert params["track_type"] == "3" and params["stop_station"] == "no"
    assert params["times"] == "09:00,18:00" and params["times_per_day"] == "2"
    wagons_hash, containers_hash = sim.hash_of(WAGON_A), sim.hash_of(CONTAINER)
    assert wagons_hash != containers_hash
    stored = await h.app.repos.snapshots.get("alta")
    assert stored[WAGON_A]["hash"] == wagons_hash and stored[CONTAINER]["hash"] == containers_hash
    filters = {s.filter for s in await h.app.repos.subscriptions.for_chat(ADMIN)}
    assert {f"wagon:{WAGON_A}", f"wagon:{WAGON_B}", f"container:{CONTAINER}"} <= filters
    actions = [entry.action for entry in await h.app.repos.audit.latest(10)]
    assert actions.count("alta.add") == 1


async def test_wagon_add_asks_for_numbers_in_a_group_under_privacy_mode(harness, sim):
    h = harness
    h.emu.add_user(COLLEAGUE, "Ольга")
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP, has_text("подключил"))
    ask = await h.say(ADMIN, "/wagon add", chat_id=GROUP)
    assert "Пришлите номера" in text(ask)
    h.emu.user_sends(COLLEAGUE, WAGON_A, chat_id=GROUP)  # not a reply to the bot: not seen
    bad = await h.say(ADMIN, "54676516", chat_id=GROUP)
    assert "контрольная цифра должна быть 5" in text(bad)
    await h.say(ADMIN, WAGON_A, chat_id=GROUP)
    summary = await h.emu.wait_for_message(GROUP, has_button("Поставить"))
    assert f"Вагоны (1): {WAGON_A}" in text(summary)
    start = len(h.emu.calls)
    h.press(ADMIN, summary, "Поставить")
    await edited(h, "На слежении в Альте", start)
    subs = await h.app.repos.subscriptions.for_chat(GROUP)
    assert ("all", f"wagon:{WAGON_A}") in [(s.selector, s.filter) for s in subs]


async def test_a_move_reaches_the_watching_group_through_the_watcher(harness, sim):
    h = harness
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP, has_text("подключил"))
    sim.plan_route(WAGON_A, line="moscow_ekaterinburg", departed_ago=timedelta(hours=10))
    summary = await h.say(ADMIN, f"/wagon add {WAGON_A}", chat_id=GROUP)
    h.press(ADMIN, summary, "Поставить")
    await h.emu.wait_for_message(GROUP, has_text("На слежении в Альте"))

    runner = h.app.scheduler.runners["alta"]
    request_hash = sim.hash_of(WAGON_A)
    sim.advance(timedelta(hours=3))  # past Alta's first hours without data
    sim.report_now(request_hash)
    await runner._cycle_once()
    alert = await h.emu.wait_for_message(GROUP, has_text("Вагон в пути"), timeout=10)
    report = sim.request(request_hash).report[0]
    assert WAGON_A in text(alert) and report["station_name"] in text(alert)
    assert "Принял" in str(alert.get("reply_markup"))
    assert api_calls(sim).count("show") == 1  # one show for the one changed request
    await runner._cycle_once()  # nothing changed since: track_list only, nothing new said
    assert api_calls(sim).count("show") == 1
    assert len([m for m in h.emu.messages(GROUP) if "Вагон в пути" in text(m)]) == 1


async def test_wagon_card_by_number_and_by_hash(harness, sim):
    h = harness
    request_hash = sim.put_on_track(
        [WAGON_A, WAGON_B],
        line="novorossiysk_moscow",
        departed_ago=timedelta(hours=20),
        added_ago=timedelta(hours=30),
        report_now=True,
    )
    card = await h.say(ADMIN, f"/wagon {WAGON_A}")
    report = sim.request(request_hash).report[0]
    assert f"Вагон {WAGON_A}" in text(card)
    assert f"{report['station_name']} ({report['station']})" in text(card)
    assert "Операция" in text(card) and "Назначение" in text(card) and "Осталось" in text(card)
    assert "Отчёт:" in text(card) and request_hash in text(card)
    by_hash = await h.say(ADMIN, f"/wagon {request_hash}")  # within the minute: from memory
    assert WAGON_A in text(by_hash) and WAGON_B in text(by_hash)
    assert api_calls(sim).count("show") == 1
    unknown = await h.say(ADMIN, "/wagon 24680134")
    assert "нет на слежении" in text(unknown)


async def test_wagons_lists_ten_requests_a_page(harness, sim):
    h = harness
    numbers = ["24680134", "60123452", "60123460", "52345691"]
    for n in range(12):
        sim.put_on_track([numbers[n % 4]], comment=f"Партия {n:02d}")
    first = await h.say(ADMIN, "/wagons")
    assert "запросов 12" in text(first) and "стр. 1/2" in text(first)
    assert text(first).count("Партия") == 10
    start = len(h.emu.calls)
    h.press(ADMIN, first, "▶")
    second = await edited(h, "стр. 2/2", start)
    assert second.count("Партия") == 2


async def test_wagon_cancel_asks_then_takes_one_number_off(harness, sim):
    h = harness
    request_hash = sim.put_on_track([WAGON_A, WAGON_B], added_ago=timedelta(hours=1))
    question = await h.say(ADMIN, f"/wagon cancel {WAGON_B}")
    assert f"Снять со слежения {WAGON_B}" in text(question)
    assert api_calls(sim).count("cancel_track") == 0
    start = len(h.emu.calls)
    h.press(ADMIN, question, "Снять")
    h.press(ADMIN, question, "Снять")
    await edited(h, "снят со слежения", start)
    assert api_calls(sim).count("cancel_track") == 1
    assert sim.request(request_hash).tracked == [WAGON_A]

    whole = await h.say(ADMIN, f"/wagon cancel {request_hash}")
    assert "весь запрос" in text(whole) and WAGON_A in text(whole)
    h.press(ADMIN, whole, "Отмена")
    await edited(h, "Отменено", start)
    assert api_calls(sim).count("cancel_track") == 1


async def test_viewer_reads_but_may_not_add_or_cancel(harness, sim):
    h = harness
    viewer = 5005
    h.emu.add_user(viewer, "Вера")
    await h.say(ADMIN, f"/grant {viewer} viewer", expect=has_text("теперь"))
    refused = await h.say(viewer, f"/wagon add {WAGON_A}")
    assert "«диспетчер»" in text(refused)
    refused = await h.say(viewer, f"/wagon cancel {WAGON_A}")
    assert "«диспетчер»" in text(refused)
    assert "нет на слежении" in text(await h.say(viewer, f"/wagon {WAGON_A}"))
    assert "add" not in api_calls(sim)


async def test_upstream_errors_are_answered_politely(harness, sim):
    h = harness
    sim.fail_next("track_list", 500, times=3)
    reply = await h.say(ADMIN, "/wagons", timeout=10)
    assert "недоступен" in text(reply)
    sim.set_balance(0)
    summary = await h.say(ADMIN, f"/wagon add {WAGON_A}")
    h.press(ADMIN, summary, "📅")  # per trip: paid at once
    start = len(h.emu.calls)
    await edited(h, "за рейс", start - 1 if start else 0)
    h.press(ADMIN, summary, "Поставить")
    refused = await h.emu.wait_for_event(
        lambda c: (
            c.method == "editMessageText"
            and "Поставить" not in c.params["text"]
            and "за рейс" not in c.params["text"]
            and "⏳" not in c.params["text"]  # «⏳ Выполняю…» comes first
        ),
        start=start,
    )
    assert "баланс" in refused.params["text"].lower() or "средств" in refused.params["text"]
    assert await h.app.repos.snapshots.get("alta") == {}


async def test_balance_shows_alta(harness, sim):
    reply = await harness.say(ADMIN, "/balance")
    assert "Баланс Альты" in text(reply) and "10 000,00 ₽" in text(reply).replace("\u00a0", " ")


async def test_alta_off_answers_not_configured(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN]) as h:
        for command in ("/wagon 54676515", "/wagons", "/wagon add 54676515"):
            reply = await h.say(ADMIN, command)
            assert "Alta не настроена" in text(reply), command


async def test_status_pause_and_resume_include_alta_and_a_rejected_password_locks(tmp_path):
    sim = AltaSimulator()
    await sim.start()
    settings = {
        "alta_login": TEST_LOGIN,
        "alta_sa": TEST_SA,
        "alta_password": "not-the-password",
        "alta_base_url": sim.base_url,
    }
    try:
        async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
            paused = await h.say(ADMIN, "/pause alta")
            assert "приостановлен" in text(paused)
            runner = h.app.scheduler.runners["alta"]
            await runner._cycle_once()
            client = h.app.services["alta"].client
            assert client.auth_locked
            calls = len(sim.requests)
            await runner._cycle_once()
            assert len(sim.requests) == calls  # locked: no request at all
            status = await h.say(ADMIN, "/status")
            assert "Alta" in text(status) and "/resume alta" in text(status)
            refused = await h.say(ADMIN, "/wagons")
            assert "/resume alta" in text(refused)

            # The admin set this technical password in Alta's cabinet.
            sim.secret = make_secret(TEST_SA, "not-the-password")
            resumed = await h.say(ADMIN, "/resume alta")
            assert "снова разрешены" in text(resumed)
            assert not client.auth_locked
            await runner._cycle_once()
            assert len(sim.requests) > calls
    finally:
        await sim.stop()


async def test_logibot_check_proves_the_alta_credentials(tmp_path):
    from sandbox.telegram_emulator import TelegramEmulator
    from tests.e2e.test_check import TOKEN, run_check

    async with TelegramEmulator(token=TOKEN, limits=None) as emu:
        sim = AltaSimulator()
        await sim.start()
        try:
            good = await run_check(
                tmp_path,
                BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=emu.base_url,
                ALTA_LOGIN=TEST_LOGIN,
                ALTA_SA=TEST_SA,
                ALTA_PASSWORD=TEST_PASSWORD,
                ALTA_BASE_URL=sim.base_url,
            )
            bad = await run_check(
                tmp_path,
                BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=emu.base_url,
                ALTA_LOGIN=TEST_LOGIN,
                ALTA_SA=TEST_SA,
                ALTA_PASSWORD="wrong-alta-password",
                ALTA_BASE_URL=sim.base_url,
            )
        finally:
            await sim.stop()
    out = good.stdout + good.stderr
    assert good.returncode == 0, out
    assert "[ok  ] alta" in out and "credentials accepted" in out and TEST_PASSWORD not in out
    assert bad.returncode == 1 and "[FAIL] alta" in bad.stdout
    assert "wrong-alta-password" not in bad.stdout + bad.stderr


async def outbox_kinds(h: BotHarness) -> list[str]:
    return [row.kind for row in await h.app.repos.db.fetchall("SELECT kind FROM outbox")]


async def test_errors_fail_the_cycle_are_told_to_admins_once_and_never_lock(harness, sim):
    """«Недостаточно средств на счете договора …» is no login problem: the client keeps
    calling, the cycles fail with their cursor kept, and the admins hear it once."""
    h = harness
    runner = h.app.scheduler.runners["alta"]
    await runner._cycle_once()
    cursor = await h.app.repos.alert_state.cursor("alta")
    sim.force_error("track_list", "no_money", times=5, detail="договор sa000000")
    for _ in range(5):
        await runner._cycle_once()
    client = h.app.services["alta"].client
    assert not client.auth_locked and sim.calls("track_list") == 6
    assert await h.app.repos.alert_state.cursor("alta") == cursor
    assert (await outbox_kinds(h)).count("system.integration_down") == 1
    down = await h.emu.wait_for_message(ADMIN, has_text("Интеграция недоступна"))
    assert "не хватает денег" in text(down)
    await runner._cycle_once()
    assert (await outbox_kinds(h)).count("system.integration_recovered") == 1


async def test_report_rows_without_a_number_are_shown_in_status(harness, sim):
    h = harness
    sim.world.show_number_key = None  # the report names no number at all
    request_hash = sim.put_on_track(
        [WAGON_A, WAGON_B], departed_ago=timedelta(hours=10), added_ago=timedelta(hours=5),
        report_now=True,
    )  # fmt: skip
    for number in (WAGON_A, WAGON_B):
        await h.app.repos.snapshots.put(
            "alta", number, initial_snapshot(number, request_hash, utcnow())
        )
    await h.app.scheduler.runners["alta"]._cycle_once()
    status = await h.say(ADMIN, "/status")
    assert "Строки отчёта без номера" in text(status) and request_hash in text(status)
    told = await h.emu.wait_for_message(ADMIN, has_text("Строки отчёта без номера"))
    assert request_hash in text(told)


async def test_numbers_with_a_wrong_digit_are_asked_for_again_in_a_group(harness, sim):
    h = harness
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP, has_text("подключил"))
    bad = await h.say(ADMIN, "/wagon add 54676516", chat_id=GROUP)
    assert "пришлите номера ещё раз" in text(bad)
    await h.say(ADMIN, WAGON_A, chat_id=GROUP)  # reaches the bot as a reply (privacy mode)
    summary = await h.emu.wait_for_message(GROUP, has_button("Поставить"))
    assert WAGON_A in text(summary)
