"""A group you can work in: routine news folded per subject and window, a pointer to a card
edited far up, and a wizard question asked again when alerts pushed it up."""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bot.alerts.cards import card_link
from bot.prompts import ask
from integrations.base import Alert, Location, Subject
from sandbox.harness import BotHarness
from storage.db import to_db_time, utcnow
from tests.e2e.conftest import eventually
from tests.e2e.test_alert_sender import ADMIN, GROUP, all_sent, group_bot, refused


def parked(n: int, place: str) -> Alert:
    """Routine news of one driver (a parking), the n-th."""
    return Alert(
        kind="driver.parked",
        source="test",
        subject=Subject("driver", "79990000001", "Водитель №1"),
        occurred_at=utcnow(),
        dedupe_key=f"parked:{n}",
        location=Location(55.0, 37.0, place),
    )


def late(n: int) -> Alert:
    return Alert(
        kind="driver.late",
        source="test",
        subject=Subject("driver", f"7999000{n:04d}", f"Водитель №{n}"),
        occurred_at=utcnow(),
        dedupe_key=f"late:{n}",
    )


def taxi(kind: str, key: str) -> Alert:
    return Alert(kind, "test", Subject("order", "555", "Заказ 555"), utcnow(), f"{kind}:{key}")


def texts(h: BotHarness) -> list[str]:
    return [str(m.get("text", "")) for m in h.emu.messages(GROUP)]


async def test_routine_news_reaches_a_chat_once_per_subject_and_window(tmp_path):
    async with group_bot(tmp_path, None) as h:
        assert h.app is not None
        repos = h.app.repos
        await h.app.pipeline.commit("test", [parked(1, "Тверь")], None)
        await h.emu.wait_for_message(GROUP, lambda m: "Тверь" in m.get("text", ""))
        await eventually(lambda: all_sent(h))

        # More routine news of the same driver within the window waits in the outbox...
        await h.app.pipeline.commit("test", [parked(2, "Клин"), parked(3, "Химки")], None)
        # ...while news that needs a person goes at once.
        await h.app.pipeline.commit("test", [late(7)], None)
        await h.emu.wait_for_message(GROUP, lambda m: "Водитель №7" in m.get("text", ""))

        async def held() -> bool:
            rows = await repos.db.fetchall(
                "SELECT not_before FROM outbox WHERE state = 'pending' AND kind = 'driver.parked'"
            )
            later = utcnow() + timedelta(minutes=9)
            return len(rows) == 2 and all(row.not_before > later.isoformat() for row in rows)

        await eventually(held)
        assert not any("Клин" in text or "Химки" in text for text in texts(h))

        # The window ends (the clock is moved: the first line went out 11 minutes ago): one
        # line with the latest state and the count of the changes it folds.
        long_ago = to_db_time(utcnow() - timedelta(minutes=11))
        await repos.db.execute(
            "UPDATE outbox SET sent_at = :t WHERE state = 'sent' AND kind = 'driver.parked'",
            {"t": long_ago},
        )
        rows = await repos.db.fetchall(
            "SELECT id FROM outbox WHERE state = 'pending' AND kind = 'driver.parked'"
        )
        await repos.outbox.postpone([row.id for row in rows], utcnow(), None)
        h.app.sender.wake()
        line = await h.emu.wait_for_message(GROUP, lambda m: "Химки" in m.get("text", ""))
        assert "Клин" not in line["text"] and "ещё 1 изменение до этого" in line["text"]
        await eventually(lambda: all_sent(h))
        assert not refused(h)


async def test_a_card_edited_far_up_the_chat_gets_one_pointer_per_window(tmp_path):
    async with group_bot(tmp_path, None) as h:
        assert h.app is not None
        await h.app.pipeline.commit("test", [taxi("taxi.assigned", "1")], None)
        card = await h.emu.wait_for_message(
            GROUP, lambda m: "Назначена машина" in m.get("text", "")
        )
        await eventually(lambda: all_sent(h))

        # Nearby, an edit is enough.
        await h.app.pipeline.commit("test", [taxi("taxi.client_inside", "2")], None)
        await eventually(lambda: all_sent(h))
        assert not any("карточка обновлена" in text for text in texts(h))

        for _ in range(12):  # the chat moves on: the card is far up now
            await h.say(ADMIN, "/subscriptions", chat_id=GROUP)
        await h.app.pipeline.commit("test", [taxi("taxi.state_changed", "3")], None)
        pointer = await h.emu.wait_for_message(
            GROUP, lambda m: "карточка обновлена" in m.get("text", "")
        )
        assert pointer["reply_to_message"]["message_id"] == card["message_id"]  # a basic group
        assert "Заказ 555" in pointer["text"] and not pointer.get("reply_markup")
        shown = next(m for m in h.emu.messages(GROUP) if m["message_id"] == card["message_id"])
        assert "Статус заказа изменился" in shown["text"]

        # Another edit within the window: the card changes, no second pointer.
        await h.app.pipeline.commit("test", [taxi("taxi.finished", "4")], None)
        await eventually(lambda: all_sent(h))
        assert len([t for t in texts(h) if "карточка обновлена" in t]) == 1
        assert not refused(h)


def test_a_supergroup_card_is_linked_and_other_chats_have_no_link():
    assert card_link(-1001234567890, 0, 42) == "https://t.me/c/1234567890/42"
    assert card_link(-1001234567890, 7, 42) == "https://t.me/c/1234567890/7/42"
    assert card_link(-4004, 0, 42) is None and card_link(1001, 0, 42) is None


class Quiz(StatesGroup):
    name = State()


def quiz_router() -> Router:
    """A one-question wizard, as the services' wizards ask (bot.prompts.ask)."""
    router = Router(name="quiz")

    @router.message(Command("quiz"))
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_state(Quiz.name)
        await ask(message, "Как назвать рейс?")

    @router.message(Quiz.name, F.text)
    async def answered(message: Message, state: FSMContext) -> None:
        await state.clear()
        await message.answer(f"Рейс назван: {message.text}")

    return router


async def test_a_wizard_question_pushed_up_by_alerts_is_asked_again(tmp_path):
    async with group_bot(tmp_path, None, extra_routers=lambda: [quiz_router()]) as h:
        assert h.app is not None
        question = await h.say(
            ADMIN, "/quiz", chat_id=GROUP, expect=lambda m: "рейс" in m.get("text", "")
        )

        await h.app.pipeline.commit("test", [late(1), late(2)], None)
        again = await h.emu.wait_for_message(
            GROUP,
            lambda m: "Как назвать рейс?" in m.get("text", ""),
            after_message_id=question["message_id"],
        )
        alert_ids = [m["message_id"] for m in h.emu.messages(GROUP) if "Водитель №" in str(m)]
        assert again["message_id"] > max(alert_ids)  # asked again below the alerts
        asks = [
            c.params
            for c in h.emu.calls
            if c.method == "sendMessage" and "Как назвать" in str(c.params.get("text"))
        ]
        assert len(asks) == 2 and all("force_reply" in str(p["reply_markup"]) for p in asks)
        assert any(e.get("type") == "text_mention" for e in again.get("entities", []))

        # The answer (the person's app replies to the newest question) completes the step.
        done = await h.say(
            ADMIN, "Москва — Тверь", chat_id=GROUP, expect=lambda m: "Рейс" in m.get("text", "")
        )
        assert done["text"] == "Рейс назван: Москва — Тверь"

        # The step is closed: later alerts do not ask it again.
        await h.app.pipeline.commit("test", [late(3)], None)
        await h.emu.wait_for_message(GROUP, lambda m: "Водитель №3" in m.get("text", ""))
        await eventually(lambda: all_sent(h))
        assert len([t for t in texts(h) if "Как назвать рейс?" in t]) == 2
        assert not refused(h)


async def test_a_muted_group_still_hears_the_order_it_asked_about(tmp_path):
    """/mute silences the feed (the drivers' area here), not the taxi order the group put on
    watch itself (a subscription naming the order, as /taxi and /order make)."""
    async with group_bot(tmp_path, None) as h:
        assert h.app is not None
        repos = h.app.repos
        await repos.subscriptions.add(GROUP, 0, "all", "order:555", by=ADMIN)
        muted = await h.say(ADMIN, "/mute 1h", chat_id=GROUP)
        assert "по-прежнему сообщают" in muted["text"]
        await h.app.pipeline.commit("test", [late(1), taxi("taxi.assigned", "1")], None)
        card = await h.emu.wait_for_message(
            GROUP, lambda m: "Назначена машина" in m.get("text", "")
        )
        assert "Заказ 555" in card["text"]
        await eventually(lambda: all_sent(h))
        assert not any("Водитель №1" in text for text in texts(h))
