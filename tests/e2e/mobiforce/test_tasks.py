"""Mobiforce commands end to end: bot + Telegram emulator + Mobiforce simulator over loopback."""

from datetime import timedelta

import pytest

from integrations.mobiforce.facts import TaskFacts
from sandbox.harness import BotHarness
from storage.db import utcnow
from tests.e2e.conftest import ADMIN
from tests.e2e.mobiforce.helpers import (
    COLLEAGUE,
    GROUP,
    KEY,
    VIEWER,
    button_labels,
    edited_to,
    has_button,
    has_text,
    run_wizard,
    text,
)


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


@pytest.mark.parametrize("shape", ["rich"])  # executor and client as bare ids: named here
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
    assert task.number == "000001"
    card = await h.say(ADMIN, "/task 1", expect=has_button("Обновить"))  # zeros optional
    body = text(card)
    assert f"№{task.number}" in body and "Доставка груза" in body and "Ромашка" in body
    assert "Петров Иван" in body and "+7 916 123-45-01" in body
    assert "10.01 15:00 – 17:00" in body and "отправлена" in body
    assert "Фото накладной" in body and "фото: 2" in body and "1 из 2" in body
    assert button_labels(card)[:3] == ["💬 Комментарий", "✔️ Закрыть", "🔄 Обновить"]

    calls = len(sim.requests)
    missing = await h.say(ADMIN, "/task ABC-1")
    assert "Не нашёл задачу «ABC-1»" in text(missing) and len(sim.requests) == calls

    reply = await h.say(ADMIN, "/comment №01 Клиент просит позвонить за час")
    assert "Комментарий к задаче" in text(reply)
    assert sim.task(task.id).comments[-1][1] == "Клиент просит позвонить за час"

    h.press(ADMIN, card, "Комментарий")
    await h.emu.wait_for_message(ADMIN, has_text("Напишите комментарий"))
    await h.say(ADMIN, "Пропуск заказан", expect=has_text("добавлен"))
    assert sim.task(task.id).comments[-1][1] == "Пропуск заказан"

    question = await h.say(ADMIN, "/close 1 Сделано", expect=has_button("Закрыть"))
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


@pytest.mark.parametrize("shape", ["rich"])
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


async def test_numbers_as_people_say_them_find_the_task(harness, sim):
    h = harness
    template_id = next(iter(sim.world.templates))
    tasks = [sim.add_task({"template": {"id": template_id}, "draft": True}) for _ in range(9)]
    await h.app.services["mobiforce"].directory.sync()
    assert tasks[-1].number == "000009"
    for typed in ("/find 9", "/find №09", "/task 000009", "/task #9"):
        card = await h.say(ADMIN, typed, expect=has_button("Обновить"))
        assert "№000009" in text(card), typed
    listed = await h.say(ADMIN, "/tasks №9")
    assert "№000009" in text(listed)


async def test_tasks_pages_a_query_with_a_colon_and_long_cyrillic(harness, sim):
    h = harness
    template_id = next(iter(sim.world.templates))
    client = sim.add_contractor("ООО: Северо-Западная транспортно-экспедиционная компания")
    for _ in range(12):
        sim.add_task(
            {"template": {"id": template_id}, "contractor": {"id": client.id}, "draft": True}
        )
    await h.app.services["mobiforce"].directory.sync()
    for task_id in sorted(sim.desk.tasks):  # the bot learns each task's client as it reads it
        await h.app.services["mobiforce"].directory.remember_task(
            await h.app.services["mobiforce"].client.get_task(task_id),
            TaskFacts(client=client.name),
        )
    query = "ооо: северо-западная транспортно-экспедиционная"
    first = await h.say(ADMIN, f"/tasks {query}", expect=has_text("Задачи: 12"))
    start = len(h.emu.calls)
    h.press(ADMIN, first, "▶️")
    second = await h.emu.wait_for_event(edited_to("страница 2 из 2"), start=start)
    assert "Северо-Западная" in second.params["text"]


async def test_a_card_with_many_fields_is_one_message_that_says_what_it_left_out(harness, sim):
    h = harness
    many = [
        sim.add_field(f"Поле номер {i} с длинным названием " + "х" * 60, "1") for i in range(80)
    ]
    template = sim.add_template("Большой акт", props=[(f, False) for f in many])
    body = {
        "template": {"id": template.id},
        "props": [{"field": {"id": f.id}, "value": "значение " * 20} for f in many],
    }
    task = sim.add_task(body)
    await h.app.services["mobiforce"].directory.sync()
    card = await h.say(ADMIN, f"/task {task.number}", expect=has_button("Обновить"))
    assert "не поместились" in text(card) and f"id в Мобифорс: {task.id}" in text(card)
    assert len(text(card)) <= 4096


async def test_a_number_field_refuses_infinity_and_absurd_values(harness, sim):
    h = harness
    amount = sim.add_field("Сумма к оплате", "2")
    sim.add_template("Оплата", props=[(amount, True)])
    await h.app.services["mobiforce"].directory.sync()
    ask = await h.say(ADMIN, "/task new", expect=has_button("Оплата"))
    h.press(ADMIN, ask, "Оплата")
    await h.emu.wait_for_message(ADMIN, has_text("часть названия"))
    found = await h.say(ADMIN, "ромаш", expect=has_button("Ромашка"))
    h.press(ADMIN, found, "Ромашка")
    address = await h.emu.wait_for_message(ADMIN, has_button("Адрес клиента"))
    h.press(ADMIN, address, "Адрес клиента")
    executor = await h.emu.wait_for_message(ADMIN, has_button("Петров Иван"))
    h.press(ADMIN, executor, "Петров Иван")
    start = await h.emu.wait_for_message(ADMIN, has_button("Завтра"))
    h.press(ADMIN, start, "Завтра")
    await h.emu.wait_for_message(ADMIN, has_text("Сумма к оплате"))
    for typed in ("inf", "nan", "1e308", "99999999999999"):
        refused = await h.say(ADMIN, typed, expect=has_text("не число"))
        assert f"«{typed}»" in text(refused)
    summary = await h.say(ADMIN, "12 500,5", expect=has_button("Создать"))
    assert "Сумма к оплате: 12500.5" in text(summary)


async def test_more_templates_and_executors_than_fit_are_paged_and_searchable(harness, sim):
    h = harness
    for i in range(25):
        sim.add_template(f"Шаблон {i:02d}")
        sim.add_employee(f"Монтажник {i:02d}", f"7916000{i:04d}")
    await h.app.services["mobiforce"].directory.sync()
    ask = await h.say(ADMIN, "/task new", expect=has_button("▶️"))
    assert "Всего: 26" in text(ask)
    for _ in range(3):
        start = len(h.emu.calls)
        h.press(ADMIN, h.emu.messages(ADMIN)[-1], "▶️")
        await h.emu.wait_for_event(lambda c: c.method == "editMessageReplyMarkup", start=start)
    assert "Шаблон 24" in button_labels(h.emu.messages(ADMIN)[-1])  # the last page
    found = await h.say(ADMIN, "шаблон 2", expect=has_button("Шаблон 20"))
    assert "По запросу «шаблон 2»: 5" in text(found)
    h.press(ADMIN, found, "Шаблон 23")
    await h.emu.wait_for_message(ADMIN, has_text("часть названия"))
    clients = await h.say(ADMIN, "ромаш", expect=has_button("Ромашка"))
    h.press(ADMIN, clients, "Ромашка")
    address = await h.emu.wait_for_message(ADMIN, has_button("Адрес клиента"))
    h.press(ADMIN, address, "Адрес клиента")
    executors = await h.emu.wait_for_message(ADMIN, has_button("Без исполнителя"))
    assert "Всего: 26" in text(executors) and "▶️" in button_labels(executors)
    picked = await h.say(ADMIN, "монтажник 24", expect=has_button("Монтажник 24"))
    h.press(ADMIN, picked, "Монтажник 24")
    await h.emu.wait_for_message(ADMIN, has_text("Исполнитель: Монтажник 24"))


async def test_a_task_that_cannot_be_read_is_skipped_and_shown_in_status(harness, sim):
    h = harness
    watcher = h.app.scheduler.runners["mobiforce"]
    await watcher._cycle_once()  # the first cycle only finds where the feed is
    template_id = next(iter(sim.world.templates))
    broken = sim.add_task({"template": {"id": template_id}})
    sim.answer_task_with(broken.id, createdAt="вчера вечером")
    fine = sim.add_task({"template": {"id": template_id}})
    await watcher._cycle_once()
    assert await h.app.repos.alert_state.cursor("mobiforce") == str(sim.usn)  # moved past
    assert await h.app.repos.snapshots.get("mobiforce", [str(fine.id)])
    status = await h.say(ADMIN, "/status", expect=has_text("Состояние"))
    assert "События могли быть пропущены" in text(status) and str(broken.id) in text(status)
    assert "Пропущено с запуска: 1" in text(status)


async def test_a_comment_too_long_is_asked_for_again_and_the_next_message_is_taken(harness, sim):
    h = harness
    template = next(iter(sim.world.templates.values()))
    task = sim.add_task({"template": {"id": template.id}, "draft": True, "number": "2024"})
    await h.app.services["mobiforce"].directory.sync()
    again = await h.say(ADMIN, f"/comment {task.number} {'очень ' * 400}")
    assert "Напишите короче" in text(again) and sim.task(task.id).comments == []
    await h.say(ADMIN, "Позвоните за час", expect=has_text("добавлен"))
    assert sim.task(task.id).comments[-1][1] == "Позвоните за час"


async def test_the_close_status_set_from_the_chat_is_the_next_close(harness, sim):
    """MOBIFORCE_CLOSE_STATUS is 74 in the environment; an admin sets 75 with /settings and
    the next /close sends 75, without a restart; a refused value changes nothing."""
    h = harness
    template = next(iter(sim.world.templates.values()))
    client = next(iter(sim.world.contractors.values()))
    task = sim.add_task(
        {"template": {"id": template.id}, "contractor": {"id": client.id}, "draft": True}
    )
    await h.app.services["mobiforce"].directory.sync()
    wrong = await h.say(ADMIN, "/settings MOBIFORCE_CLOSE_STATUS done")
    assert "❌ MOBIFORCE_CLOSE_STATUS: числовой id статуса результата" in text(wrong)
    await h.say(ADMIN, "/settings mobiforce.close_status 75", expect=has_text("✅"))
    question = await h.say(ADMIN, f"/close {task.number} Готово", expect=has_button("Закрыть"))
    h.press(ADMIN, question, "Закрыть")
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "завершена" in c.params["text"], start=0
    )
    assert sim.task(task.id).result_status[0] == "75"
