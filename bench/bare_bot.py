"""The baseline: plain aiogram answering /help, with nothing of logibot in between.

It is the floor the full bot is compared with. Everything that is not logibot's own work is
set up exactly as :class:`bot.app.LogiBot` does it (aiohttp session pointed at the emulator,
HTML default parse mode, long polling with the same allowed updates), and it answers the very
text the full bot rendered, so the emulator parses identical HTML for both.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import Command
from aiogram.types import Message

from sandbox.harness import TOKEN
from sandbox.telegram_emulator import TelegramEmulator


def build_dispatcher(help_text: str) -> Dispatcher:
    """One router, one handler, no middlewares, no database."""
    router = Router(name="bare")

    @router.message(Command("help"))
    async def help_command(message: Message) -> None:
        await message.answer(help_text)

    dp = Dispatcher()
    dp.include_router(router)
    return dp


class BareBot:
    """A fresh emulator plus a bare aiogram bot polling it; ``async with`` starts and stops both.

    The emulator has no rate limits, like the full bot's harness in this bench (``limits=None``).
    """

    def __init__(self, help_text: str, user_id: int) -> None:
        self.emu = TelegramEmulator(token=TOKEN, bot_username="logibot", limits=None)
        self.user_id = user_id
        self.dp = build_dispatcher(help_text)
        self._polling: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BareBot:
        base_url = await self.emu.start()
        # Same person as in the full bot's harness, so updates have the same shape.
        self.emu.add_user(self.user_id, f"Админ {self.user_id}", username=f"admin{self.user_id}")
        session = AiohttpSession(api=TelegramAPIServer.from_base(base_url))
        bot = Bot(
            token=TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        self._polling = asyncio.create_task(
            self.dp.start_polling(
                bot,
                handle_signals=False,
                allowed_updates=self.dp.resolve_used_update_types(),
            )
        )
        await self.emu.wait_for_poller(timeout=10.0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._polling is not None:
            if not self._polling.done():
                await self.dp.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        await self.emu.stop()
