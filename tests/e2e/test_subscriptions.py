"""Alert subscriptions end to end (bot + Telegram emulator), plus the argument parsers."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.kinds import KINDS
from bot.callbacks import SubscriptionsCb
from bot.phones import possible_phone
from bot.settings.kinds import find_zone
from handlers.subscription_words import (
    canonical,
    covered,
    parse_duration,
    parse_filter,
    parse_quiet,
    parse_selection,
    plan,
)
from integrations.base import Alert, Subject
from sandbox.harness import BotHarness
from storage.db import utcnow
from storage.users import Role
from tests.e2e.conftest import ADMIN, GROUP

DISPATCHER = 5005
VIEWER = 6006
OTHER_GROUP = -4005
FORUM = -1001234567890
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
async def harness(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN]) as h:
        assert h.app is not None
        h.emu.add_user(DISPATCHER, "Диспетчер")
        h.emu.add_user(VIEWER, "Наблюдатель")
        await h.app.repos.users.set_role(DISPATCHER, Role.DISPATCHER, by=ADMIN)
        await h.app.repos.users.set_role(VIEWER, Role.VIEWER, by=ADMIN)
        for chat_id, title in ((GROUP, "Диспетчерская"), (OTHER_GROUP, "Склад")):
            h.emu.add_group(chat_id, title)
            h.emu.add_bot_to_group(ADMIN, chat_id)
            await h.emu.wait_for_message(chat_id)  # the welcome: the group is approved
        yield h
        rejected = h.emu.rejected_calls()
        assert not rejected, f"the Bot API rejected requests: {rejected}"


async def say(h: BotHarness, user: int, text: str, chat: int | None = None, **kw: Any) -> str:
    reply = await h.say(user, text, chat_id=chat, **kw)
    return str(reply["text"])


async def tap(h: BotHarness, user: int, message: dict[str, Any], label: str) -> dict[str, Any]:
    """Press a button, wait for the bot to answer the tap; return the message as it is now."""
    start = len(h.emu.calls)
    query_id = h.press(user, message, label)
    answered = "answerCallbackQuery"
    await h.emu.wait_for_event(
        lambda c: c.method == answered and c.params.get("callback_query_id") == query_id,
        start=start,
    )
    chat = message["chat"]["id"]
    return next(m for m in h.emu.messages(chat) if m["message_id"] == message["message_id"])


def expected_clock(delta: timedelta, tz: ZoneInfo = MOSCOW) -> set[str]:
    """The resume time as the bot may print it, around now (a minute boundary may pass)."""
    moments = [utcnow() + delta + timedelta(seconds=s) for s in (-60, 0, 60)]
    return {m.astimezone(tz).strftime("%H:%M") for m in moments}


# --- end to end -------------------------------------------------------------------------------
async def test_subscribe_list_and_unsubscribe_in_a_group(harness):
    done = await say(harness, ADMIN, "/subscribe drivers", GROUP)
    assert "Подписка оформлена: Водители (Movizor)" in done
    listed = await say(harness, DISPATCHER, "/subscriptions", GROUP)
    assert "Оповещения этого чата" in listed and "• Водители (Movizor)" in listed
    assert "Часовой пояс: Europe/Moscow" in listed

    filtered = await say(harness, ADMIN, "/subscribe driver.late +7 (999) 123-45-67", GROUP)
    assert "Водитель опаздывает — только водитель +7 999 123-45-67" in filtered
    tagged = await say(harness, ADMIN, "/subscribe задачи -- tag:<Склад> Юг", GROUP)
    assert "тег «&lt;Склад&gt; Юг»" in (harness.emu.last_message(GROUP) or {})["raw_text"]
    assert "Задачи (Mobiforce) — только тег «<Склад> Юг»" in tagged
    subs = await harness.app.repos.subscriptions.for_chat(GROUP)
    assert {(s.selector, s.filter) for s in subs} == {
        ("area:drivers", ""),
        ("kind:driver.late", "driver:79991234567"),
        ("area:tasks", "tag:<Склад> Юг"),
    }

    gone = await say(harness, ADMIN, "/unsubscribe drivers", GROUP)
    assert "Подписка снята: Водители (Movizor)" in gone
    again = await say(harness, ADMIN, "/unsubscribe drivers", GROUP)
    assert "и так не приходят" in again

    await say(harness, ADMIN, "/subscribe все", GROUP)
    partly = await say(harness, ADMIN, "/unsubscribe такси", GROUP)
    assert "Подписка снята: Такси" in partly
    selectors = {s.selector for s in await harness.app.repos.subscriptions.for_chat(GROUP)}
    assert {"area:drivers", "area:tasks", "area:wagons", "area:system"} <= selectors
    assert "all" not in selectors and "area:taxi" not in selectors

    nonsense = await say(harness, ADMIN, "/subscribe nonsense", GROUP)
    assert "Не знаю: nonsense" in nonsense
    for word in ("drivers", "водители", "system", "driver.late", "Водитель опаздывает"):
        assert word in nonsense
    bad_filter = await say(harness, ADMIN, "/subscribe drivers -- tag:", GROUP)
    assert "Не понял фильтр" in bad_filter

    actions = [e.action for e in await harness.app.repos.audit.latest(50)]
    assert actions.count("alerts.subscribe") == 4 and actions.count("alerts.unsubscribe") == 2


async def test_keyboard_toggles_areas_and_kinds_in_place(harness):
    shown = await harness.say(ADMIN, "/subscribe", chat_id=GROUP)
    assert "Какие оповещения сюда приходят" in shown["text"]
    for button in shown["reply_markup"]["inline_keyboard"]:
        assert len(button[0]["callback_data"].encode()) < 64
    sent = len(harness.emu.messages(GROUP))

    edited = await tap(harness, ADMIN, shown, "Водители")
    assert harness.button_data(edited, "✅ Водители")
    assert [s.selector for s in await harness.app.repos.subscriptions.for_chat(GROUP)] == [
        "area:drivers"
    ]

    kinds = await tap(harness, ADMIN, edited, "Типы оповещений")
    assert "страница 1 из" in kinds["text"]
    assert harness.button_data(kinds, "✅ Водитель опаздывает")
    kinds = await tap(harness, ADMIN, kinds, "Водитель опаздывает")
    assert harness.button_data(kinds, "▫️ Водитель опаздывает")
    assert harness.button_data(kinds, "✅ Водитель успевает")
    page2 = await tap(harness, ADMIN, kinds, "След. страница")
    assert "страница 2 из" in page2["text"] and harness.button_data(page2, "Пред. страница")

    areas = await tap(harness, ADMIN, page2, "Назад")
    assert harness.button_data(areas, "◐ Водители")
    heard = covered(s.selector for s in await harness.app.repos.subscriptions.for_chat(GROUP))
    assert "driver.late" not in heard and "driver.on_time" in heard

    everything = await tap(harness, ADMIN, areas, "Все оповещения")
    assert harness.button_data(everything, "✅ Такси")
    assert [s.selector for s in await harness.app.repos.subscriptions.for_chat(GROUP)] == ["all"]
    assert len(harness.emu.messages(GROUP)) == sent  # every tap edited, none sent anew
    edits = harness.emu.calls_of("editMessageText")
    assert edits and all("reply_markup" in call.params for call in edits)


async def test_roles_viewer_refused_in_a_group_allowed_in_private(harness):
    refused = await say(harness, VIEWER, "/subscribe drivers", GROUP)
    assert "доступна роли «диспетчер»" in refused and "ваша роль — «наблюдатель»" in refused
    refused_mute = await say(harness, VIEWER, "/mute 1h", GROUP)
    assert "/mute" in refused_mute and "«диспетчер»" in refused_mute
    listed = await say(harness, VIEWER, "/subscriptions", GROUP)
    assert "Подписок нет" in listed
    assert await harness.app.repos.subscriptions.for_chat(GROUP) == []

    keyboard = await harness.say(DISPATCHER, "/subscribe", chat_id=GROUP)
    await tap(harness, VIEWER, keyboard, "Водители")
    assert await harness.app.repos.subscriptions.for_chat(GROUP) == []
    assert any(
        "Недостаточно прав" in str(c.params.get("text"))
        for c in harness.emu.calls_of("answerCallbackQuery")
    )

    own = await say(harness, VIEWER, "/subscribe drivers")
    assert "Подписка оформлена" in own
    assert [s.selector for s in await harness.app.repos.subscriptions.for_chat(VIEWER)] == [
        "area:drivers"
    ]
    assert "Тихие часы" in await say(harness, VIEWER, "/quiet 23-6")


async def test_mute_quiet_and_time_zone(harness):
    muted = await say(harness, DISPATCHER, "/mute 2h", GROUP)
    assert "выключена до" in muted and "Europe/Moscow" in muted
    # It says plainly what happens meanwhile: the feed is lost, the chat's own watch is not.
    assert "не будет прислано и потом" in muted and "по-прежнему сообщают" in muted
    assert any(clock in muted for clock in expected_clock(timedelta(hours=2)))
    prefs = await harness.app.repos.subscriptions.prefs(GROUP)
    assert prefs.muted_until is not None
    assert timedelta(minutes=119) < prefs.muted_until - utcnow() <= timedelta(hours=2)
    assert "🔕 до" in await say(harness, DISPATCHER, "/subscriptions", GROUP)
    assert "снова включены" in await say(harness, DISPATCHER, "/unmute", GROUP)
    assert (await harness.app.repos.subscriptions.prefs(GROUP)).muted_until is None
    for bad in ("/mute", "/mute 8d", "/mute скоро"):
        assert "Использование" in await say(harness, DISPATCHER, bad, GROUP)

    quiet = await say(harness, DISPATCHER, "/quiet 22:00-07:00", GROUP)
    assert "Тихие часы: 22:00–07:00" in quiet
    prefs = await harness.app.repos.subscriptions.prefs(GROUP)
    assert (prefs.quiet_from, prefs.quiet_to) == (time(22, 0), time(7, 0))
    assert "Тихие часы: 22:00–07:00" in await say(harness, DISPATCHER, "/subscriptions", GROUP)
    assert "Использование" in await say(harness, DISPATCHER, "/quiet 25:00-01:00", GROUP)
    assert "выключены" in await say(harness, DISPATCHER, "/quiet off", GROUP)
    assert (await harness.app.repos.subscriptions.prefs(GROUP)).quiet_from is None

    zone = await say(harness, DISPATCHER, "/timezone asia/yekaterinburg", GROUP)
    assert "Asia/Yekaterinburg" in zone
    assert (await harness.app.repos.subscriptions.prefs(GROUP)).timezone == "Asia/Yekaterinburg"
    assert "Asia/Yekaterinburg" in await say(harness, VIEWER, "/timezone", GROUP)
    unknown = await say(harness, DISPATCHER, "/timezone Mars/Olympus", GROUP)
    assert "Не знаю часовой пояс «Mars/Olympus»" in unknown and "Europe/Moscow" in unknown
    local = await say(harness, DISPATCHER, "/mute 30м", GROUP)
    yekaterinburg = ZoneInfo("Asia/Yekaterinburg")
    assert any(c in local for c in expected_clock(timedelta(minutes=30), yekaterinburg))
    assert "Asia/Yekaterinburg" in local

    actions = {e.action for e in await harness.app.repos.audit.latest(50)}
    assert {"alerts.mute", "alerts.unmute", "setting.set"} <= actions


async def test_a_forum_topic_keeps_its_own_subscriptions(harness):
    harness.emu.add_group(FORUM, "Логистика", supergroup=True, forum=True)
    harness.emu.add_bot_to_group(ADMIN, FORUM)
    await harness.emu.wait_for_message(FORUM)

    reply = await harness.say(ADMIN, "/subscribe drivers", chat_id=FORUM, message_thread_id=5)
    assert reply.get("message_thread_id") == 5  # answered inside the topic
    await say(harness, ADMIN, "/subscribe wagons", FORUM, message_thread_id=7)
    await say(harness, ADMIN, "/mute 1h", FORUM, message_thread_id=7)

    drivers_topic = await say(harness, ADMIN, "/subscriptions", FORUM, message_thread_id=5)
    assert "Оповещения этой темы" in drivers_topic
    assert "Водители" in drivers_topic and "Вагоны" not in drivers_topic
    assert "🔕" not in drivers_topic
    repo = harness.app.repos.subscriptions
    assert [s.selector for s in await repo.for_chat(FORUM, 5)] == ["area:drivers"]
    assert [s.selector for s in await repo.for_chat(FORUM, 7)] == ["area:wagons"]
    assert await repo.for_chat(FORUM, 0) == []

    keyboard = await harness.say(ADMIN, "/subscribe", chat_id=FORUM, message_thread_id=7)
    await tap(harness, ADMIN, keyboard, "Такси")
    assert {s.selector for s in await repo.for_chat(FORUM, 7)} == {"area:wagons", "area:taxi"}
    assert [s.selector for s in await repo.for_chat(FORUM, 5)] == ["area:drivers"]


def driver_alert(kind: str, phone: str, n: int) -> Alert:
    return Alert(
        kind=kind,
        source="test",
        subject=Subject("driver", phone, "Иванов"),
        occurred_at=utcnow(),
        dedupe_key=f"test-{n}",
    )


async def outbox_targets(h: BotHarness) -> list[tuple[int, int, str]]:
    """Every outbox row's (chat, topic, kind), in any state: the sender may already have
    delivered a row by the time we look, so ``outbox.due()`` alone would race with it."""
    assert h.app is not None
    rows = await h.app.repos.db.fetchall("SELECT chat_id, thread_id, kind FROM outbox ORDER BY id")
    return [(row.chat_id, row.thread_id, row.kind) for row in rows]


async def test_subscriptions_route_alerts_through_the_pipeline(harness):
    await say(harness, DISPATCHER, "/subscribe driver.late", GROUP)
    await say(harness, ADMIN, "/subscribe drivers -- 8 999 000-00-01", OTHER_GROUP)
    await say(harness, VIEWER, "/subscribe водители")
    await say(harness, VIEWER, "/mute 1д")
    pipeline = harness.app.pipeline

    assert await pipeline.commit("test", [driver_alert("driver.late", "79991234567", 1)], None)
    assert await outbox_targets(harness) == [(GROUP, 0, "driver.late")]
    due = await harness.app.repos.outbox.due()
    assert {row.chat_id for row in due} <= {GROUP}  # pending, unless already sent

    await pipeline.commit("test", [driver_alert("driver.late", "79990000001", 2)], None)
    chats = sorted(chat for chat, _thread, _kind in await outbox_targets(harness))
    assert chats == sorted([GROUP, GROUP, OTHER_GROUP])

    # The sender may be posting the alerts into the group meanwhile: wait for our answer.
    await harness.say(
        DISPATCHER, "/unsubscribe driver.late", chat_id=GROUP, expect=lambda m: "снята" in m["text"]
    )
    third = [driver_alert("driver.late", "79991234567", 3)]
    assert await pipeline.commit("test", third, None) == 0  # nobody hears the third
    assert len(await outbox_targets(harness)) == 3


# --- parsers (pure) -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("30m", 30),
        ("30м", 30),
        ("2h", 120),
        ("2ч", 120),
        ("1d", 1440),
        ("1д", 1440),
        ("90", 90),
        ("1h30m", 90),
        ("1 час", 60),
        ("7d", 7 * 1440),
    ],
)
def test_durations(text, minutes):
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "0", "8d", "10081", "2x", "скоро", "1 30", "-5m", "1.5h"])
def test_bad_durations(text):
    assert parse_duration(text) is None


@given(st.integers(min_value=1, max_value=7 * 24 * 60), st.sampled_from(["m", "м", "min", ""]))
def test_any_minute_count_up_to_a_week(minutes, unit):
    assert parse_duration(f"{minutes}{unit}") == timedelta(minutes=minutes)


@given(st.integers(min_value=7 * 24 + 1, max_value=10**5))
def test_more_than_a_week_is_refused(hours):
    assert parse_duration(f"{hours}h") is None


@given(
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.sampled_from(["-", "–", " - ", " до "]),
)
def test_quiet_ranges_round_trip(start, end, dash):
    parsed = parse_quiet(f"{start:%H:%M}{dash}{end:%H:%M}")
    assert parsed == (None if start == end else (start, end))


@pytest.mark.parametrize(
    ("text", "window"),
    [("22-7", (time(22), time(7))), ("23.30—6.00", (time(23, 30), time(6)))],
)
def test_quiet_short_forms(text, window):
    assert parse_quiet(text) == window


@pytest.mark.parametrize("text", ["22:00", "24:00-07:00", "22:60-07:00", "ночью", "7-7"])
def test_bad_quiet_ranges(text):
    assert parse_quiet(text) is None


@given(st.from_regex(r"9[0-9]{9}", fullmatch=True))
def test_phone_forms_normalise_alike(national):
    spaced = f"+7 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"
    for form in (f"7{national}", f"8{national}", f"+7{national}", national, spaced):
        assert possible_phone(form) == f"7{national}"


@pytest.mark.parametrize("text", ["12345", "+1 202 555 0100", "drivers", "7999123456789", ""])
def test_not_phones(text):
    assert possible_phone(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tag:Склад", "tag:Склад"),
        ("тег:Склад", "tag:Склад"),
        ("task:123", "task:123"),
        ("order:456", "order:456"),
        ("wagon:54676515", "wagon:54676515"),
        ("container:msku1234567", "container:MSKU1234567"),
        ("driver:8 999 123 45 67", "driver:79991234567"),
        ("89991234567", "driver:79991234567"),
        ("wagon:123", None),
        ("task:", None),
        ("color:red", None),
    ],
)
def test_filters(text, expected):
    assert parse_filter(text) == expected


def test_selections():
    both = parse_selection("drivers driver.late +7 999 123-45-67")
    assert both.selectors == ("area:drivers", "kind:driver.late")
    assert both.filter == "driver:79991234567" and not both.unknown
    assert parse_selection("такси, вагоны").selectors == ("area:taxi", "area:wagons")
    assert parse_selection("all drivers").selectors == ("all",)
    assert parse_selection("-- tag:Склад Южный").filter == "tag:Склад Южный"
    assert parse_selection("drivers bogus").unknown == ("bogus",)
    assert parse_selection("drivers -- nothing").bad_filter == "nothing"
    assert parse_selection("task:1 task:2").bad_filter is not None


def test_time_zones():
    assert find_zone("asia/yekaterinburg") == "Asia/Yekaterinburg"
    assert find_zone("Europe/Moscow") == "Europe/Moscow"
    for bad in ("Mars/Olympus", "../etc/passwd", ""):
        assert find_zone(bad) is None


def test_callback_data_stays_short():
    longest = max(KINDS, key=len)
    assert len(SubscriptionsCb(view="k", page=99, sel=longest).pack().encode()) < 64


@given(st.sets(st.sampled_from(sorted(KINDS))))
def test_canonical_form_keeps_the_kinds(kinds):
    assert covered(canonical(kinds)) == kinds


@given(st.sets(st.sampled_from(sorted(KINDS))), st.sampled_from(sorted(KINDS)))
def test_subscribe_then_unsubscribe_a_kind(kinds, kind):
    start = canonical(kinds)
    add, remove = plan(start, [f"kind:{kind}"], subscribe=True)
    after = (start | add) - remove
    assert covered(after) == kinds | {kind}
    add, remove = plan(after, [f"kind:{kind}"], subscribe=False)
    assert covered((after | add) - remove) == kinds - {kind}


async def test_the_system_area_is_for_admins_in_private(harness):
    """Integration errors and skipped event ids are internals: a group cannot subscribe to
    them (by word or by keyboard); an admin in private can."""
    for words in ("system", "system.integration_down", "drivers system"):
        answer = await say(harness, DISPATCHER, f"/subscribe {words}", GROUP)
        assert "только админы" in answer, answer
    assert await harness.app.repos.subscriptions.for_chat(GROUP) == []
    assert "только админы" in await say(harness, ADMIN, "/subscribe system", GROUP)
    assert "только админы" in await say(harness, DISPATCHER, "/subscribe system")

    board = await harness.say(DISPATCHER, "/subscribe", chat_id=GROUP)
    start = len(harness.emu.calls)
    harness.press(DISPATCHER, board, "Системные")
    toast = await harness.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery", start=start
    )
    assert "только админы" in toast.params["text"]
    assert await harness.app.repos.subscriptions.for_chat(GROUP) == []

    assert "только админы" not in await say(harness, ADMIN, "/subscribe system")
    subs = await harness.app.repos.subscriptions.for_chat(ADMIN)
    assert [s.selector for s in subs] == ["area:system"]
