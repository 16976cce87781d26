"""Escalation end to end on a simulated clock: alerts committed through the real pipeline (the
watcher is the edge), the real sender and Telegram emulator, a real database; the escalation
job is called after each move of the clock (the scheduler's own tick is far away)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.history.recorder import ESCALATION_ACKED
from integrations.base import Alert, Subject
from sandbox.harness import BotHarness
from storage.db import set_clock, utcnow
from storage.users import Role
from tests.e2e.conftest import eventually

ADMIN = 71
ONCALL, OTHER, VIEWER, SHY = 81, 82, 83, 84
GROUP = -1001234500001
PHONE = "79991112233"

pytestmark = pytest.mark.both_databases


class Clock:
    """The bot's one clock, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
async def clock():
    moving = Clock()
    set_clock(moving)
    yield moving
    set_clock(None)


async def open_world(tmp_path, database_url, *, shy_started: bool = True):
    h = BotHarness(
        tmp_path,
        database_url=database_url,
        admin_ids=[ADMIN],
        settings={"escalation_tick_seconds": 300},
    )
    await h.__aenter__()
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP)  # the welcome
    people = {
        ONCALL: ("Ольга", "olga", Role.DISPATCHER, True),
        OTHER: ("Борис", "boris", Role.DISPATCHER, True),
        VIEWER: ("Вика", "vika", Role.VIEWER, True),
        SHY: ("Семён", "semen", Role.DISPATCHER, shy_started),
    }
    for user_id, (name, username, role, started) in people.items():
        h.emu.add_user(user_id, name, username=username, started=started)
        h.emu.set_member_status(GROUP, user_id, "member")
        await h.app.repos.users.set_role(user_id, role, by=ADMIN)
    await h.app.repos.subscriptions.add(GROUP, 0, "area:drivers", by=ADMIN)
    return h


async def meet(h: BotHarness, user_id: int) -> None:
    """The person writes to the bot once (so it knows their name and username)."""
    await h.say(user_id, "/start")


def alert(kind: str, n: int) -> Alert:
    return Alert(
        kind=kind,
        source="test",
        subject=Subject("driver", PHONE, "Петров И.И."),
        occurred_at=utcnow(),
        dedupe_key=f"{kind}:{n}",
    )


async def left_route(h: BotHarness, n: int = 1) -> dict:
    """The alert, once its message is in the group AND its outbox row knows that message (the
    sender records it a moment after Telegram answers; a repeat replies to it)."""
    await h.app.pipeline.commit("test", [alert("driver.left_route", n)], None)
    message = await h.emu.wait_for_message(GROUP, lambda m: "ушёл с маршрута" in m["text"])

    async def recorded() -> bool:
        row = await h.app.repos.outbox.of_alert(GROUP, 0, f"driver.left_route:{n}")
        return row is not None and row.message_id is not None

    await eventually(recorded)
    return message


async def step(h: BotHarness, clock: Clock, minutes: float) -> None:
    clock.advance(minutes)
    await h.app.escalation.tick()


def escalations_in(h: BotHarness, chat_id: int) -> list[dict]:
    return [m for m in h.emu.messages(chat_id) if "Никто не принял" in m.get("text", "")]


async def the_chain(h: BotHarness):
    chains = await h.app.repos.escalations.open_chains()
    assert len(chains) == 1
    return chains[0]


@pytest.fixture
async def world(tmp_path, database_url, clock):
    h = await open_world(tmp_path, database_url)
    for user_id in (ONCALL, OTHER, VIEWER, SHY, ADMIN):
        await meet(h, user_id)
    yield h
    # (A restart leaves the old process's long poll to be ended by the new one's: Telegram's 409.)
    assert [c for c in h.emu.rejected_calls() if c.method != "getUpdates"] == []
    await h.__aexit__(None, None, None)


async def put_on_call(h: BotHarness) -> None:
    reply = await h.say(
        ADMIN,
        "/oncall add @olga ежедневно 00:00-00:00",
        chat_id=GROUP,
        expect=lambda m: "дежурит" in m["text"],
    )
    assert "Ольга" in reply["text"]


async def test_the_full_chain_of_an_alert_nobody_takes(world, clock):
    h = world
    await put_on_call(h)
    original = await left_route(h)
    await h.app.escalation.tick()  # armed: the chat's chain, fixed for this alert
    await step(h, clock, 9)
    assert escalations_in(h, GROUP) == []  # not before its time
    await step(h, clock, 1)
    repeat = escalations_in(h, GROUP)
    assert len(repeat) == 1
    assert repeat[0]["reply_to_message"]["message_id"] == original["message_id"]
    assert "Ольга" in repeat[0]["text"]  # who is on call, named
    await step(h, clock, 10)
    private = escalations_in(h, ONCALL)
    assert len(private) == 1 and "Петров" in private[0]["text"]
    assert "Принял" in str(private[0]["reply_markup"])
    assert escalations_in(h, OTHER) == []
    await step(h, clock, 10)  # the chat's dispatchers (Ольга has hers from this round)
    assert len(escalations_in(h, OTHER)) == 1 and len(escalations_in(h, SHY)) == 1
    assert len(escalations_in(h, ONCALL)) == 1
    assert escalations_in(h, VIEWER) == []  # a viewer is not a dispatcher
    await step(h, clock, 10)  # the admins
    assert len(escalations_in(h, ADMIN)) == 1
    for _round_two in range(4):
        await step(h, clock, 10)
    # Round two: the repeat again, and everyone once more.
    assert len(escalations_in(h, GROUP)) == 2 and len(escalations_in(h, ONCALL)) == 2
    chain = (await h.app.repos.escalations.copies(1)) and await h.app.repos.escalations.get(1)
    assert chain is not None and chain.state == "exhausted"
    await step(h, clock, 60)
    assert len(escalations_in(h, GROUP)) == 2  # over: nothing more
    metrics = h.app.metrics.escalation_steps
    assert metrics.labels("chat")._value.get() == 2


async def test_an_ack_in_private_stops_the_chain_and_edits_every_copy(world, clock):
    h = world
    await put_on_call(h)
    original = await left_route(h)
    await h.app.escalation.tick()
    await step(h, clock, 10)
    await step(h, clock, 10)
    private = escalations_in(h, ONCALL)[0]
    h.press(ONCALL, private, "Принял")
    await eventually(lambda: _no_open(h))
    mine = await h.emu.wait_for_message(ONCALL, lambda m: "Принял(а) Ольга" in m["text"])
    assert mine["message_id"] == private["message_id"]  # edited, not a new message
    assert mine.get("reply_markup") is None
    await eventually(lambda: _says_taken(h, GROUP, original["message_id"]))
    repeat = escalations_in(h, GROUP)[0]
    await eventually(lambda: _says_taken(h, GROUP, repeat["message_id"]))
    await step(h, clock, 30)
    assert escalations_in(h, OTHER) == []  # stopped: the dispatchers are not bothered
    chain = await h.app.repos.escalations.get(1)
    assert chain is not None and chain.closed_by == ONCALL
    assert (chain.closed_at - chain.opened_at) == timedelta(minutes=20)  # time to ack kept
    # ... and in the group's history, where the digest's escalation line reads it.
    history = await h.app.repos.history.between(
        GROUP, 0, chain.opened_at, chain.closed_at + timedelta(seconds=1)
    )
    [acked] = [event for event in history if event.kind == ESCALATION_ACKED]
    assert acked.subject_key == chain.subject_key and acked.minutes == 20


async def _no_open(h: BotHarness) -> bool:
    return await h.app.repos.escalations.count_open() == 0


async def _says_taken(h: BotHarness, chat_id: int, message_id: int) -> bool:
    for message in h.emu.messages(chat_id):
        if message["message_id"] == message_id:
            return "Принял(а) Ольга" in message["text"]
    return False


async def test_an_ack_on_the_group_alert_stops_the_chain(world, clock):
    h = world
    original = await left_route(h)
    await h.app.escalation.tick()
    await step(h, clock, 10)
    h.press(OTHER, original, "Принял")
    await eventually(lambda: _no_open(h))
    repeat = escalations_in(h, GROUP)[0]
    await eventually(lambda: _says_taken_by(h, GROUP, repeat["message_id"], "Борис"))
    await step(h, clock, 30)
    assert escalations_in(h, ONCALL) == [] and escalations_in(h, OTHER) == []


async def _says_taken_by(h: BotHarness, chat_id: int, message_id: int, name: str) -> bool:
    for message in h.emu.messages(chat_id):
        if message["message_id"] == message_id:
            return f"Принял(а) {name}" in message["text"]
    return False


async def test_a_viewer_cannot_stop_a_groups_chain(world, clock):
    h = world
    original = await left_route(h)
    await h.app.escalation.tick()
    await step(h, clock, 10)
    repeat = escalations_in(h, GROUP)[0]
    answers = len(h.emu.callback_answers)
    h.press(VIEWER, original, "Принял")
    h.press(VIEWER, repeat, "Принял")
    await eventually(lambda: _answered(h, answers + 2))
    assert await h.app.repos.escalations.count_open() == 1
    await step(h, clock, 10)
    assert len(escalations_in(h, OTHER)) == 1  # nobody on call: the dispatchers


async def _answered(h: BotHarness, count: int) -> bool:
    return len(h.emu.callback_answers) >= count


async def test_nobody_on_call_goes_to_the_dispatchers(world, clock):
    h = world
    await left_route(h)
    await h.app.escalation.tick()
    await step(h, clock, 10)
    assert "Дежурного нет" in escalations_in(h, GROUP)[0]["text"]
    await step(h, clock, 10)  # the on-call step
    assert len(escalations_in(h, ONCALL)) == 1 and len(escalations_in(h, OTHER)) == 1
    assert escalations_in(h, VIEWER) == [] and escalations_in(h, ADMIN) == []


async def test_the_chain_stops_when_the_driver_is_back_on_route(world, clock):
    h = world
    await put_on_call(h)
    await left_route(h)
    await h.app.escalation.tick()
    await step(h, clock, 10)
    await step(h, clock, 10)
    await h.app.pipeline.commit("test", [alert("driver.returned_route", 2)], None)
    assert await h.app.repos.escalations.count_open() == 0
    await h.app.escalation.tick()  # the owed edits
    for chat in (GROUP, ONCALL):
        texts = [m["text"] for m in escalations_in(h, chat)]
        assert texts and all("Само разрешилось" in t for t in texts), texts
    await step(h, clock, 30)
    assert escalations_in(h, OTHER) == []


async def test_a_muted_group_gets_no_repeat_but_the_private_steps_go(world, clock):
    h = world
    await put_on_call(h)
    await h.app.repos.subscriptions.set_mute(GROUP, 0, utcnow() + timedelta(hours=5))
    await h.app.pipeline.commit("test", [alert("driver.left_route", 1)], None)
    await h.app.escalation.tick()
    await step(h, clock, 10)
    assert escalations_in(h, GROUP) == []
    await step(h, clock, 10)
    assert len(escalations_in(h, ONCALL)) == 1


async def test_a_refusal_is_told_in_status_and_the_chain_goes_on(tmp_path, database_url, clock):
    h = await open_world(tmp_path, database_url, shy_started=False)
    try:
        await left_route(h)
        await h.app.escalation.tick()
        await step(h, clock, 10)
        await step(h, clock, 10)  # nobody on call: the dispatchers; Семён never started the bot
        assert len(escalations_in(h, OTHER)) == 1
        status = await h.say(ADMIN, "/status", expect=lambda m: "эскалации" in m["text"])
        assert "не доставлено" in status["text"] and "не начал(а) диалог" in status["text"]
        await step(h, clock, 10)  # the dispatchers' own step
        await step(h, clock, 10)
        assert len(escalations_in(h, ADMIN)) == 1  # the chain went on
    finally:
        await h.__aexit__(None, None, None)


async def test_a_restart_mid_chain_loses_no_step_and_doubles_none(world, clock):
    h = world
    await put_on_call(h)
    await left_route(h)
    await h.app.escalation.tick()
    await step(h, clock, 10)
    await h.stop_bot()
    await h.start_bot()
    await step(h, clock, 10)
    assert len(escalations_in(h, GROUP)) == 1  # the repeat was not sent again
    assert len(escalations_in(h, ONCALL)) == 1
    await step(h, clock, 10)
    assert len(escalations_in(h, OTHER)) == 1


MONDAY_10_MSK = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 10:00 in Moscow, 12:00 in Yekaterinburg


def says(word: str):
    return lambda m: word in m.get("text", "")


async def test_the_rota_is_set_and_read_from_the_group_in_its_zone(world, clock):
    h = world
    clock.now = MONDAY_10_MSK
    refused = await h.say(VIEWER, "/oncall add @olga пн-пт 09:00-18:00", chat_id=GROUP)
    assert "/oncall" in refused["text"] and await h.app.repos.oncall.of_chat(GROUP, 0) == []
    viewer = await h.say(ADMIN, "/oncall add @vika ежедневно 00:00-00:00", chat_id=GROUP)
    assert "не диспетчер" in viewer["text"]
    await h.say(ADMIN, "/oncall add @olga пн-пт 09:00-18:00", chat_id=GROUP, expect=says("✅"))
    shown = await h.say(VIEWER, "/oncall", chat_id=GROUP, expect=says("Дежурства"))
    assert "Europe/Moscow" in shown["text"] and "Сейчас дежурит: Ольга" in shown["text"]
    assert "Дальше: никто с 07.12.2026 18:00" in shown["text"]
    await h.say(ADMIN, "/timezone Asia/Yekaterinburg", chat_id=GROUP, expect=says("Yekaterinburg"))
    shown = await h.say(VIEWER, "/oncall", chat_id=GROUP, expect=says("Дежурства"))
    assert "Сейчас дежурит: Ольга" in shown["text"]  # 12:00 there
    assert "Дальше: никто с 07.12.2026 18:00" in shown["text"]  # 18:00 of Yekaterinburg
    clock.now = MONDAY_10_MSK + timedelta(hours=6)  # 18:00 in Yekaterinburg: handed over
    shown = await h.say(VIEWER, "/oncall", chat_id=GROUP, expect=says("Дежурства"))
    assert "никто не дежурит" in shown["text"]
    await h.say(
        ADMIN, "/oncall rotate @boris @semen пн 09:00", chat_id=GROUP, expect=says("ротация")
    )
    shown = await h.say(VIEWER, "/oncall", chat_id=GROUP, expect=says("Дежурства"))
    assert "Сейчас дежурит: " in shown["text"] and "ротация №2" in shown["text"]
    await h.say(ADMIN, "/oncall remove @olga", chat_id=GROUP, expect=says("больше не дежурит"))
    private = await h.say(ADMIN, "/oncall")
    assert "в группе" in private["text"]


async def test_the_chain_is_changed_from_the_group_and_followed(world, clock):
    h = world
    default = await h.say(VIEWER, "/escalation", chat_id=GROUP, expect=says("Цепочка"))
    assert "1. через 10 мин → повтор в чате" in default["text"]  # the chat's wait, filled in
    assert "None" not in default["text"]
    wrong = await h.say(ADMIN, "/escalation 5 чат 5", chat_id=GROUP)
    assert "ожидание без шага" in wrong["text"]
    saved = await h.say(ADMIN, "/escalation 5 чат 5 @boris", chat_id=GROUP, expect=says("✅"))
    assert "через 5 мин → в личку: Борис" in saved["text"]
    await left_route(h)
    await h.app.escalation.tick()
    await step(h, clock, 5)
    assert len(escalations_in(h, GROUP)) == 1
    await step(h, clock, 5)
    assert len(escalations_in(h, OTHER)) == 1 and escalations_in(h, ONCALL) == []
    shown = await h.say(VIEWER, "/escalation", chat_id=GROUP, expect=says("Цепочка"))
    assert "Кругов: 2" in shown["text"]
    await h.say(ADMIN, "/escalation по умолчанию", chat_id=GROUP, expect=says("✅"))
    assert await h.app.repos.escalations.chain(GROUP, 0) is None


async def test_the_chats_settings_screen_has_the_escalation_and_its_values_rule_it(world, clock):
    h = world
    screen = await h.say(ADMIN, "/settings", chat_id=GROUP, expect=says("Эскалация"))
    # The kinds by their names, each with the code one types to change the list.
    assert "Водитель ушёл с маршрута (driver.left_route)" in screen["text"]
    h.press(ADMIN, screen, "Эскалация и дежурства")
    await h.emu.wait_for_message(GROUP, says("Цепочка эскалации"))
    await h.say(ADMIN, "/settings escalation.rounds 1", chat_id=GROUP, expect=says("1"))
    await h.say(ADMIN, "/settings escalation.wait 3", chat_id=GROUP, expect=says("3"))
    refused = await h.say(ADMIN, "/settings escalation.kinds driver.arrived", chat_id=GROUP)
    assert "не срочный" in refused["text"]
    await left_route(h)
    await h.app.escalation.tick()
    for _minute in range(4 * 3):  # one round of four steps, three minutes apart
        await step(h, clock, 1)
    assert len(escalations_in(h, GROUP)) == 1 and len(escalations_in(h, ADMIN)) == 1
    await step(h, clock, 30)
    assert len(escalations_in(h, GROUP)) == 1  # one round only
    await h.say(ADMIN, "/settings escalation.enabled off", chat_id=GROUP, expect=says("выкл"))
    await h.app.pipeline.commit("test", [alert("driver.left_route", 9)], None)
    await h.app.escalation.tick()
    assert await h.app.repos.escalations.count_open() == 0  # not escalated here


async def test_quiet_hours_never_hold_an_urgent_step_back(world, clock):
    h = world
    clock.now = MONDAY_10_MSK
    await put_on_call(h)
    await h.say(ADMIN, "/quiet 00:00-23:59", chat_id=GROUP, expect=says("00:00"))
    await left_route(h)  # urgent: it passes quiet hours, and so do its steps
    await h.app.escalation.tick()
    await step(h, clock, 10)
    await step(h, clock, 10)
    assert len(escalations_in(h, GROUP)) == 1 and len(escalations_in(h, ONCALL)) == 1
