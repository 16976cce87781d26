"""Bot + Telegram emulator (+ simulators) on free loopback ports, for tests and the demo.

    async with BotHarness(tmp_path, admin_ids=[ADMIN]) as h:
        reply = await h.say(ADMIN, "/help")
        assert "Команды" in reply["text"]

Everything is real: the bot polls the emulator over HTTP, writes a real SQLite file (or the
PostgreSQL database ``database_url`` names), and the emulator checks every request the way
Telegram does (``h.emu.rejected_calls()`` must stay empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiogram import Router

from bot.app import LogiBot
from bot.config import Settings
from integrations.base import Watcher
from sandbox.telegram_emulator import RateLimits, TelegramEmulator, WebhookRetry

TOKEN = "123456:SANDBOX-TOKEN-not-a-real-one"
WEBHOOK_PATH = "/telegram/webhook"
WEBHOOK_SECRET = "sandbox-webhook-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotHarness:
    def __init__(
        self,
        workdir: Path,
        *,
        admin_ids: list[int] | None = None,
        limits: RateLimits | None = None,
        settings: dict[str, Any] | None = None,
        extra_routers: Callable[[], list[Router]] | None = None,
        watchers: Callable[[], list[tuple[Watcher, int]]] | None = None,
        database_url: str | None = None,
        webhook: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.workdir = Path(workdir)
        self.database_url = database_url or f"sqlite:///{self.workdir / 'logibot.sqlite3'}"
        self.admin_ids = admin_ids or []
        # webhook: Telegram posts updates to the bot's HTTP port (the emulator as a local Bot API
        # server, which allows plain HTTP on loopback); else the bot long-polls.
        self.webhook = webhook
        # ``clock`` is Telegram's (the emulator's): a ManualClock lets a test age a button press;
        # ``wall_clock`` dates its messages (the demo's is simulated time).
        self.emu = TelegramEmulator(
            token=TOKEN,
            bot_username="logibot",
            limits=limits,
            local_mode=webhook,
            webhook_retry=WebhookRetry(first_seconds=0.1, max_seconds=1.0),
            clock=clock,
            wall_clock=wall_clock,
        )
        self.extra_settings = settings or {}
        self.extra_routers = extra_routers  # tests add handlers of their own (built per start)
        self.watchers = watchers  # (watcher, poll seconds) beside the configured integrations
        self.app: LogiBot | None = None
        self._running: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BotHarness:
        await self.emu.start()
        for admin_id in self.admin_ids:
            self.emu.add_user(admin_id, f"Админ {admin_id}", username=f"admin{admin_id}")
        await self.start_bot()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_bot()
        await self.emu.stop()

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "bot_token": TOKEN,
            "telegram_api_url": self.emu.base_url,
            "admin_ids": self.admin_ids,
            "database_url": self.database_url,
            "http_port": 0,
            "log_level": "DEBUG",
            # A new leader waits takeover/3 s before it starts (bot/leader.py): tests are quick.
            "leader_takeover_seconds": 1,
        }
        if self.webhook:
            port = free_port()
            values["http_port"] = port
            values["webhook_url"] = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            values["webhook_secret"] = WEBHOOK_SECRET
        values.update(self.extra_settings)
        return Settings(_env_file=None, **values)

    async def start_bot(self, *, wait_leading: bool = True) -> LogiBot:
        routers = self.extra_routers() if self.extra_routers else []
        watchers = self.watchers() if self.watchers else []
        self.app = LogiBot(self.settings(), extra_routers=routers, extra_watchers=watchers)
        await self.app.start()
        self._running = asyncio.create_task(self.app.run())
        if wait_leading:  # the background work is running (a standby waits: pass False)
            leading = asyncio.create_task(self.app.leading.wait())
            await asyncio.wait([leading, self._running], return_when=asyncio.FIRST_COMPLETED)
            leading.cancel()
            if self._running.done():
                self._running.result()  # start-up failed: say why
        return self.app

    async def stop_bot(self) -> None:
        if self.app is not None and self._running is not None:
            await self.app.request_stop()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running
        self.app, self._running = None, None

    # --- acting as a person ----------------------------------------------------------------
    async def say(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        expect: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send ``text`` as the user and return the bot's next message in that chat
        (the next one matching ``expect``, when other messages may arrive in between)."""
        chat = user_id if chat_id is None else chat_id
        after = self._last_id(chat)
        self.emu.user_sends(user_id, text, chat_id=chat_id, **kwargs)
        return await self.emu.wait_for_message(
            chat, expect, timeout=timeout, after_message_id=after
        )

    def press(
        self,
        user_id: int,
        message: dict[str, Any],
        button_text_contains: str,
    ) -> str:
        """Press the first button whose text contains ``button_text_contains``."""
        data = self.button_data(message, button_text_contains)
        chat_id = message["chat"]["id"]
        return self.emu.user_presses(user_id, message["message_id"], data, chat_id=chat_id)

    @staticmethod
    def button_data(message: dict[str, Any], text_contains: str) -> str:
        markup = message.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if text_contains in button["text"]:
                    return str(button["callback_data"])
        raise AssertionError(f"no button with {text_contains!r} in {markup}")

    def _last_id(self, chat_id: int) -> int:
        last = self.emu.last_message(chat_id)
        return int(last["message_id"]) if last else 0
