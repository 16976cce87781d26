"""Creating and closing Mobiforce tasks when the network loses answers, end to end: create-task
and close-task cannot be undone, so a lost answer never leads to a second task, and no message
claims a failure or a cancellation that did not happen."""

import re

import pytest

from tests.e2e.conftest import ADMIN
from tests.e2e.mobiforce.helpers import (
    button_labels,
    edited_to,
    has_button,
    has_text,
    run_wizard,
    text,
)

MARKER = re.compile(r"TG-\d{6}-[A-Z2-7]{4}")
# Words that would claim the task was not made or was cancelled.
FALSE_CLAIMS = ("не создана", "не удалось создать", "отменён", "отменено", "недоступен")


def marker_of(summary: dict) -> str:
    found = MARKER.search(text(summary))
    assert found, text(summary)
    return found.group(0)


def bot_texts(h) -> str:
    return "\n".join(text(message) for message in h.emu.messages(ADMIN))


async def confirm(h, sim):
    """The wizard to its summary and «✅ Создать»; returns the task's number."""
    summary = await run_wizard(h, sim)
    h.press(ADMIN, summary, "Создать")
    return marker_of(summary)


def tasks_numbered(sim, number: str) -> list:
    return [task for task in sim.desk.tasks.values() if task.number == number]


@pytest.mark.parametrize("fault", ["drop", 502])
async def test_a_lost_answer_after_the_task_was_made_ends_with_that_one_task(harness, sim, fault):
    h = harness
    sim.fail_next("create-task", fault, after=True)
    number = await confirm(h, sim)
    done = await h.emu.wait_for_event(edited_to("создана"), start=0)
    assert f"№{number}" in done.params["text"] and "нашлась" in done.params["text"]
    [task] = sim.desk.tasks.values()
    assert task.number == number and sim.calls_of("create-task") == 1
    body = next(b for name, _, b in sim.requests if name == "create-task")
    assert body["number"] == number  # the bot's marker, a documented field
    assert [s.filter for s in await h.app.repos.subscriptions.for_chat(ADMIN)] == [f"task:{number}"]
    assert await h.app.repos.snapshots.get("mobiforce", [str(task.id)])
    assert not any(claim in bot_texts(h).lower() for claim in FALSE_CLAIMS)


async def test_a_task_never_made_is_said_absent_and_created_again_on_request(harness, sim):
    h = harness
    sim.fail_next("create-task", 502)  # the gateway failed before Mobiforce saw the request
    number = await confirm(h, sim)
    await h.emu.wait_for_event(edited_to("такой задачи в Мобифорс сейчас нет"), start=0)
    choice = await h.emu.wait_for_message(ADMIN, has_button("Создать ещё раз"))
    assert button_labels(choice) == ["🔁 Создать ещё раз", "✖️ Отмена"]
    assert sim.desk.tasks == {}
    start = len(h.emu.calls)
    h.press(ADMIN, choice, "Создать ещё раз")
    h.press(ADMIN, choice, "Создать ещё раз")  # a double tap sends once
    done = await h.emu.wait_for_event(edited_to("создана"), start=start)
    assert f"№{number}" in done.params["text"]
    assert len(tasks_numbered(sim, number)) == 1 and sim.calls_of("create-task") == 2


async def test_cancel_when_the_task_is_absent_says_so_and_sends_nothing(harness, sim):
    h = harness
    sim.fail_next("create-task", 502)
    number = await confirm(h, sim)
    choice = await h.emu.wait_for_message(ADMIN, has_button("Создать ещё раз"))
    start = len(h.emu.calls)
    h.press(ADMIN, choice, "Отмена")
    said = await h.emu.wait_for_event(edited_to("заново не создаю"), start=start)
    assert f"задачи №{number} в Мобифорс нет" in said.params["text"]
    assert sim.desk.tasks == {} and sim.calls_of("create-task") == 1


async def test_cancel_when_it_could_not_be_checked_finds_the_task_and_says_it_was_made(
    harness, sim
):
    """The answer is lost and Mobiforce cannot be asked at first: the bot says it cannot tell.
    «Отмена» looks again, finds the task the lost answer made, and says it exists."""
    h = harness
    sim.fail_next("create-task", "drop", after=True)
    sim.fail_next("get-updates", 503, times=3)  # a read is tried three times
    sim.fail_next("get-task-list", 503, times=3)
    number = await confirm(h, sim)
    await h.emu.wait_for_event(edited_to("проверить, создалась ли она, сейчас не удалось"), start=0)
    choice = await h.emu.wait_for_message(ADMIN, has_button("Создать ещё раз"))
    start = len(h.emu.calls)
    h.press(ADMIN, choice, "Отмена")
    said = await h.emu.wait_for_event(edited_to("создана"), start=start)
    assert f"№{number}" in said.params["text"]
    assert len(tasks_numbered(sim, number)) == 1 and sim.calls_of("create-task") == 1
    assert not any(claim in bot_texts(h).lower() for claim in FALSE_CLAIMS)


async def test_a_failed_read_back_is_still_a_created_task(harness, sim):
    h = harness
    sim.fail_next("get-task", 503, times=3)
    number = await confirm(h, sim)
    done = await h.emu.wait_for_event(edited_to("создана"), start=0)
    assert f"№{number}" in done.params["text"] and "Ромашка" in done.params["text"]
    assert len(sim.desk.tasks) == 1
    assert not any(claim in bot_texts(h).lower() for claim in FALSE_CLAIMS)


async def test_a_refused_create_makes_nothing_and_says_why(harness, sim):
    h = harness
    sim.force_error("create-task", 400, code=4, description="клиент не найден")
    number = await confirm(h, sim)
    said = await h.emu.wait_for_event(edited_to("Мобифорс не создал задачу"), start=0)
    assert "клиент не найден" in said.params["text"]
    assert sim.desk.tasks == {}
    assert await h.app.repos.subscriptions.for_chat(ADMIN) == []  # nothing to watch
    record = await h.app.repos.mobiforce_creates.get(number)
    assert record is not None and record.state == "dropped"


async def test_a_lost_answer_while_making_the_new_client_sends_the_task_once_later(harness, sim):
    h = harness
    ask = await h.say(ADMIN, "/task new", expect=has_button("Доставка груза"))
    h.press(ADMIN, ask, "Доставка груза")
    question = await h.emu.wait_for_message(ADMIN, has_button("Новый клиент"))
    h.press(ADMIN, question, "Новый клиент")
    await h.emu.wait_for_message(ADMIN, has_text("Название нового клиента"))
    await h.say(ADMIN, "ИП Сидоров", expect=has_text("Адрес клиента"))
    await h.say(ADMIN, "Тверь, ул Советская, 5", expect=has_text("Телефон клиента"))
    skip = h.emu.last_message(ADMIN)
    h.press(ADMIN, skip, "Пропустить")
    executor = await h.say(ADMIN, "Тверь, склад 3", expect=has_button("Без исполнителя"))
    h.press(ADMIN, executor, "Без исполнителя")
    start = await h.emu.wait_for_message(ADMIN, has_button("Завтра"))
    h.press(ADMIN, start, "Завтра")
    field = await h.emu.wait_for_message(ADMIN, has_button("Плановый"))
    h.press(ADMIN, field, "Плановый")
    summary = await h.emu.wait_for_message(ADMIN, has_button("Создать"))
    number = marker_of(summary)
    sim.fail_next("create-contractor", "drop", after=True)
    h.press(ADMIN, summary, "Создать")
    await h.emu.wait_for_event(edited_to("ещё не отправлялась"), start=0)
    choice = await h.emu.wait_for_message(ADMIN, has_button("Создать ещё раз"))
    assert sim.desk.tasks == {}
    h.press(ADMIN, choice, "Создать ещё раз")
    await h.emu.wait_for_event(edited_to("создана черновиком"), start=0)
    [task] = sim.desk.tasks.values()
    clients = [c for c in sim.world.contractors.values() if c.name == "ИП Сидоров"]
    assert task.number == number and len(clients) == 1  # found by its external id
    assert clients[0].external_id == number and task.contractor_id == clients[0].id


async def test_the_card_and_alerts_of_a_task_made_here_name_its_client_and_executor(harness, sim):
    """get-task as documented names neither: the bot remembers what it set."""
    h = harness
    number = await confirm(h, sim)
    await h.emu.wait_for_event(edited_to("создана"), start=0)
    card = await h.say(ADMIN, f"/task {number.lower()}", expect=has_button("Обновить"))
    assert "Ромашка" in text(card) and "Петров Иван" in text(card)
    assert "+7 916 123-45-01" in text(card)
    [task] = sim.desk.tasks.values()
    watcher = h.app.scheduler.runners["mobiforce"]
    await watcher._cycle_once()  # the first cycle only finds where the feed is
    sim.employee_takes(task.id)
    sim.fill_field(task.id, value=2)
    await watcher._cycle_once()
    alert = await h.emu.wait_for_message(ADMIN, has_text("Заполнен чек-лист"))
    assert f"№{number}" in text(alert) and "Ромашка" in text(alert)
    assert "Петров Иван" in text(alert)


# --- close-task: irreversible too -----------------------------------------------------------------


async def ask_to_close(h, sim):
    template = next(iter(sim.world.templates.values()))
    employee = next(e for e in sim.world.employees.values() if e.mobile_role)
    task = sim.add_task(
        {"template": {"id": template.id}, "employee": {"id": employee.id}, "draft": False}
    )
    await h.app.services["mobiforce"].directory.sync()
    question = await h.say(ADMIN, f"/close {task.number}", expect=has_button("Закрыть"))
    h.press(ADMIN, question, "Закрыть")
    return task


async def test_a_lost_close_answer_is_not_called_a_failure_when_the_answer_cannot_tell(
    harness, sim
):
    h = harness
    sim.fail_next("close-task", "drop", after=True)
    task = await ask_to_close(h, sim)
    said = await h.emu.wait_for_event(edited_to("Мобифорс не ответил на закрытие"), start=0)
    assert "не видно" in said.params["text"] and "не закрыта" not in said.params["text"]
    check = await h.emu.wait_for_message(ADMIN, has_button("Проверить"))
    assert sim.task(task.id).closed and sim.calls_of("close-task") == 1
    h.press(ADMIN, check, "Проверить")
    again = await h.emu.wait_for_message(
        ADMIN, has_text("не видно"), after_message_id=check["message_id"]
    )
    assert "не закрыта" not in text(again) and sim.calls_of("close-task") == 1


@pytest.mark.parametrize("shape", ["rich"])
async def test_a_lost_close_answer_is_read_back_where_the_account_shows_closing(harness, sim):
    h = harness
    sim.fail_next("close-task", "drop", after=True)
    await ask_to_close(h, sim)
    said = await h.emu.wait_for_event(edited_to("завершена"), start=0)
    assert said.params["text"].startswith("✔️") and sim.calls_of("close-task") == 1


@pytest.mark.parametrize("shape", ["rich"])
async def test_a_close_that_never_happened_says_the_task_is_still_open(harness, sim):
    h = harness
    sim.fail_next("close-task", 502)
    task = await ask_to_close(h, sim)
    said = await h.emu.wait_for_event(edited_to("по-прежнему открыта"), start=0)
    assert f"/close {task.number}" in said.params["text"] and not sim.task(task.id).closed
