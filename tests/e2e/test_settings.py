"""/settings end to end (bot + Telegram emulator + the Alta simulator), privacy mode on: an
admin's settings in private, a chat's own in a group and a forum topic, typed values through
ForceReply, refusals that name the rule, buttons refused to the wrong person or when old, the
live effect (a watcher rescheduled, the next /wagon add), secrets on no screen."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.settings.chat import LANGUAGE, QUIET_HOURS, ZONE
from bot.settings.registry import ChatKey, Scope, all_settings
from handlers.alta import settings as alta_settings
from handlers.settings.callbacks import GLOBAL, SettingsCb
from sandbox.harness import TOKEN, BotHarness
from sandbox.simulators.alta.simulator import AltaSimulator
from storage.db import set_clock, utcnow
from storage.users import Role
from tests.e2e.conftest import ADMIN
from tests.e2e.test_alta_wagons import alta_bot, button_labels, has_button, has_text, text

GROUP = -100900800
FORUM = -100900900
DISPATCHER, SECOND, VIEWER = 5005, 5006, 6006
WAGON = "52345675"


@pytest.fixture
async def sim():
    simulator = AltaSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim):
    async with alta_bot(tmp_path, sim) as h:
        h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
        h.emu.add_bot_to_group(ADMIN, GROUP)
        await h.emu.wait_for_message(GROUP, has_text("подключил"))
        for user_id, name, role in (
            (DISPATCHER, "Ольга", Role.DISPATCHER),
            (SECOND, "Пётр", Role.DISPATCHER),
            (VIEWER, "Вера", Role.VIEWER),
        ):
            h.emu.add_user(user_id, name)
            await h.app.repos.users.set_role(user_id, role, by=ADMIN)
            h.emu.set_member_status(GROUP, user_id, "member")
        yield h


async def press(h: BotHarness, user_id: int, message: dict, label: str) -> dict:
    """Press a button and return the message as the bot redrew it (or the same message)."""
    start = len(h.emu.calls)
    h.press(user_id, message, label)
    await h.emu.wait_for_event(lambda c: c.method == "answerCallbackQuery", start=start)
    chat_id = message["chat"]["id"]
    return next(m for m in h.emu.messages(chat_id) if m["message_id"] == message["message_id"])


def answered(h: BotHarness) -> str:
    return str(h.emu.callback_answers[-1].get("text") or "")


async def test_an_admin_sets_alta_in_private_and_the_next_wagon_add_in_a_group_uses_it(
    harness, sim
):
    """The issue's check: report times and the poll period set from the chat, then a
    dispatcher's /wagon add in the group sends the new times; the watcher polls at the new
    period without a restart; both changes are in /audit."""
    h = harness
    home = await h.say(ADMIN, "/settings")
    assert "Настройки бота" in text(home)
    alta = await press(h, ADMIN, home, "Альта")
    assert "Время отчётов" in text(alta) and "ALTA_TIMES" in text(alta)
    assert "09:00, 13:00, 18:00 — по умолчанию" in text(alta)
    times = await press(h, ADMIN, alta, "Время отчётов")
    question_at = len(h.emu.messages(ADMIN))
    await press(h, ADMIN, times, "Ввести")
    question = h.emu.messages(ADMIN)[question_at]
    assert "Время отчётов" in text(question) and "ЧЧ:ММ" in text(question)
    refused = await h.say(ADMIN, "8:00, 25:00")
    assert "❌ ALTA_TIMES: время ЧЧ:ММ" in text(refused)
    done = await h.say(ADMIN, "08:00, 18:30", expect=has_text("✅"))
    assert "Время отчётов: <b>08:00, 18:30</b>" in text(done) or "08:00, 18:30" in text(done)

    slow = await h.say(ADMIN, "/settings ALTA_POLL_SECONDS 30")
    assert text(slow) == "❌ ALTA_POLL_SECONDS: не меньше 60 — Альта разрешает опрос раз в минуту"
    assert h.app.scheduler.intervals["alta"] == 60
    await h.say(ADMIN, "/settings alta.poll_seconds 120", expect=has_text("✅"))
    assert h.app.scheduler.intervals["alta"] == 120
    job = h.app.scheduler._scheduler.get_job("watch:alta")
    assert job.trigger.interval == timedelta(seconds=120)
    await h.app.scheduler.set_paused("alta", False, by=ADMIN)
    job = h.app.scheduler._scheduler.get_job("watch:alta")
    # The next run is one new period from the change (plus APScheduler's jitter, a tenth).
    until_next = job.next_run_time - datetime.now(UTC)
    assert timedelta(seconds=100) < until_next <= timedelta(seconds=120 + 12)

    sim.requests.clear()
    summary = await h.say(
        DISPATCHER, f"/wagon add {WAGON}", chat_id=GROUP, expect=has_button("Поставить")
    )
    assert "08:00, 18:30" in text(summary)
    h.press(DISPATCHER, summary, "Поставить")
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "На слежении" in c.params["text"], timeout=10
    )
    adds = [params for action, _, params in sim.requests if action == "add"]
    assert len(adds) == 1 and adds[0]["times"] == "08:00,18:30"

    audit = await h.say(ADMIN, "/audit 5")
    assert "ALTA_POLL_SECONDS: 60 с → 120 с" in text(audit)
    assert "ALTA_TIMES: 09:00, 13:00, 18:00 → 08:00, 18:30" in text(audit)


async def test_choices_are_buttons_and_default_returns_to_the_environment(tmp_path, sim):
    async with alta_bot(tmp_path, sim, alta_region="sng") as h:
        home = await h.say(ADMIN, "/settings alta.region")
        assert "Источник" in text(home) or "из окружения" in text(home)
        assert any("СНГ" in label and "✅" in label for label in button_labels(home))
        picked = await press(h, ADMIN, home, "Россия")
        assert (
            "задал(а)" in text(picked)
            and await h.app.settings_values.get(alta_settings.REGION) == "ru"
        )
        back = await press(h, ADMIN, picked, "По умолчанию")
        assert "из окружения" in text(back)
        assert await h.app.settings_values.get(alta_settings.REGION) == "sng"
        actions = [e.action for e in await h.app.repos.audit.latest(5)]
        assert actions[:2] == ["setting.reset", "setting.set"]


async def test_bad_input_is_answered_and_changes_nothing(harness):
    h = harness
    unknown = await h.say(ADMIN, "/settings alta.speed 5")
    assert "Нет настройки «alta.speed»" in text(unknown)
    too_many = await h.say(ADMIN, "/settings alta.times 1:00,2:00,3:00,4:00")
    assert "❌ ALTA_TIMES: от 1 до 3" in text(too_many)
    zone = await h.say(DISPATCHER, "/settings chat.zone Mars/Olympus", chat_id=GROUP)
    assert "часовой пояс IANA" in text(zone)
    # A viewer: the bot's settings are not theirs to see, a group's not theirs to change.
    hidden = await h.say(VIEWER, "/settings alta.poll_seconds 60")
    assert "Нет настройки" in text(hidden)
    group = await h.say(VIEWER, "/settings chat.zone Asia/Omsk", chat_id=GROUP)
    assert "роль «диспетчер»" in text(group)
    screen = await h.say(VIEWER, "/settings", chat_id=GROUP)
    opened = await press(h, VIEWER, screen, "Часовой пояс")
    await press(h, VIEWER, opened, "Ввести")
    assert "роль «диспетчер»" in answered(h)
    assert await h.app.settings_values.get(alta_settings.TIMES) == (time(9), time(13), time(18))
    assert await h.app.settings_values.get(ZONE, ChatKey(GROUP)) is None
    assert not [e for e in await h.app.repos.audit.latest(20) if e.action.startswith("setting.")]


async def test_a_non_admin_press_and_an_old_press_change_nothing(harness):
    h = harness
    screen = await h.say(DISPATCHER, "/settings", chat_id=GROUP)
    assert "Настройки этого чата" in text(screen)
    # Buttons of the bot's settings, pressed from a group by a dispatcher (a crafted press).
    stamp = int(utcnow().timestamp())
    crafted = SettingsCb(act="pick", scope=GLOBAL, sec="alta", name="alta.region", pick=1, at=stamp)
    start = len(h.emu.calls)
    h.emu.client_sends_callback(DISPATCHER, screen["message_id"], crafted.pack(), chat_id=GROUP)
    await h.emu.wait_for_event(lambda c: c.method == "answerCallbackQuery", start=start)
    assert "администратор" in answered(h)
    assert await h.app.settings_values.get(alta_settings.REGION) == "ru"

    opened = await press(h, DISPATCHER, screen, "Язык")
    later = utcnow() + timedelta(minutes=11)
    set_clock(lambda: later)
    try:
        await press(h, DISPATCHER, opened, "English")
    finally:
        set_clock(None)
    assert "устарели" in answered(h)
    assert await h.app.settings_values.get(LANGUAGE, ChatKey(GROUP)) == "auto"


async def test_a_value_typed_by_someone_else_in_the_group_is_not_taken(harness):
    h = harness
    screen = await h.say(DISPATCHER, "/settings", chat_id=GROUP)
    opened = await press(h, DISPATCHER, screen, "Тихие часы")
    before = len(h.emu.messages(GROUP))
    await press(h, DISPATCHER, opened, "Ввести")
    question = h.emu.messages(GROUP)[before]
    assert "Тихие часы" in text(question)
    other = await h.say(
        SECOND, "23:00-06:00", chat_id=GROUP, reply_to_message_id=question["message_id"]
    )
    assert "ваш ответ не принят" in text(other)
    assert await h.app.settings_values.get(QUIET_HOURS, ChatKey(GROUP)) is None
    mine = await h.say(DISPATCHER, "22:00-07:00", chat_id=GROUP, expect=has_text("✅"))
    assert "22:00–07:00" in text(mine)
    prefs = await h.app.repos.subscriptions.prefs(GROUP)  # where routing reads it: one home
    assert (prefs.quiet_from, prefs.quiet_to) == (time(22), time(7))
    assert "22:00–07:00" in text(await h.say(VIEWER, "/subscriptions", chat_id=GROUP))


async def test_a_forum_topic_has_its_own_and_the_shortcuts_are_the_same_values(harness):
    h = harness
    h.emu.add_group(FORUM, "Логистика", supergroup=True, forum=True)
    h.emu.add_bot_to_group(ADMIN, FORUM)
    await h.emu.wait_for_message(FORUM, has_text("подключил"))
    topic = 5
    await h.say(ADMIN, "/timezone Asia/Omsk", chat_id=FORUM)
    screen = await h.say(ADMIN, "/settings", chat_id=FORUM, message_thread_id=topic)
    assert "Настройки этой темы" in text(screen)
    assert "Asia/Omsk — как во всём чате" in text(screen)
    await h.say(
        ADMIN, "/settings chat.zone Asia/Yekaterinburg", chat_id=FORUM, message_thread_id=topic
    )
    values = h.app.settings_values
    assert await values.get(ZONE, ChatKey(FORUM, topic)) == "Asia/Yekaterinburg"
    assert await values.get(ZONE, ChatKey(FORUM)) == "Asia/Omsk"
    english = await h.say(
        ADMIN, "/settings chat.language en", chat_id=FORUM, message_thread_id=topic
    )
    assert "✅" in text(english)
    help_text = await h.say(ADMIN, "/help", chat_id=FORUM, message_thread_id=topic)
    assert "Commands" in text(help_text) or "commands" in text(help_text)


async def test_secrets_are_on_no_screen(harness):
    h = harness
    secrets = [TOKEN, h.app.settings.alta_password.get_secret_value(), "BOT_TOKEN", "ALTA_PASSWORD"]
    seen: list[str] = []
    home = await h.say(ADMIN, "/settings")
    seen.append(str(home))
    for label in [lab for lab in button_labels(home) if "чат" not in lab.lower()]:
        section = await press(h, ADMIN, home, label)
        seen.append(str(section))
        for name in button_labels(section):
            if "Назад" in name:
                continue
            opened = await press(h, ADMIN, section, name)
            seen.append(str(opened))
            section = await press(h, ADMIN, opened, "Назад")
        home = await press(h, ADMIN, section, "Назад")
    seen.append(str(await h.say(DISPATCHER, "/settings", chat_id=GROUP)))
    for secret in ("bot_token", "alta_password", "database_url"):
        seen.append(str(await h.say(ADMIN, f"/settings {secret} x")))
    everything = "\n".join(seen)
    assert not [secret for secret in secrets if secret in everything]
    assert all(
        s.scope is Scope.CHAT or s.env for s in all_settings() if not s.name.startswith("test.")
    )
