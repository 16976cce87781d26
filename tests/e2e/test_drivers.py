"""Movizor commands end to end: bot + Telegram emulator + Movizor simulator over loopback."""

import re
from datetime import datetime, timedelta

import pytest

from handlers.movizor import locate as movizor_locate
from sandbox.harness import BotHarness
from sandbox.simulators.movizor.simulator import MovizorSimulator
from storage.db import utcnow
from tests.e2e.conftest import ADMIN, eventually

VIEWER = 5005
PHONE = "79991234567"  # typed below as "+7 (999) 123-45-67"
TITLE = 'Петров <И.И.> & "Ко"'
MOSCOW = ("Москва", 55.755826, 37.617300)
TVER = ("Тверь", 56.859611, 35.911896)
KHIMKI = ("Химки", 55.889361, 37.444994)


def text(message: dict) -> str:
    return message.get("text", "")


def has_text(fragment: str):
    return lambda message: fragment in text(message)


def has_button(fragment: str):
    return lambda message: any(fragment in label for label in button_labels(message))


def button_labels(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def _first_time(message_text: str) -> datetime:
    found = re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", message_text)
    assert found, message_text
    return datetime.strptime(found.group(0), "%d.%m.%Y %H:%M")


def calls(sim: MovizorSimulator, function: str) -> int:
    return sum(1 for name, _ in sim.requests if name == function)


@pytest.fixture
async def sim():
    simulator = MovizorSimulator(project="test", key="test-key")
    await simulator.start()
    now = utcnow()
    simulator.add_driver(
        PHONE,
        TITLE,
        [(*MOSCOW, now), (*TVER, now + timedelta(hours=3))],
        tariff="15",
    )
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim, monkeypatch):
    monkeypatch.setattr(movizor_locate, "REFRESH_POLL_SECONDS", 0.02)
    settings = {
        "movizor_project": "test",
        "movizor_key": "test-key",
        "movizor_base_url": sim.base_url,
        # The directory sync's background calls would land at random moments too.
        "movizor_directory_sync_hours": 0,
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        # The watcher's polls would add requests and alerts at random moments: drive by hand.
        await h.app.scheduler.set_paused("movizor", True, by=ADMIN)
        yield h
        rejected = h.emu.rejected_calls()
        assert not rejected, f"the Bot API rejected requests: {rejected}"


async def test_locate_sends_the_point_and_a_card_naming_the_driver(harness, sim):
    location = await harness.say(
        ADMIN, "/locate +7 (999) 123-45-67", expect=lambda m: "location" in m
    )
    fix = sim.object(PHONE).last_fix
    assert location["location"]["latitude"] == pytest.approx(fix.lat, abs=1e-5)
    assert location["location"]["longitude"] == pytest.approx(fix.lon, abs=1e-5)
    card = await harness.emu.wait_for_message(
        ADMIN, has_text(TITLE), after_message_id=location["message_id"]
    )
    assert TITLE in text(card)
    assert "+7 999 123-45-67" in text(card)
    assert "Прогноз: успевает в срок" in text(card)
    assert f"{fix.lat:.4f}" not in text(card)  # the map point right above says where
    assert button_labels(card) == ["🔄 Обновить"]
    known = await harness.app.repos.drivers.get(PHONE)
    assert known is not None and known.title == TITLE  # learnt once, remembered


async def test_locate_by_name_and_a_bad_phone_costs_no_request(harness, sim):
    before = sim.request_count
    reply = await harness.say(ADMIN, "/locate 8-999-123-45")
    assert "Не понял номер «8-999-123-45»" in text(reply)
    assert sim.request_count == before

    await harness.app.repos.drivers.upsert("79161234501", "Петров А.А.", ("Казань",))
    await harness.app.repos.drivers.upsert(PHONE, TITLE, ("Казань",))
    sim.add_driver("79161234501", "Петров А.А.")
    pick = await harness.say(ADMIN, "/locate петров")
    assert "несколько водителей" in text(pick)
    harness.press(ADMIN, pick, "Петров А.А.")
    card = await harness.emu.wait_for_message(
        ADMIN, has_text("Петров А.А."), after_message_id=pick["message_id"]
    )
    assert "+7 916 123-45-01" in text(card)
    missing = await harness.say(ADMIN, "/locate Сидоров")
    assert "нет водителя «Сидоров»" in text(missing)


async def test_refresh_goes_pending_then_done_and_the_5_minute_rule_is_explained(harness, sim):
    await harness.say(ADMIN, f"/locate {PHONE}", expect=has_button("Обновить"))
    card = harness.emu.last_message(ADMIN)
    start = len(harness.emu.calls)
    harness.press(ADMIN, card, "Обновить")
    harness.press(ADMIN, card, "Обновить")  # a double tap: one request, one progress edit
    await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "Запрашиваю" in c.params["text"], start=start
    )
    await harness.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery" and "Уже запрашиваю" in str(c.params),
        start=start,
    )

    async def polled_while_queued():
        return calls(sim, "pos_get") >= 1

    await eventually(polled_while_queued)  # MovizorRequestPending: still queued
    sim.advance(31)  # the operator answers
    done = await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "Запрашиваю" not in c.params["text"],
        start=start,
    )
    assert TITLE in done.result["text"] and "точность" in done.result["text"]
    new_fix = sim.object(PHONE).last_fix
    sent = [c for c in harness.emu.calls[start:] if c.method == "sendLocation"]
    assert len(sent) == 1 and sent[0].params["latitude"] == pytest.approx(new_fix.lat, abs=1e-5)
    assert calls(sim, "pos_request") == 1

    refreshed = next(
        m for m in harness.emu.messages(ADMIN) if m["message_id"] == card["message_id"]
    )
    harness.press(ADMIN, refreshed, "Обновить")
    alert = await harness.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery" and c.params.get("show_alert"), start=start
    )
    assert "5 минут" in alert.params["text"]


async def test_drivers_pages_with_buttons_and_filters_by_tag(harness, sim):
    for n in range(12):
        sim.add_driver(f"7916000{n:04d}", f"Водитель {n:02d}")
    await harness.app.repos.drivers.upsert("79160000003", "Водитель 03", ("Казань",))
    first = await harness.say(ADMIN, "/drivers")
    assert "стр. 1/2" in text(first) and "(13)" in text(first)
    assert "Водитель 00" in text(first) and "Водитель 09" in text(first)
    assert "на мониторинге" in text(first)
    start = len(harness.emu.calls)
    harness.press(ADMIN, first, "▶")
    second = await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "стр. 2/2" in c.params["text"], start=start
    )
    assert "Водитель 11" in second.result["text"] and TITLE in second.result["text"]
    assert "Водитель 00" not in second.result["text"]
    tagged = await harness.say(ADMIN, "/drivers Казань")
    assert "Водитель 03" in text(tagged) and "Водитель 04" not in text(tagged)
    assert "reply_markup" not in tagged  # one page: no buttons


async def test_track_wizard_end_to_end_adds_once(harness, sim):
    phone = "79161112233"
    h = harness
    ask_title = await h.say(ADMIN, "/track +7 916 111-22-33")
    assert "Как подписать" in text(ask_title)
    ask_point = await h.say(ADMIN, "Сидоров & <Ко>")
    assert "первый пункт" in text(ask_point)

    nothing = await h.say(ADMIN, "Атлантида")
    assert "Не нашёл «Атлантида»" in text(nothing)
    found = await h.say(ADMIN, "Химки (Москва)", expect=has_text("Выберите"))
    assert button_labels(found) == [
        "Москва, Россия",  # Movizor says «Москва, Москва, Россия»: a city that is its region
        "Химки, Московская область, Россия",
    ]
    h.press(ADMIN, found, "Химки")
    await h.emu.wait_for_message(ADMIN, has_text("Пункт №2"), after_message_id=found["message_id"])
    found = await h.say(ADMIN, "Казань", expect=has_text("Выберите"))
    h.press(ADMIN, found, "Казань")
    prompt = await h.emu.wait_for_message(
        ADMIN, has_text("Пункт №3"), after_message_id=found["message_id"]
    )
    h.press(ADMIN, prompt, "Готово")
    ask_arrival = await h.emu.wait_for_message(
        ADMIN, has_text("Плановое прибытие"), after_message_id=prompt["message_id"]
    )
    assert "Химки" in text(ask_arrival)

    now = utcnow().astimezone(h.app.settings.timezone)
    first_at, second_at = now + timedelta(days=1), now + timedelta(days=2)
    bad = await h.say(ADMIN, "завтра утром")
    assert "Не понял" in text(bad)
    past = await h.say(ADMIN, (now - timedelta(hours=2)).strftime("%d.%m %H:%M"))
    assert "уже прошло" in text(past)
    ask_second = await h.say(ADMIN, first_at.strftime("%d.%m %H:%M"))
    assert "Казань" in text(ask_second)
    order = await h.say(ADMIN, (now + timedelta(hours=12)).strftime("%d.%m.%Y %H:%M"))
    assert "раньше, чем в предыдущий пункт" in text(order)
    ask_dateoff = await h.say(ADMIN, second_at.strftime("%d.%m %H:%M"))
    assert "автоматически отключить" in text(ask_dateoff)
    soon = await h.say(ADMIN, (now + timedelta(hours=3)).strftime("%d.%m %H:%M"))
    assert "не раньше чем через сутки" in text(soon)
    ask_tags = await h.say(ADMIN, (now + timedelta(days=5)).strftime("%d.%m %H:%M"))
    assert "Метки" in text(ask_tags)
    summary = await h.say(ADMIN, "Казань, рефрижератор")
    assert "Проверьте" in text(summary) and "Сидоров & <Ко>" in text(summary)
    assert "1. Химки" in text(summary) and "2. Казань" in text(summary)

    start = len(h.emu.calls)
    h.press(ADMIN, summary, "Да")
    h.press(ADMIN, summary, "Да")  # a double tap: Telegram delivers both
    done = await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "Добавлено в Movizor" in c.params["text"],
        start=start,
    )
    assert "SMS" in done.result["text"]
    await h.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery" and "уже выполнено" in str(c.params),
        start=start,
    )
    assert calls(sim, "object_add") == 1
    added = sim.object(phone)
    assert added.title == "Сидоров & <Ко>" and added.tags == ["Казань", "рефрижератор"]
    assert [p.text for p in added.route] == [
        "Химки, Московская область, Россия",
        "Казань, Республика Татарстан, Россия",
    ]
    assert added.timestamp_off is not None
    known = await h.app.repos.drivers.get(phone)
    assert known.title == "Сидоров & <Ко>" and known.tags == ("Казань", "рефрижератор")
    subs = await h.app.repos.subscriptions.for_chat(ADMIN)
    assert ("all", f"driver:{phone}") in [(s.selector, s.filter) for s in subs]
    actions = [entry.action for entry in await h.app.repos.audit.latest(10)]
    assert actions.count("movizor.track") == 1


async def pick_one_point(h: BotHarness, place: str) -> dict:
    """Type a place, pick the first match, press "Готово"; returns the arrival question."""
    found = await h.say(ADMIN, place, expect=has_text("Выберите"))
    h.press(ADMIN, found, place)
    prompt = await h.emu.wait_for_message(
        ADMIN, has_button("Готово"), after_message_id=found["message_id"]
    )
    h.press(ADMIN, prompt, "Готово")
    return await h.emu.wait_for_message(
        ADMIN, has_text("Плановое прибытие"), after_message_id=prompt["message_id"]
    )


async def test_route_replaces_the_route_and_optional_steps_can_be_skipped(harness, sim):
    h = harness
    later = (utcnow() + timedelta(hours=5)).astimezone(h.app.settings.timezone)
    await h.say(ADMIN, f"/route {PHONE}", expect=has_text("первый пункт"))
    await pick_one_point(h, "Ярославль")
    summary = await h.say(ADMIN, later.strftime("%d.%m %H:%M"), expect=has_text("Заменить"))
    assert TITLE in text(summary) and "1. Ярославль" in text(summary)
    h.press(ADMIN, summary, "Да")
    done = await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "обновлён" in c.params["text"], start=0
    )
    assert TITLE in done.result["text"]
    assert [p.text for p in sim.object(PHONE).route] == ["Ярославль, Ярославская область, Россия"]
    assert calls(sim, "object_edit") == 1

    await h.say(ADMIN, "/track 79163334455 Быстрый", expect=has_text("первый пункт"))
    await pick_one_point(h, "Тверь")
    ask_dateoff = await h.say(ADMIN, later.strftime("%d.%m %H:%M"))
    h.press(ADMIN, ask_dateoff, "Пропустить")
    ask_tags = await h.emu.wait_for_message(
        ADMIN, has_text("Метки"), after_message_id=ask_dateoff["message_id"]
    )
    h.press(ADMIN, ask_tags, "Пропустить")
    summary = await h.emu.wait_for_message(
        ADMIN, has_text("Проверьте"), after_message_id=ask_tags["message_id"]
    )
    assert "Автоотключение: —" in text(summary) and "Метки: —" in text(summary)


async def test_cancel_leaves_the_wizard_and_a_known_phone_is_not_added_again(harness, sim):
    await harness.say(ADMIN, "/track 89161112244 Тест")
    cancelled = await harness.say(ADMIN, "/cancel")
    assert "Отменено" in text(cancelled)
    after = await harness.say(ADMIN, "Казань")
    assert "/help" in text(after)  # no wizard any more: the fallback answers
    assert "Нечего отменять" in text(await harness.say(ADMIN, "/cancel"))
    already = await harness.say(ADMIN, f"/track {PHONE}")
    assert "уже есть на аккаунте" in text(already) and TITLE in text(already)


async def test_untrack_switches_off_then_deletes_and_explains_the_timeouts(harness, sim):
    question = await harness.say(ADMIN, "/untrack +7 999 123 45 67")
    assert "Отключить" in text(question) and "история" in text(question)
    harness.press(ADMIN, question, "Да")
    await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "Отключено от мониторинга" in c.params["text"],
        start=0,
    )
    assert sim.object(PHONE).status == "off_new"

    sim.advance(61)  # Movizor finishes switching it off
    question = await harness.say(ADMIN, f"/untrack {PHONE}")
    harness.press(ADMIN, question, "Да")
    await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "Удалено из Movizor" in c.params["text"],
        start=0,
    )
    assert PHONE not in sim.world.objects

    sim.add_driver("79162223344", "Новичок", confirmed=False)  # "new": added just now
    question = await harness.say(ADMIN, "/untrack 9162223344")
    harness.press(ADMIN, question, "Да")
    refused = await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "через час" in c.params["text"], start=0
    )
    assert "подтвердит" in refused.result["text"]
    actions = [entry.action for entry in await harness.app.repos.audit.latest(10)]
    assert actions.count("movizor.disable") == 1 and actions.count("movizor.delete") == 1


async def test_share_links_events_operator_and_balance(harness, sim):
    shared = await harness.say(ADMIN, "/share +7 (999) 123-45-67 ООО <Ромашка>")
    assert "ООО <Ромашка>" in text(shared)
    link = next(share.link for share in sim.world.shares.values())
    assert link in text(shared)
    key = next(iter(sim.world.shares))
    listed = await harness.say(ADMIN, "/shares")
    assert key in text(listed) and "ООО <Ромашка>" in text(listed)
    deleted = await harness.say(ADMIN, f"/unshare {key}")
    assert "удалена" in text(deleted) and not sim.world.shares

    await harness.app.repos.drivers.upsert(PHONE, TITLE)  # as the watcher or /locate would
    events = await harness.say(ADMIN, "/events")
    assert "объект подтвердил подключение" in text(events) and TITLE in text(events)
    only = await harness.say(ADMIN, "/events 79160000000")
    assert "Событий нет" in text(only)
    # Times are the chat's: after /timezone the same event reads 7 hours later in Vladivostok.
    await harness.say(ADMIN, "/timezone Asia/Vladivostok")
    local = await harness.say(ADMIN, "/events")
    moscow_time, local_time = (_first_time(text(events)), _first_time(text(local)))
    assert local_time - moscow_time == timedelta(hours=7)

    operator = await harness.say(ADMIN, f"/operator {PHONE}")
    assert "Tele2" in text(operator) and "Вручную" in text(operator) and "₽" in text(operator)
    balance = await harness.say(ADMIN, "/balance")
    assert "Баланс Movizor" in text(balance) and "МТС" in text(balance)
    assert "1 000,00 ₽" in text(balance).replace("\u00a0", " ")  # bot.money, as on every screen


async def test_follow_posts_a_live_location_and_moves_it_with_one_fetch(harness, sim):
    start = len(harness.emu.calls)
    started = await harness.say(ADMIN, "/follow +7 (999) 123-45-67", expect=has_text("/unfollow"))
    assert TITLE in text(started)
    posted = await harness.emu.wait_for_event(lambda c: c.method == "sendLocation", start=start)
    assert posted.params["live_period"] == 8 * 3600
    sim.add_driver("79161230000", "Химки-рейс", [(*MOSCOW, None), (*KHIMKI, None)])
    await harness.say(ADMIN, "/follow 79161230000", expect=has_text("/unfollow"))

    sim.advance(16 * 60)  # the 15-minute tariff locates the drivers again
    fetches, lookups = calls(sim, "pos_objects"), calls(sim, "pos_last")
    await harness.app.services["movizor"].live_locations.cycle()
    assert calls(sim, "pos_objects") == fetches + 1 and calls(sim, "pos_last") == lookups
    moved = next(c for c in harness.emu.calls[start:] if c.method == "editMessageLiveLocation")
    fix = sim.object(PHONE).last_fix
    assert moved.params["latitude"] == pytest.approx(fix.lat, abs=1e-5)
    assert moved.params["message_id"] == posted.result["message_id"]

    sim.advance(30 * 60)  # the short trip to Химки is over
    await harness.app.services["movizor"].live_locations.cycle()
    arrived = await harness.emu.wait_for_message(ADMIN, has_text("Химки-рейс прибывает"))
    assert arrived
    [followed] = harness.app.services["movizor"].live_locations.followed()
    followed.until = harness.app.services[
        "movizor"
    ].live_locations.clock()  # the live period runs out
    await harness.app.services["movizor"].live_locations.cycle()
    await harness.emu.wait_for_message(ADMIN, has_text("закончилась"))
    stops = [c for c in harness.emu.calls[start:] if c.method == "stopMessageLiveLocation"]
    assert len(stops) == 2
    assert not harness.app.services["movizor"].live_locations.followed()
    none = await harness.say(ADMIN, f"/unfollow {PHONE}")
    assert "не показывается" in text(none)


async def test_unfollow_stops_the_live_location(harness, sim):
    await harness.say(ADMIN, f"/follow {PHONE}", expect=has_text("/unfollow"))
    again = await harness.say(ADMIN, f"/follow {PHONE}")
    assert "уже на карте" in text(again)
    stopped = await harness.say(ADMIN, f"/unfollow {PHONE}")
    assert "остановлена" in text(stopped)
    await harness.emu.wait_for_event(lambda c: c.method == "stopMessageLiveLocation", start=0)


async def test_viewer_reads_but_does_not_change(harness, sim):
    harness.emu.add_user(VIEWER, "Вера")
    await harness.say(ADMIN, f"/grant {VIEWER} viewer", expect=has_text("теперь"))
    card = await harness.say(VIEWER, f"/locate {PHONE}", expect=has_button("Обновить"))
    assert TITLE in text(card)
    start = len(harness.emu.calls)
    harness.press(VIEWER, card, "Обновить")  # a paid pos_request: a dispatcher's to ask for
    answer = await harness.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery", start=start
    )
    assert answer.params.get("show_alert") and calls(sim, "pos_request") == 0
    refused = await harness.say(VIEWER, f"/track {PHONE}")
    assert "«диспетчер»" in text(refused)


async def test_movizor_off_answers_not_configured(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN]) as h:
        for command in (f"/locate {PHONE}", "/drivers", f"/track {PHONE}"):
            reply = await h.say(ADMIN, command)
            assert "Movizor не настроена" in text(reply), command
        # /balance speaks for every service with a balance: refused only when none is on.
        reply = await h.say(ADMIN, "/balance")
        assert "Movizor / Alta не настроена" in text(reply)
        assert "Нечего отменять" in text(await h.say(ADMIN, "/cancel"))
        assert not h.emu.rejected_calls()


async def test_track_wizard_works_in_a_group_under_privacy_mode(harness, sim):
    """Every typed step is asked with a selective ForceReply, so the dispatcher's answers come as
    replies (which privacy mode lets through) and a colleague's chatter never reaches the wizard."""
    h, group, colleague = harness, -100500600, 6006
    h.emu.add_user(colleague, "Ольга")
    h.emu.add_group(group, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, group)
    await h.emu.wait_for_message(group, has_text("подключил"))

    ask_title = await h.say(ADMIN, "/track 79163334466", chat_id=group)
    assert "Как подписать" in text(ask_title)
    assert any(e["type"] == "text_mention" for e in ask_title.get("entities", []))
    h.emu.user_sends(colleague, "кто-нибудь видел Петрова?", chat_id=group)  # not asked: hidden
    ask_point = await h.say(ADMIN, "Групповой", chat_id=group, expect=has_text("первый пункт"))
    hidden = [m["text"] for m in h.emu.hidden_from_bot]
    assert hidden == ["кто-нибудь видел Петрова?"]

    await h.say(ADMIN, "Тверь", chat_id=group, expect=has_text("Выберите"))
    buttons = await h.emu.wait_for_message(group, has_button("Тверь"))
    h.press(ADMIN, buttons, "Тверь")
    done = await h.emu.wait_for_message(
        group, has_button("Готово"), after_message_id=buttons["message_id"]
    )
    h.press(ADMIN, done, "Готово")
    await h.emu.wait_for_message(group, has_text("Плановое прибытие"))
    later = (utcnow() + timedelta(hours=5)).astimezone(h.app.settings.timezone)
    await h.say(ADMIN, later.strftime("%d.%m %H:%M"), chat_id=group, expect=has_text("отключить"))
    skip = await h.emu.wait_for_message(group, has_button("Пропустить"))
    h.press(ADMIN, skip, "Пропустить")
    skip = await h.emu.wait_for_message(
        group, has_button("Пропустить"), after_message_id=skip["message_id"]
    )
    h.press(ADMIN, skip, "Пропустить")
    summary = await h.emu.wait_for_message(group, has_text("Проверьте"))
    assert "Групповой" in text(summary) and ask_point["chat"]["id"] == group
    h.press(ADMIN, summary, "Да")
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "Добавлено в Movizor" in c.params["text"],
        start=0,
    )
    assert calls(sim, "object_add") == 1


async def test_two_fast_messages_in_a_wizard_are_handled_one_after_the_other(harness, sim):
    """Without per-user isolation both answers were taken for the title and the wizard asked
    for the first route point twice."""
    h = harness
    await h.say(ADMIN, "/track 79163335577", expect=has_text("Как подписать"))
    h.emu.user_sends(ADMIN, "Быстрый")
    h.emu.user_sends(ADMIN, "Атлантида")
    await h.emu.wait_for_message(ADMIN, has_text("Не нашёл «Атлантида»"))
    prompts = [m for m in h.emu.messages(ADMIN) if "первый пункт" in text(m)]
    assert len(prompts) == 1


async def test_a_title_too_long_on_the_command_line_is_asked_for_again(harness, sim):
    again = await harness.say(ADMIN, f"/track 9162223344 {'Р' * 101}")
    assert "Напишите ещё раз" in text(again)
    place = await harness.say(ADMIN, "Рейс 7", expect=has_text("Куда едет водитель"))
    assert "Куда едет водитель" in text(place)


async def test_events_are_listed_newest_first(harness, sim):
    sim.emit(PHONE, "mstart")
    sim.advance(600)
    sim.emit(PHONE, "mstop")
    listed = text(await harness.say(ADMIN, f"/events {PHONE}"))
    lines = listed.splitlines()[1:]
    stop = next(i for i, line in enumerate(lines) if "приложение остановлено" in line)
    start = next(i for i, line in enumerate(lines) if "приложение запущено" in line)
    assert stop < start
    times = [datetime.strptime(line[:16], "%d.%m.%Y %H:%M") for line in lines]
    assert times == sorted(times, reverse=True)


async def test_drivers_shows_a_late_driver_as_late(harness, sim):
    now = utcnow()
    sim.add_driver(
        "79162223344", "Опаздывающий", [(*MOSCOW, now), (*TVER, now + timedelta(minutes=20))]
    )
    sim.advance(30 * 60)  # 35 km out of 170 with the arrival planned ten minutes ago
    lines = text(await harness.say(ADMIN, "/drivers")).splitlines()

    def status_line_of(title: str) -> str:  # a row is two lines: the name, then status · place
        return lines[next(i for i, line in enumerate(lines) if title in line) + 1]

    assert "на мониторинге · ⚠️ опаздывает" in status_line_of("Опаздывающий")
    assert "опаздывает" not in status_line_of(TITLE)


async def test_a_wizard_goes_on_after_the_bot_restarts(harness, sim):
    """The wizard's step and answers live in the database (fsm_states), not in the process:
    a restart (or another replica taking over) continues the dialogue where it was."""
    h = harness
    await h.say(ADMIN, "/track +7 916 111-22-44", expect=has_text("Как подписать"))
    await h.say(ADMIN, "Перезапуск", expect=has_text("первый пункт"))
    await h.stop_bot()
    await h.start_bot()
    found = await h.say(ADMIN, "Химки", expect=has_text("Выберите"))
    h.press(ADMIN, found, "Химки")
    prompt = await h.emu.wait_for_message(
        ADMIN, has_text("Пункт №2"), after_message_id=found["message_id"]
    )
    h.press(ADMIN, prompt, "Готово")
    ask_arrival = await h.emu.wait_for_message(
        ADMIN, has_text("Плановое прибытие"), after_message_id=prompt["message_id"]
    )
    assert "Химки" in text(ask_arrival)
