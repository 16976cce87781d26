"""Whatever a handler raises, the user gets a polite answer and the log gets the context."""

import logging
from collections.abc import Callable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from integrations.errors import UpstreamUnavailable
from sandbox.harness import BotHarness
from sandbox.telegram_emulator import ManualClock

ADMIN = 42


def failing_routers() -> list[Router]:
    router = Router(name="failing")

    async def crash(message) -> None:
        raise RuntimeError("database exploded with token 123456:SANDBOX")

    async def upstream(message) -> None:
        raise UpstreamUnavailable("timeout after 10s", code="timeout")

    router.message.register(crash, Command("crash"))
    router.message.register(upstream, Command("upstream"))
    return [router]


async def test_a_crash_gets_a_polite_answer_and_a_logged_context(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with BotHarness(tmp_path, admin_ids=[ADMIN], extra_routers=failing_routers) as h:
        reply = await h.say(ADMIN, "/crash")
        assert "Что-то пошло не так" in reply["text"]
        assert "exploded" not in reply["text"] and "Traceback" not in reply["text"]

        reply = await h.say(ADMIN, "/upstream")
        assert reply["text"] == UpstreamUnavailable.default_message

        assert not h.emu.rejected_calls()
    failures = [r for r in caplog.records if r.name == "bot.errors" and r.levelno == logging.ERROR]
    assert failures and failures[0].user_id == ADMIN and failures[0].text == "/crash"


def slow_button_routers(clock: ManualClock) -> Callable[[], list[Router]]:
    def build() -> list[Router]:
        router = Router(name="slow-button")

        async def offer(message: Message) -> None:
            button = InlineKeyboardButton(text="Проверить", callback_data="slow")
            await message.answer(
                "Проверить?", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
            )

        async def pressed(callback: CallbackQuery) -> None:
            clock.advance(20)  # the work took longer than Telegram keeps the press
            raise UpstreamUnavailable("timeout after 10s", code="timeout")

        router.message.register(offer, Command("offer"))
        router.callback_query.register(pressed, F.data == "slow")
        return [router]

    return build


async def test_an_error_after_a_press_expired_is_told_in_the_chat(tmp_path):
    clock = ManualClock()
    routers = slow_button_routers(clock)
    async with BotHarness(tmp_path, admin_ids=[ADMIN], extra_routers=routers, clock=clock) as h:
        offer = await h.say(ADMIN, "/offer")
        h.press(ADMIN, offer, "Проверить")
        told = await h.emu.wait_for_message(ADMIN, after_message_id=offer["message_id"])
        assert told["text"] == UpstreamUnavailable.default_message
        [refused] = h.emu.rejected_calls()  # the popup Telegram no longer takes
        assert refused.method == "answerCallbackQuery"
