"""Whatever a handler raises, the user gets a polite answer and the log gets the context."""

import logging

from aiogram import Router
from aiogram.filters import Command

from integrations.errors import UpstreamUnavailable
from sandbox.harness import BotHarness

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
