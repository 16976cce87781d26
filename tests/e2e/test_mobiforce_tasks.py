"""Mobiforce commands end to end: bot + Telegram emulator + Mobiforce simulator over loopback."""

import logging
from datetime import timedelta

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator
from storage.db import utcnow
from tests.e2e.conftest import ADMIN

KEY = "mobiforce-key-never-logged"
VIEWER = 5005
GROUP = -100700800
COLLEAGUE = 6006


def text(message: dict) -> str:
    return message.get("text", "")


def has_text(fragment: str):
    return lambda message: fragment in text(message)


def has_button(fragment: str):
    return lambda message: any(fragment in label for label in button_labels(message))


def button_labels(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


@pytest.fixture
async def sim():
    simulator = MobiforceSimulator(KEY, auto_employees=False)
    await simulator.start()
    kind = simulator.add_field("Тип выезда", "5", ["Плановый", "Срочный"])
    photo = simulator.add_field("Фото накладной", "6")
    signed = simulator.add_field("Подпись получена", "4")
    simulator.add_template(
        "Доставка груза",
        visit_minutes=120,
        props=[(kind, True)],
        checklist=[(photo, True), (signed, False)],
    )
    simulator.add_employee("Петров Иван", "79161234501")
    simulator.add_employee("Оператор Ольга", "79035550102", mobile=False)
    simulator.add_contractor(
        "ООО «Ромашка»", "г Москва, Ленинский пр-кт, д 21", phone="74951234501"
    )
    simulator.add_contractor("ООО <Вектор> & Ко", "г Москва, Варшавское ш, д 125")
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim, caplog):
    caplog.set_level(logging.DEBUG)
    settings = {
        "mobiforce_base_url": sim.base_url,
        "mobiforce_api_key": KEY,
        "mobiforce_close_status": "74",
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        # Watcher cycles are driven by hand (they would add calls at random moments).
        await h.app.scheduler.set_paused("mobiforce", True, by=ADMIN)
        await h.app.services["mobiforce"].directory.synced.wait()
        yield h
        assert not h.emu.rejected_calls()
    assert KEY not in caplog.text


async def run_wizard(h, sim, chat_id=None):
    """/task new through every step; returns the summary message."""
    chat = chat_id or ADMIN
    ask = await h.say(ADMIN, "/task new", chat_id=chat_id, expect=has_button("Доставка груза"))
    h.press(ADMIN, ask, "Доставка груза")
    await h.emu.wait_for_message(chat, has_text("часть названия"))
    found = await h.say(ADMIN, "ромаш", chat_id=chat_id, expect=has_button("Ромашка"))
    h.press(ADMIN, found, "Ромашка")
    address = await h.emu.wait_for_message(chat, has_button("Адрес клиента"))
    h.press(ADMIN, address, "Адрес клиента")
    executor = await h.emu.wait_for_message(chat, has_button("Петров Иван"))
    assert "Оператор Ольга" not in button_labels(executor)  # office staff take no tasks
    h.press(ADMIN, executor, "Петров Иван")
    start = await h.emu.wait_for_message(chat, has_button("Завтра"))
    h.press(ADMIN, start, "Завтра")
    field = await h.emu.wait_for_message(chat, has_button("Срочный"))
    assert "Тип выезда" in text(field)
    h.press(ADMIN, field, "Срочный")
    summary = await h.emu.wait_for_message(chat, has_button("Создать"))
    assert "Ромашка" in text(summary) and "Петров Иван" in text(summary)
    assert "Срочный" in text(summary)
    return summary


async def test_task_new_in_private_creates_one_task_on_a_double_tap_and_the_chat_watches_it(
    harness, sim
):
    h = harness
    summary = await run_wizard(h, sim)
    before = sim.calls_of("create-task")
    h.press(ADMIN, summary, "Создать")
    h.press(ADMIN, summary, "Создать")  # a double tap
    done = await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "создана" in c.params["text"], start=0
    )
    await h.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery" and "уже" in str(c.params).lower(), start=0
    )
    assert sim.calls_of("create-task") == before + 1
    task = next(iter(sim.desk.tasks.values()))
    assert task.employee_id is not None and not task.draft
    assert f"№{task.number}" in done.params["text"]
    subscriptions = await h.app.repos.subscriptions.for_chat(ADMIN)
    assert [s.filter for s in subscriptions] == [f"task:{task.number}"]
    assert await h.app.repos.snapshots.get("mobiforce", [str(task.id)])
    body = next(b for name, _, b in sim.requests if name == "create-task")
    assert body["props"] == [{"field": {"id": task.props[0].field_id}, "value": "Срочный"}]
    assert body["plannedEndVisitTime"]  # from the template's visit duration


async def test_task_new_in_a_group_under_privacy_mode(harness, sim):
    h = harness
    h.emu.add_user(COLLEAGUE, "Ольга")
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP, has_text("подключил"))
    h.emu.user_sends(COLLEAGUE, "а где Петров?", chat_id=GROUP)  # privacy mode hides it
    summary = await run_wizard(h, sim, chat_id=GROUP)
    assert [m["text"] for m in h.emu.hidden_from_bot] == ["а где Петров?"]
    h.press(ADMIN, summary, "Создать")
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "создана" in c.params["text"], start=0
    )
    task = next(iter(sim.desk.tasks.values()))
    subscriptions = await h.app.repos.subscriptions.for_chat(GROUP)
    assert [s.filter for s in subscriptions] == [f"task:{task.number}"]


async def test_new_client_typed_date_and_bad_input_cost_no_call(harness, sim):
    h = harness
    ask = await h.say(ADMIN, "/task new", expect=has_button("Доставка груза"))
    h.press(ADMIN, ask, "Доставка груза")
    question = await h.emu.wait_for_message(ADMIN, has_button("Новый клиент"))
    h.press(ADMIN, question, "Новый клиент")
    await h.emu.wait_for_message(ADMIN, has_text("Название нового клиента"))
    await h.say(ADMIN, "ИП Сидоров", expect=has_text("Адрес клиента"))
    await h.say(ADMIN, "Тверь, ул Советская, 5", expect=has_text("Телефон клиента"))
    calls = len(sim.requests)
    bad = await h.say(ADMIN, "12-34", expect=has_text("Не понял номер"))
    assert "«12-34»" in text(bad)
    await h.say(ADMIN, "8 (916) 000-11-22", expect=has_text("Адрес выезда"))
    executor = await h.say(ADMIN, "Тверь, склад 3", expect=has_button("Без исполнителя"))
    h.press(ADMIN, executor, "Без исполнителя")
    await h.emu.wait_for_message(ADMIN, has_text("Плановое начало"))
    wrong = await h.say(ADMIN, "завтра утром", expect=has_text("Не понял время"))
    assert "«завтра утром»" in text(wrong)
    assert len(sim.requests) == calls  # nothing typed wrong reached Mobiforce
    later = (utcnow() + timedelta(days=2)).astimezone(h.app.settings.timezone)
    await h.say(ADMIN, later.strftime("%d.%m %H:%M"), expect=has_text("Тип выезда"))
    field = h.emu.last_message(ADMIN)
    h.press(ADMIN, field, "Плановый")
    summary = await h.emu.wait_for_message(ADMIN, has_button("Создать"))
    assert "новый, будет создан" in text(summary) and "черновик" in text(summary)
    h.press(ADMIN, summary, "Создать")
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "черновиком" in c.params["text"], start=0
    )
    task = next(iter(sim.desk.tasks.values()))
    client = sim.world.contractors[task.contractor_id]
    assert client.name == "ИП Сидоров" and task.draft
    assert task.address.text == "Тверь, склад 3"


async def test_lost_create_answer_then_retry_makes_one_task(harness, sim):
    h = harness
    summary = await run_wizard(h, sim)
    sim.fail_next("create-task", 502)  # the task is not made; Mobiforce answers a gateway error
    h.press(ADMIN, summary, "Создать")
    retry = await h.emu.wait_for_message(ADMIN, has_button("Повторить"))
    assert "недоступен" in text(h.emu.messages(ADMIN)[-2]) or "Повторить" in text(retry)
    h.press(ADMIN, retry, "Повторить")
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "создана" in c.params["text"], start=0
    )
    assert len(sim.desk.tasks) == 1


async def test_task_card_by_number_comment_close_and_refresh(harness, sim):
    h = harness
    template = next(iter(sim.world.templates.values()))
    client = next(iter(sim.world.contractors.values()))
    employee = next(e for e in sim.world.employees.values() if e.mobile_role)
    task = sim.add_task(
        {
            "template": {"id": template.id},
            "contractor": {"id": client.id},
            "employee": {"id": employee.id},
            "draft": False,
            "address": "г Москва, Ленинский пр-кт, д 21",
            "plannedVisitTime": "2030-01-10T15:00:00",
            "plannedEndVisitTime": "2030-01-10T17:00:00",
        }
    )
    sim.employee_takes(task.id)
    sim.fill_field(task.id, value=2)  # two photos of the waybill
    await h.app.services["mobiforce"].directory.sync()  # the number is now known
    card = await h.say(ADMIN, f"/task {task.number}", expect=has_button("Обновить"))
    body = text(card)
    assert f"№{task.number}" in body and "Доставка груза" in body and "Ромашка" in body
    assert "Петров Иван" in body and "+7 916 123-45-01" in body
    assert "10.01 15:00 – 17:00" in body and "отправлена" in body
    assert "Фото накладной" in body and "фото: 2" in body and "1 из 2" in body
    assert button_labels(card)[:3] == ["💬 Комментарий", "✔️ Закрыть", "🔄 Обновить"]

    calls = len(sim.requests)
    missing = await h.say(ADMIN, "/task ABC-1")
    assert "Не нашёл задачу «ABC-1»" in text(missing) and len(sim.requests) == calls

    reply = await h.say(ADMIN, f"/comment {task.number} Клиент просит позвонить за час")
    assert "Комментарий к задаче" in text(reply)
    assert sim.task(task.id).comments[-1][1] == "Клиент просит позвонить за час"

    h.press(ADMIN, card, "Комментарий")
    await h.emu.wait_for_message(ADMIN, has_text("Напишите комментарий"))
    await h.say(ADMIN, "Пропуск заказан", expect=has_text("добавлен"))
    assert sim.task(task.id).comments[-1][1] == "Пропуск заказан"

    question = await h.say(ADMIN, f"/close {task.number} Сделано", expect=has_button("Закрыть"))
    assert "Завершить задачу" in text(question)
    h.press(ADMIN, question, "Закрыть")
    h.press(ADMIN, question, "Закрыть")
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "завершена" in c.params["text"], start=0
    )
    assert sim.calls_of("close-task") == 1
    closed = sim.task(task.id)
    assert closed.result_status[0] == "74" and closed.results_description == "Сделано"

    start = len(h.emu.calls)
    h.press(ADMIN, card, "Обновить")
    edited = await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "завершена" in c.params["text"], start=start
    )
    assert "Сделано" in edited.params["text"]


async def test_upstream_error_is_answered_politely(harness, sim):
    h = harness
    task = sim.add_task({"template": {"id": next(iter(sim.world.templates))}, "draft": True})
    await h.app.services["mobiforce"].directory.sync()
    sim.fail_next("get-task", 503, times=3)
    reply = await h.say(ADMIN, f"/task {task.number}")
    assert "Мобифорс сейчас недоступен" in text(reply)


async def test_tasks_clients_client_and_employees(harness, sim):
    h = harness
    template_id = next(iter(sim.world.templates))
    for _ in range(12):
        sim.add_task({"template": {"id": template_id}, "draft": True})
    await h.app.services["mobiforce"].directory.sync()
    calls = len(sim.requests)
    first = await h.say(ADMIN, "/tasks", expect=has_text("Задачи: 12"))
    assert "страница 1 из 2" in text(first)
    start = len(h.emu.calls)
    h.press(ADMIN, first, "▶️")
    second = await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "страница 2 из 2" in c.params["text"],
        start=start,
    )
    assert second
    found = await h.say(ADMIN, "/clients вектор", expect=has_button("Вектор"))
    assert "Клиенты по запросу «вектор»: 1" in text(found)
    assert len(sim.requests) == calls  # lists and searches are local
    h.press(ADMIN, found, "Вектор")
    card = await h.emu.wait_for_message(ADMIN, has_text("Варшавское"))
    assert "ООО &lt;Вектор&gt; &amp; Ко" not in text(card)  # the emulator shows text unescaped
    assert "ООО <Вектор> & Ко" in text(card)
    bad = await h.say(ADMIN, "/client ромашка")
    assert "не id клиента" in text(bad)
    employees = await h.say(ADMIN, "/employees")
    assert "Петров Иван" in text(employees) and "+7 916 123-45-01" in text(employees)
    assert "Оператор Ольга" in text(employees)


async def test_a_viewer_reads_but_cannot_create_or_close(harness, sim):
    h = harness
    h.emu.add_user(VIEWER, "Вера")
    await h.say(ADMIN, f"/grant {VIEWER} viewer", expect=has_text("теперь"))
    refused = await h.say(VIEWER, "/task new")
    assert "«диспетчер»" in text(refused)
    refused = await h.say(VIEWER, "/close 1")
    assert "«диспетчер»" in text(refused)
    listed = await h.say(VIEWER, "/employees")
    assert "Петров Иван" in text(listed)


async def test_mobiforce_off_answers_not_configured(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN]) as h:
        for command in ("/task 1", "/tasks", "/task new", "/employees"):
            reply = await h.say(ADMIN, command)
            assert "Mobiforce не настроена" in text(reply), command


async def test_where_is_the_executor_runs_the_movizor_locate_flow(tmp_path, sim):
    """The executor's phone is a Movizor driver: the card offers «📍 Где исполнитель?», which
    shows the driver's point and card as /locate does."""
    from sandbox.simulators.movizor.simulator import MovizorSimulator

    movizor = MovizorSimulator(project="test", key="movizor-key")
    await movizor.start()
    movizor.add_driver("79161234501", "Петров И.И.", [("Москва", 55.75, 37.61, utcnow())])
    settings = {
        "mobiforce_base_url": sim.base_url,
        "mobiforce_api_key": KEY,
        "movizor_project": "test",
        "movizor_key": "movizor-key",
        "movizor_base_url": movizor.base_url,
    }
    try:
        async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
            await h.app.scheduler.set_paused("mobiforce", True, by=ADMIN)
            await h.app.scheduler.set_paused("movizor", True, by=ADMIN)
            await h.app.services["mobiforce"].directory.synced.wait()
            template = next(iter(sim.world.templates.values()))
            employee = next(e for e in sim.world.employees.values() if e.mobile_role)
            task = sim.add_task(
                {"template": {"id": template.id}, "employee": {"id": employee.id}, "draft": False}
            )
            card = await h.say(ADMIN, f"/task {task.id}", expect=has_button("Где исполнитель"))
            h.press(ADMIN, card, "Где исполнитель")
            point = await h.emu.wait_for_message(ADMIN, lambda m: "location" in m)
            fix = movizor.object("79161234501").last_fix
            assert point["location"]["latitude"] == pytest.approx(fix.lat, abs=1e-5)
            located = await h.emu.wait_for_message(
                ADMIN, has_text("Петров И.И."), after_message_id=point["message_id"]
            )
            assert "+7 916 123-45-01" in text(located)
            assert not h.emu.rejected_calls()
    finally:
        await movizor.stop()
