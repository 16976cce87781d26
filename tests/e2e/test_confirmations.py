"""Yes on a confirmation against a slow vendor: Telegram forgets a press after about 15 seconds.

The Movizor simulator's ``object_delete`` moves the emulator's (Telegram's) clock 20 s on: the
vendor took longer than Telegram keeps the press answerable.
"""

from datetime import timedelta
from typing import Any

import pytest
from aiogram import Router
from aiogram.dispatcher.event.handler import CallableObject
from aiogram.filters import Command
from aiogram.types import Message

from bot.confirm import ACTIONS, ConfirmSpec, ask_to_confirm
from sandbox.harness import BotHarness
from sandbox.simulators.movizor.simulator import MovizorSimulator
from sandbox.telegram_emulator import ManualClock
from storage import Repos
from storage.db import utcnow
from storage.users import User
from tests.e2e.conftest import ADMIN

PHONE = "79991234567"


def labels(message: dict | None) -> list[str]:
    rows = ((message or {}).get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


class Scene:
    """Telegram's clock, and what the chat showed while Movizor was deleting."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.harness: BotHarness | None = None
        self.seen_while_deleting: list[dict[str, Any] | None] = []

    def vendor_is_slow(self, function: str) -> None:
        assert self.harness is not None
        self.clock.advance(20)  # longer than Telegram keeps a press answerable
        self.seen_while_deleting.append(self.harness.emu.last_message(ADMIN))


@pytest.fixture
async def scene(tmp_path, monkeypatch):
    scene = Scene()
    sim = MovizorSimulator(project="test", key="test-key")
    now = utcnow()
    sim.add_driver(
        PHONE,
        "Петров И.И.",
        [("Москва", 55.75, 37.61, now), ("Тверь", 56.85, 35.91, now + timedelta(hours=3))],
    )
    original = sim._handlers["object_delete"]

    def slow_delete(params: dict[str, Any], now: Any) -> Any:
        scene.vendor_is_slow("object_delete")
        return original(params, now)

    monkeypatch.setitem(sim._handlers, "object_delete", slow_delete)
    await sim.start()
    settings = {
        "movizor_project": "test",
        "movizor_key": "test-key",
        "movizor_base_url": sim.base_url,
        "movizor_directory_sync_hours": 0,
    }
    async with BotHarness(
        tmp_path, admin_ids=[ADMIN], settings=settings, clock=scene.clock, extra_routers=boom
    ) as h:
        await h.app.scheduler.set_paused("movizor", True, by=ADMIN)
        scene.harness = h
        h.sim = sim
        yield scene
        assert h.emu.rejected_calls() == []  # never "query is too old"
    await sim.stop()


async def test_yes_is_answered_at_once_so_a_slow_vendor_cannot_expire_it(scene):
    harness = scene.harness
    question = await harness.say(ADMIN, "/untrack +7 999 123-45-67")
    assert "Да" in labels(question)
    harness.press(ADMIN, question, "Да")
    await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "Отключено от мониторинга" in c.params["text"],
        start=0,
    )

    assert [a.get("text") for a in harness.emu.callback_answers] == ["⏳ Выполняю…"]
    # While Movizor worked, the question said so and had no button left to tap twice.
    [working] = scene.seen_while_deleting
    assert working is not None and working["message_id"] == question["message_id"]
    assert working["text"] == "⏳ Выполняю…"
    assert labels(working) == []
    with pytest.raises(ValueError, match="no button"):
        harness.press(ADMIN, question, "Да")
    assert sum(1 for name, _ in harness.sim.requests if name == "object_delete") == 1


# --- an action that raises, after its press was answered ------------------------------------


async def explode(*_: Any, **__: Any) -> str:
    raise RuntimeError("a bug in an action")


def boom() -> list[Router]:
    async def ask(message: Message, repos: Repos, user: User) -> None:
        await ask_to_confirm(
            message, repos, user_id=user.id, action="test.boom", payload={}, question="Взорвать?"
        )

    router = Router(name="test-boom")
    router.message.register(ask, Command("boom"))
    return [router]


async def test_an_action_that_fails_after_the_answer_says_so_in_place_of_the_question(
    scene, monkeypatch
):
    monkeypatch.setitem(ACTIONS, "test.boom", ConfirmSpec(CallableObject(explode), "untrack"))
    harness = scene.harness
    question = await harness.say(ADMIN, "/boom")
    harness.press(ADMIN, question, "Да")
    failed = await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "⏳" not in c.params["text"], start=0
    )
    assert "Что-то пошло не так" in failed.params["text"]
    assert labels(harness.emu.last_message(ADMIN)) == []
