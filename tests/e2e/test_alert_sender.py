"""The alert sender end to end: outbox -> Telegram emulator (with real rate limits) over loopback.

Alerts go in through the real pipeline (``app.pipeline.commit``); what people would see is read
back from the emulator. Sends the emulator refuses on purpose (429, 403, a migrated group,
broken HTML) are checked by kind; anything else refused fails the test.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiogram import Router

import bot.alerts.packing as packing_module
from bot.alerts.render import Rich
from bot.alerts.sender import AlertSender, SendLimits
from integrations.base import Alert, Location, Subject
from sandbox.harness import BotHarness
from sandbox.telegram_emulator import RateLimits
from storage import Repos
from storage.chats import ChatStatus
from storage.db import utcnow
from storage.outbox import NewOutboxRow, insert_rows
from storage.users import Role
from tests.e2e.conftest import eventually

ADMIN = 1001
COLLEAGUE = 3003
GROUP = -4004
FAST_RETRY = SendLimits(retry_base_seconds=0.2, retry_max_seconds=1.0)


pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)


def alert(n: int, kind: str = "driver.late", *, key: str = "", **overrides: Any) -> Alert:
    """Driver n's alert; ``key`` makes another event of the same kind (a new dedupe key)."""
    values: dict[str, Any] = {
        "kind": kind,
        "source": "test",
        "subject": Subject("driver", f"79990000{n:03d}", f"Водитель №{n}"),
        "occurred_at": utcnow(),
        "dedupe_key": f"{kind}:{n}:{key}",
        "fields": {"Рейс": f"Москва → Тверь <{n}>"},
    }
    values.update(overrides)
    return Alert(**values)


def taxi(kind: str, key: str) -> Alert:
    return alert(1, kind, subject=Subject("order", "555", "Заказ 555"), key=key, fields={})


def replace_sender(h: BotHarness, limits: SendLimits) -> AlertSender:
    """The same sender as the app's, with other limits (fast retries, looser pacing)."""
    app = h.app
    assert app is not None
    app.sender = AlertSender(
        app.bot,
        app.repos,
        app.pipeline,
        app.i18n,
        app.metrics,
        default_tz=app.settings.timezone,
        limits=limits,
        tail=app.tail,
        routine_window=app.sender.routine_window,
    )
    return app.sender


@contextlib.asynccontextmanager
async def group_bot(
    tmp_path,
    database_url: str | None = None,  # None: a SQLite file in tmp_path
    *,
    limits: RateLimits | None = None,
    send_limits: SendLimits = FAST_RETRY,
    extra_routers: Callable[[], list[Router]] | None = None,
) -> AsyncIterator[BotHarness]:
    """A bot in an approved group subscribed to driver and taxi alerts; the welcome is sent."""
    harness = BotHarness(
        tmp_path,
        admin_ids=[ADMIN],
        limits=limits,
        extra_routers=extra_routers,
        database_url=database_url,
    )
    async with harness as h:
        assert h.app is not None
        await h.app.sender.stop()
        await replace_sender(h, send_limits).start()
        h.emu.add_user(COLLEAGUE, "Мария", username="maria")
        h.emu.add_group(GROUP, "Диспетчерская")
        h.emu.add_bot_to_group(ADMIN, GROUP)
        await h.emu.wait_for_message(GROUP)  # the welcome: the group is approved
        await h.app.repos.subscriptions.add(GROUP, 0, "area:drivers", by=ADMIN)
        await h.app.repos.subscriptions.add(GROUP, 0, "area:taxi", by=ADMIN)
        yield h


def alert_messages(h: BotHarness, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in h.emu.messages(chat_id) if "text" in m and "Принял" in str(m)]


def metric(h: BotHarness, name: str) -> float:
    assert h.app is not None
    return h.app.metrics.registry.get_sample_value(name) or 0.0


async def _depth_is(h: BotHarness, depth: int) -> bool:
    return metric(h, "logibot_outbox_depth") == depth


def refused(h: BotHarness) -> list[str]:
    return [f"{c.method}: {c.description}" for c in h.emu.rejected_calls()]


async def outbox_states(h: BotHarness) -> list[str]:
    assert h.app is not None
    rows = await h.app.repos.db.fetchall("SELECT state FROM outbox ORDER BY id")
    return [row.state for row in rows]


async def all_sent(h: BotHarness) -> bool:
    states = await outbox_states(h)
    return bool(states) and set(states) == {"sent"}


async def test_alerts_waiting_together_go_out_as_one_message(tmp_path, database_url):
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        await h.app.pipeline.commit("test", [alert(i) for i in range(10)], cursor=None)
        await eventually(lambda: all_sent(h))
        sent = alert_messages(h, GROUP)
        assert len(sent) == 1
        text = sent[0]["text"]
        assert text.startswith("🔔 10 оповещений")
        for i in range(10):
            assert f"Водитель №{i}" in text and f"Тверь <{i}>" in text
        buttons = [b["text"] for b in sent[0]["reply_markup"]["inline_keyboard"][0]]
        assert buttons == ["✅ Принял", "🔕 Тишина 1 ч"]
        await eventually(lambda: _depth_is(h, 0))
        assert not refused(h)


async def test_a_long_group_is_split_under_4096(tmp_path, database_url):
    long = {f"Поле {j}": "длинное значение " * 15 for j in range(5)}
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        await h.app.pipeline.commit("test", [alert(i, fields=long) for i in range(12)], None)
        await eventually(lambda: all_sent(h))
        sent = alert_messages(h, GROUP)
        assert len(sent) >= 2
        assert all(len(m["text"]) <= 4096 for m in sent)
        assert all(f"(часть {n}/{len(sent)})" in m["text"] for n, m in enumerate(sent, 1))
        joined = "\n".join(m["text"] for m in sent)
        assert all(joined.count(f"Водитель №{i}\n") == 1 for i in range(12))
        assert not refused(h)


async def test_flood_control_is_obeyed_and_nothing_is_lost(tmp_path, database_url):
    # Telegram lets the group hear one message a second (the welcome used the burst); our own
    # pacing is set far looser, so the sender does meet 429 and must wait it out.
    limits = RateLimits(per_group_per_minute=60, group_burst=1)
    loose = SendLimits(per_group_per_minute=6000, retry_base_seconds=0.2)
    long = {f"Поле {j}": "длинное значение " * 15 for j in range(5)}
    async with group_bot(tmp_path, database_url, limits=limits, send_limits=loose) as h:
        assert h.app is not None
        await h.app.pipeline.commit("test", [alert(i, fields=long) for i in range(6)], None)
        await eventually(lambda: all_sent(h), timeout=10)
        joined = "\n".join(m["text"] for m in alert_messages(h, GROUP))
        assert all(joined.count(f"Водитель №{i}\n") == 1 for i in range(6))
        assert h.emu.rate_limited_count > 0
        assert metric(h, "logibot_telegram_429_total") > 0
        assert all("Too Many Requests" in r for r in refused(h))


async def test_a_group_the_bot_is_not_in_is_disabled_and_admins_are_told(tmp_path, database_url):
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        repos = h.app.repos
        stranger_group = -5005
        h.emu.add_group(stranger_group, "Склад <Юг>")
        await repos.chats.upsert(
            stranger_group,
            type="group",
            title="Склад <Юг>",
            status=ChatStatus.APPROVED,
            added_by=ADMIN,
        )
        await repos.subscriptions.add(stranger_group, 0, "area:drivers", by=ADMIN)
        h.emu.user_sends(COLLEAGUE, "/start")  # Mary has talked to the bot: she can be told
        await h.emu.wait_for_message(COLLEAGUE)
        await repos.users.set_role(COLLEAGUE, Role.ADMIN, by=ADMIN)
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)

        told = await h.emu.wait_for_message(ADMIN, lambda m: "Склад <Юг>" in m["text"])
        assert "отключена" in told["text"] and str(stranger_group) in told["text"]
        # Every admin in the database hears it, not only ADMIN_IDS (Mary was made one).
        assert await h.emu.wait_for_message(COLLEAGUE, lambda m: "Склад <Юг>" in m["text"])
        chat = await repos.chats.get(stranger_group)
        assert chat is not None and chat.status is ChatStatus.DISABLED
        states = await repos.db.fetchall("SELECT chat_id, state FROM outbox ORDER BY chat_id")
        assert {(r.chat_id, r.state) for r in states} == {
            (stranger_group, "failed"),
            (GROUP, "sent"),  # the other chat is not held up
        }
        assert all("Forbidden" in r for r in refused(h))


async def test_a_kicked_group_and_a_blocked_user(tmp_path, database_url):
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        repos = h.app.repos
        await repos.users.set_role(COLLEAGUE, Role.VIEWER, by=ADMIN)
        await repos.subscriptions.add(COLLEAGUE, 0, "area:drivers", by=ADMIN)
        await h.app.sender.stop()  # both chats' rows wait in the outbox while the bot is shut out
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        h.emu.remove_bot_from_group(ADMIN, GROUP)
        h.emu.block_bot(COLLEAGUE)
        await h.app.sender.start()

        await eventually(lambda: _no_pending(h))
        # Failed by Telegram's 403, or dropped unsent when the kick was heard first.
        assert set(await outbox_states(h)) <= {"failed", "dropped"}
        chat = await repos.chats.get(GROUP)
        assert chat is not None and chat.status is ChatStatus.DISABLED
        assert await repos.subscriptions.for_chat(COLLEAGUE) == []
        blocked = await h.emu.wait_for_message(ADMIN, lambda m: str(COLLEAGUE) in m["text"])
        assert "закрыл(а) боту личный чат" in blocked["text"]
        # The group's kick is told once, by whoever noticed first (the update or the sender).
        await eventually(lambda: _told_about(h, "Диспетчерская"))
        assert len(_admin_texts(h, "Диспетчерская")) == 1
        assert len(alert_messages(h, GROUP)) == 0
        assert all("Forbidden" in r for r in refused(h))


def _admin_texts(h: BotHarness, needle: str) -> list[str]:
    return [m["text"] for m in h.emu.messages(ADMIN) if needle in m.get("text", "")]


async def _told_about(h: BotHarness, needle: str) -> bool:
    return bool(_admin_texts(h, needle))


async def _gone(repos: Repos, chat_id: int) -> bool:
    return await repos.chats.get(chat_id) is None


async def _no_pending(h: BotHarness) -> bool:
    states = await outbox_states(h)
    return bool(states) and "pending" not in states


async def test_a_group_that_became_a_supergroup_gets_its_alerts_at_the_new_id(
    tmp_path, database_url
):
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        repos = h.app.repos
        await h.app.sender.stop()
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        new_id = h.emu.migrate_group(GROUP)
        # The service message was handled: the old id is gone. (The join for the new id may
        # come first, and alone it would not move the queued row.)
        await eventually(lambda: _gone(repos, GROUP))
        await h.app.sender.start()

        delivered = await h.emu.wait_for_message(new_id, lambda m: "Водитель №1" in m["text"])
        assert "Водитель опаздывает" in delivered["text"]
        assert await repos.subscriptions.for_chat(GROUP) == []
        assert {s.selector for s in await repos.subscriptions.for_chat(new_id)} == {
            "area:drivers",
            "area:taxi",
        }
        await eventually(lambda: all_sent(h))
        # The service message moved the queued row too, so the old id was never tried.
        assert refused(h) == []

        # A row still addressed to the old id (queued before the bot heard of the upgrade):
        # Telegram refuses it with migrate_to_chat_id and the sender re-sends at the new id.
        stale = alert(2)
        async with repos.db.transaction() as tx:
            await insert_rows(
                tx,
                [
                    NewOutboxRow(
                        GROUP,
                        0,
                        stale.dedupe_key,
                        stale.kind,
                        3,
                        stale.subject.key,
                        stale.to_json(),
                        utcnow(),
                    )
                ],
            )
        h.app.sender.wake()
        await h.emu.wait_for_message(new_id, lambda m: "Водитель №2" in m["text"])
        assert refused(h) and all("upgraded to a supergroup" in r for r in refused(h))


async def test_html_telegram_refuses_is_resent_as_plain_text(tmp_path, database_url, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Rich:
        return Rich("<b>Сломанная разметка", "Сломанная разметка, но текст дошёл")

    monkeypatch.setattr(packing_module, "render_alert", broken)
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        sent = await h.emu.wait_for_message(GROUP, lambda m: "дошёл" in m["text"])
        assert sent["text"] == "Сломанная разметка, но текст дошёл"
        assert "entities" not in sent
        assert [r.split(":")[0] for r in refused(h)] == ["sendMessage"]
        assert "can't parse entities" in refused(h)[0]
        await eventually(lambda: all_sent(h))


async def test_network_errors_are_retried_later(tmp_path, database_url):
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        port = int(str(h.emu.base_url).rsplit(":", 1)[1])
        await h.emu.stop()  # Telegram unreachable
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)

        repos = h.app.repos

        async def failed_once() -> bool:
            row = await repos.db.fetchone("SELECT attempts, last_error FROM outbox")
            return bool(row and row.attempts >= 1 and "Network" in (row.last_error or ""))

        await eventually(failed_once)
        await h.emu.start(port=port)
        await h.emu.wait_for_message(GROUP, lambda m: "Водитель №1" in m["text"], timeout=5)
        await eventually(lambda: all_sent(h))
        assert len(alert_messages(h, GROUP)) == 1


async def test_low_severity_is_silent_and_a_location_follows_the_text(tmp_path, database_url):
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        place = Location(55.75, 37.62, "Москва, склад №3")
        await h.app.pipeline.commit("test", [alert(1, "driver.parked")], cursor=None)
        await eventually(lambda: all_sent(h))
        await h.app.pipeline.commit("test", [alert(2, location=place)], cursor=None)
        await h.emu.wait_for_message(GROUP, lambda m: "location" in m)

        low, high = h.emu.calls_of("sendMessage")[-2:]
        assert low.params.get("disable_notification") is True
        assert "⚪" in low.params["text"]
        assert not high.params.get("disable_notification")
        assert "🔴" in high.params["text"] and "📍 Москва, склад №3" in high.params["text"]
        text, pin = h.emu.messages(GROUP)[-2:]
        assert pin["location"]["latitude"] == pytest.approx(55.75)
        assert pin["reply_to_message"]["message_id"] == text["message_id"]
        assert not refused(h)


async def test_ack_and_silence_buttons(tmp_path, database_url):
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        repos = h.app.repos
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        first = await h.emu.wait_for_message(GROUP, lambda m: "Водитель №1" in m["text"])
        # A button finds its rows once they are marked sent (just after Telegram took the
        # message): a press in between is "expired". No person is that quick; a test is.
        await eventually(lambda: all_sent(h))

        h.press(ADMIN, first, "Принял")
        await h.emu.wait_for_event(lambda c: c.method == "editMessageText", start=0)
        acked = h.emu.messages(GROUP)[-1]
        assert re.search(r"✅ Принял\(а\) Админ 1001 в \d\d:\d\d$", acked["text"])
        assert "Водитель №1" in acked["text"] and not acked.get("reply_markup")
        silences = await repos.alert_state.silences()
        assert silences[(GROUP, 0, "driver:79990000001", "driver.late")] is None
        # Acknowledged: the same news about the same driver no longer alerts the group.
        assert await h.app.pipeline.commit("test", [alert(1, key="again")], None) == 0

        await h.app.pipeline.commit("test", [alert(2)], cursor=None)
        second = await h.emu.wait_for_message(GROUP, lambda m: "Водитель №2" in m["text"])
        await eventually(lambda: all_sent(h))
        h.press(ADMIN, second, "Тишина")
        toast = await h.emu.wait_for_event(
            lambda c: c.method == "answerCallbackQuery" and "Тишина" in c.params.get("text", "")
        )
        assert "Водитель №2" in toast.params["text"]
        until = (await repos.alert_state.silences())[(GROUP, 0, "driver:79990000002", "")]
        assert until is not None
        assert timedelta(minutes=59) < until - utcnow() <= timedelta(hours=1)
        # The alert says who silenced it and until when, as "Принял" does.
        silenced = next(m for m in h.emu.messages(GROUP) if m["message_id"] == second["message_id"])
        assert re.search(r"🔕 Тишина до \d\d:\d\d — Админ 1001$", silenced["text"])
        assert not silenced.get("reply_markup")
        assert await h.app.pipeline.commit("test", [alert(2, "driver.arrived")], None) == 0

        # /subscriptions lists it with a button that lifts it; then the driver is heard again.
        listed = await h.say(
            ADMIN, "/subscriptions", chat_id=GROUP, expect=lambda m: "Снять" in str(m)
        )
        assert "водитель +7 999 000-00-02" in listed["text"] and "Админ 1001" in listed["text"]
        h.press(ADMIN, listed, "Снять")
        await h.emu.wait_for_event(
            lambda c: (
                c.method == "answerCallbackQuery" and "Тишина снята" in c.params.get("text", "")
            )
        )
        assert (GROUP, 0, "driver:79990000002", "") not in await repos.alert_state.silences()
        assert await h.app.pipeline.commit("test", [alert(2, "driver.arrived", key="b")], None) == 1

        actions = [entry.action for entry in await repos.audit.latest(5)]
        assert "alert.ack" in actions and "alert.silence" in actions
        assert not refused(h)


async def test_a_status_card_is_edited_in_place(tmp_path, database_url):
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        repos = h.app.repos
        await h.app.pipeline.commit("test", [taxi("taxi.assigned", "1")], cursor=None)
        card = await h.emu.wait_for_message(GROUP, lambda m: "Назначена машина" in m["text"])
        await eventually(lambda: all_sent(h))
        assert await repos.alert_state.card(GROUP, 0, "order:555") == card["message_id"]

        # A change that needs eyes posts the card anew (a new message that rings) and nothing
        # else: the old card is not edited to say the same thing again.
        await h.app.pipeline.commit("test", [taxi("taxi.at_place", "2")], cursor=None)
        moved = await h.emu.wait_for_message(
            GROUP, lambda m: "Такси на месте" in m["text"], after_message_id=card["message_id"]
        )
        await eventually(lambda: all_sent(h))
        assert "reply_to_message" not in moved
        shown = next(m for m in h.emu.messages(GROUP) if m["message_id"] == card["message_id"])
        assert "Такси на месте" not in shown["text"] and not shown.get("edit_date")
        assert len([m for m in h.emu.messages(GROUP) if "Такси на месте" in m["text"]]) == 1
        assert await repos.alert_state.card(GROUP, 0, "order:555") == moved["message_id"]
        card = moved

        # A quiet change: only the card changes.
        count = len(h.emu.messages(GROUP))
        await h.app.pipeline.commit("test", [taxi("taxi.finished", "3")], cursor=None)
        await eventually(lambda: all_sent(h))
        shown = next(m for m in h.emu.messages(GROUP) if m["message_id"] == card["message_id"])
        assert "Поездка завершена" in shown["text"]
        assert len(h.emu.messages(GROUP)) == count

        # The card was deleted: the next change posts a new one.
        await h.app.bot.delete_message(GROUP, card["message_id"])
        last = h.emu.messages(GROUP)[-1]["message_id"]
        await h.app.pipeline.commit("test", [taxi("taxi.assigned", "4")], cursor=None)
        fresh = await h.emu.wait_for_message(
            GROUP, lambda m: "Назначена машина" in m["text"], after_message_id=last
        )
        await eventually(lambda: all_sent(h))
        assert await repos.alert_state.card(GROUP, 0, "order:555") == fresh["message_id"]
        assert [r for r in refused(h) if "message to edit not found" not in r] == []


async def test_forum_topics_and_an_english_private_chat(tmp_path, database_url):
    forum, topic = -1001234567890, 7
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        repos = h.app.repos
        h.emu.add_group(forum, "Логистика", supergroup=True, forum=True)
        h.emu.add_bot_to_group(ADMIN, forum)
        welcome = await h.emu.wait_for_message(forum)
        await repos.subscriptions.add(forum, topic, "area:drivers", by=ADMIN)
        await repos.subscriptions.add(forum, 0, "area:drivers", by=ADMIN)
        await repos.subscriptions.set_timezone(forum, topic, "Asia/Vladivostok")
        h.emu.add_user(COLLEAGUE, "Mary", language_code="en")
        await repos.users.touch(
            COLLEAGUE, username=None, first_name="Mary", last_name=None, language_code="en"
        )
        await repos.users.set_role(COLLEAGUE, Role.VIEWER, by=ADMIN)
        await repos.subscriptions.add(COLLEAGUE, 0, "area:drivers", by=ADMIN)
        moment = utcnow().replace(hour=1, minute=30)
        await h.app.pipeline.commit("test", [alert(1, occurred_at=moment)], cursor=None)
        await eventually(lambda: all_sent(h))

        in_forum = [m for m in h.emu.messages(forum) if m["message_id"] > welcome["message_id"]]
        by_topic = {m.get("message_thread_id", 0): m["text"] for m in in_forum}
        assert set(by_topic) == {0, topic}  # one message per topic, each in its own
        assert "🕒" in by_topic[topic] and "11:30" in by_topic[topic]  # the topic's zone
        assert "04:30" in by_topic[0]  # the bot's zone (Moscow)

        english = h.emu.messages(COLLEAGUE)
        assert english[-1]["text"].startswith("🔴 Driver is late")
        buttons = [b["text"] for b in english[-1]["reply_markup"]["inline_keyboard"][0]]
        assert buttons == ["✅ Got it", "🔕 Silence 1 h"]

        h.press(ADMIN, next(m for m in in_forum if m.get("message_thread_id")), "Принял")
        await h.emu.wait_for_event(lambda c: c.method == "editMessageText", start=0)
        silences = await repos.alert_state.silences()
        assert (forum, topic, "driver:79990000001", "driver.late") in silences
        assert (forum, 0, "driver:79990000001", "driver.late") not in silences
        assert not refused(h)


async def test_a_viewer_in_a_group_cannot_silence_its_alerts(tmp_path, database_url):
    """«Принял» and «Тишина 1 ч» silence the alert for the whole group: a viewer's press is
    answered, not obeyed (in a group they need what /mute needs there)."""
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        await h.say(ADMIN, f"/grant {COLLEAGUE} viewer", expect=lambda m: "теперь" in m["text"])
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        first = await h.emu.wait_for_message(GROUP, lambda m: "Водитель №1" in m["text"])
        for button in ("Принял", "Тишина"):
            start = len(h.emu.calls)
            h.press(COLLEAGUE, first, button)
            answer = await h.emu.wait_for_event(
                lambda c: c.method == "answerCallbackQuery", start=start
            )
            assert answer.params.get("show_alert")
        assert await h.app.repos.alert_state.silences() == {}
        assert h.emu.messages(GROUP)[-1].get("reply_markup")  # still there for a dispatcher


@pytest.mark.parametrize("change", ["mute", "unsubscribe", "disable", "revoke"])
async def test_a_queued_alert_is_dropped_when_its_chat_no_longer_wants_it(
    tmp_path, database_url, change
):
    """Rows wait (the bot was down, quiet hours, a backlog); what the chat said meanwhile wins."""
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        repos = h.app.repos
        await repos.users.set_role(COLLEAGUE, Role.VIEWER, by=ADMIN)
        await repos.subscriptions.add(COLLEAGUE, 0, "area:drivers", by=ADMIN)
        await h.app.sender.stop()
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        assert {r.chat_id for r in await repos.db.fetchall("SELECT chat_id FROM outbox")} == {
            GROUP,
            COLLEAGUE,
        }
        if change == "mute":
            await h.say(ADMIN, "/mute 2h", chat_id=GROUP)
            await h.say(COLLEAGUE, "/mute 2h")
        elif change == "unsubscribe":
            await h.say(ADMIN, "/unsubscribe drivers", chat_id=GROUP)
            await h.say(COLLEAGUE, "/unsubscribe drivers")
        elif change == "disable":
            await repos.chats.set_status(GROUP, ChatStatus.DISABLED)
            await repos.users.set_role(COLLEAGUE, None, by=ADMIN)
        else:
            await repos.users.set_role(COLLEAGUE, None, by=ADMIN)
            await h.say(ADMIN, "/unsubscribe drivers", chat_id=GROUP)
        await h.app.sender.start()
        await eventually(lambda: _no_pending(h))
        assert set(await outbox_states(h)) == {"dropped"}
        assert alert_messages(h, GROUP) == [] and alert_messages(h, COLLEAGUE) == []
        assert metric(h, "logibot_alerts_dropped_total") == 2


async def test_a_group_that_took_the_bots_right_to_write_is_told_once(tmp_path, database_url):
    """A 400 other than "can't parse entities" (here: no right to write): the rows fail with
    Telegram's reason, the admins hear it once for that chat, and /status shows it."""
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        h.emu.restrict_bot(ADMIN, GROUP)
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        told = await h.emu.wait_for_message(ADMIN, lambda m: "не принимает" in m["text"])
        assert "Диспетчерская" in told["text"] and "not enough rights" in told["text"]
        await h.app.pipeline.commit("test", [alert(2)], cursor=None)
        await eventually(lambda: _no_pending(h))
        assert set(await outbox_states(h)) == {"failed"}
        assert len([m for m in h.emu.messages(ADMIN) if "не принимает" in m["text"]]) == 1
        status = await h.say(ADMIN, "/status")
        assert "«Диспетчерская»: не доставлено 2" in status["text"]

        h.emu.restrict_bot(ADMIN, GROUP, can_send=True)  # the right is back
        await h.app.pipeline.commit("test", [alert(3)], cursor=None)
        await h.emu.wait_for_message(GROUP, lambda m: "Водитель №3" in m["text"])
        h.emu.restrict_bot(ADMIN, GROUP)  # ...and taken away again: worth telling again
        await h.app.pipeline.commit("test", [alert(4)], cursor=None)
        await eventually(lambda: _count_told(h, 2), timeout=5)


async def _count_told(h: BotHarness, count: int) -> bool:
    return len([m for m in h.emu.messages(ADMIN) if "не принимает" in m["text"]]) == count


async def test_an_error_text_stored_with_a_row_carries_no_token(
    tmp_path, database_url, monkeypatch
):
    """outbox.last_error is shown in /status and kept for days: it never holds the bot token."""
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        token = h.app.settings.bot_token.get_secret_value()

        async def unreachable(*args, **kwargs):
            raise aiohttp.ClientConnectionError(f"cannot reach https://api.example/bot{token}/x")

        monkeypatch.setattr(h.app.bot, "send_message", unreachable)
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        rows = await eventually(
            lambda: h.app.repos.db.fetchall(
                "SELECT last_error FROM outbox WHERE last_error IS NOT NULL"
            )
        )
        assert token not in rows[0].last_error and "bot***" in rows[0].last_error


async def test_pins_wait_until_the_queued_alerts_are_out(tmp_path, database_url):
    # Twelve long alerts with places wait together: they go out as several parts, and every
    # part is sent before any map pin (a pin must not spend the budget the next part needs).
    # Driver 1 moves between its two alerts: only its newest place is pinned.
    long = {f"Поле {j}": "длинное значение " * 15 for j in range(5)}

    def placed(n: int, key: str, lat: float) -> Alert:
        return alert(n, key=key, fields=long, location=Location(lat, 37.0, f"Точка {lat}"))

    batch = [placed(i, "a", 50.0 + i) for i in range(11)] + [placed(1, "b", 70.0)]
    # The group's budget refills in 6 s instead of a minute, so the pins the parts left no
    # spare budget for follow soon.
    quick = SendLimits(retry_base_seconds=0.2, retry_max_seconds=1.0, group_window_seconds=6.0)
    async with group_bot(tmp_path, database_url, send_limits=quick) as h:
        assert h.app is not None
        await h.app.sender.stop()
        await h.app.pipeline.commit("test", batch, cursor=None)
        await h.app.sender.start()
        await eventually(lambda: all_sent(h))
        # Pins are paid oldest first: driver 1's newest place is the last one owed.
        newest = {"latitude": 70.0, "longitude": 37.0}
        await h.emu.wait_for_message(GROUP, lambda m: m.get("location") == newest)

        messages = [m for m in h.emu.messages(GROUP) if "location" in m or "Принял" in str(m)]
        kinds = ["pin" if "location" in m else "alert" for m in messages]
        parts = kinds.count("alert")
        assert parts >= 2
        assert kinds == ["alert"] * parts + ["pin"] * (len(kinds) - parts), kinds
        pinned = [m["location"]["latitude"] for m in messages[parts:]]
        assert 70.0 in pinned and 51.0 not in pinned  # driver 1's newest place only
        alert_ids = {m["message_id"] for m in messages[:parts]}
        assert all(m["reply_to_message"]["message_id"] in alert_ids for m in messages[parts:])
        assert not refused(h)


async def test_an_alert_button_acts_only_on_the_message_it_belongs_to(tmp_path, database_url):
    """Callback data names an outbox row; a client that sends it on another message (stale or
    modified) gets "button expired", and no message is edited, no subject acknowledged."""
    async with group_bot(tmp_path, database_url) as h:
        assert h.app is not None
        await h.app.pipeline.commit("test", [alert(1)], cursor=None)
        first = await h.emu.wait_for_message(GROUP, lambda m: "Водитель №1" in m["text"])
        await eventually(lambda: all_sent(h))
        await h.app.pipeline.commit("test", [alert(2)], cursor=None)
        second = await h.emu.wait_for_message(GROUP, lambda m: "Водитель №2" in m["text"])
        other = await h.say(ADMIN, "/subscriptions", chat_id=GROUP)
        ack_of_second = h.button_data(second, "Принял")
        for target in (first, other):
            start = len(h.emu.calls)
            h.emu.client_sends_callback(ADMIN, target["message_id"], ack_of_second, chat_id=GROUP)
            answer = await h.emu.wait_for_event(
                lambda c: c.method == "answerCallbackQuery", start=start
            )
            assert "устарела" in answer.params.get("text", "") or answer.params.get("show_alert")
        assert not [c for c in h.emu.calls if c.method == "editMessageText"]
        assert await h.app.repos.alert_state.silences() == {}
