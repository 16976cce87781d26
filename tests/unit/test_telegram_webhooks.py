"""The emulator's update delivery answers like Telegram's: one long-polling consumer per token
(409s), and webhooks (setWebhook's checks, POSTs with the secret header, per-chat order, retries
of a refused update with growing pauses, a Bot API call in the answer)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiohttp import web

from sandbox.telegram_emulator import SECRET_HEADER, TelegramEmulator, WebhookRetry

TOKEN = "123456:TEST-TOKEN"
ANNA, BORIS = 1001, 1002
SECRET = "s3cret_token-1"
FAST = WebhookRetry(first_seconds=0.05, max_seconds=0.2, timeout_seconds=5)


class _FastCloseSession(AiohttpSession):
    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


async def _emulator(*, local_mode: bool) -> TelegramEmulator:
    emulator = TelegramEmulator(token=TOKEN, local_mode=local_mode, webhook_retry=FAST)
    await emulator.start()
    emulator.add_user(ANNA, "Анна")
    emulator.add_user(BORIS, "Борис")
    return emulator


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    emulator = await _emulator(local_mode=True)
    yield emulator
    await emulator.stop()


def _bot(emulator: TelegramEmulator) -> Bot:
    assert emulator.base_url is not None
    return Bot(TOKEN, session=_FastCloseSession(api=TelegramAPIServer.from_base(emulator.base_url)))


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    telegram_bot = _bot(emu)
    yield telegram_bot
    await telegram_bot.session.close()


Answer = Callable[[dict[str, object]], Awaitable[web.Response]]


class Receiver:
    """A webhook endpoint on loopback that records what Telegram POSTs to it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, object], str | None]] = []  # (update, secret)
        self.answer: Answer = self._ok
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @staticmethod
    async def _ok(update: dict[str, object]) -> web.Response:
        return web.Response(status=200)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.received.append((update, request.headers.get(SECRET_HEADER)))
        self._arrived.set()
        return await self.answer(update)

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

    def texts(self) -> list[str]:
        return [str(u["message"]["text"]) for u, _ in self.received if "message" in u]  # type: ignore[index]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.stop()


# --- one long-polling consumer per token ---------------------------------------------------------


async def test_a_second_get_updates_terminates_the_first_with_409(
    emu: TelegramEmulator, bot: Bot
) -> None:
    other = _bot(emu)
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_poller()
    second = asyncio.create_task(other.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []
    await other.session.close()


async def test_get_updates_while_a_webhook_is_set_is_a_409(
    emu: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(receiver.url)
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook"):
        await bot.get_updates(timeout=0)


async def test_a_long_poll_waiting_when_a_webhook_is_set_gets_the_409(
    emu: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    other = _bot(emu)
    polling = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_poller()
    await other.set_webhook(receiver.url)
    with pytest.raises(TelegramConflictError, match="while webhook is active"):
        await polling
    await other.session.close()


# --- setWebhook's checks -------------------------------------------------------------------------


async def test_telegram_wants_https_on_its_ports_and_a_plain_secret() -> None:
    emulator = await _emulator(local_mode=False)
    bot = _bot(emulator)
    try:
        with pytest.raises(TelegramBadRequest, match="An HTTPS URL must be provided"):
            await bot.set_webhook("http://bot.example.com/hook")
        with pytest.raises(TelegramBadRequest, match="only on ports 80, 88, 443 or 8443"):
            await bot.set_webhook("https://bot.example.com:9000/hook")
        with pytest.raises(TelegramBadRequest, match="secret token contains unallowed"):
            await bot.set_webhook("https://bot.example.com/hook", secret_token="a:b")
        assert await bot.set_webhook("https://bot.example.com:8443/hook", secret_token=SECRET)
        info = await bot.get_webhook_info()
        assert (info.url, info.max_connections) == ("https://bot.example.com:8443/hook", 40)
    finally:
        await bot.session.close()
        await emulator.stop()


# --- delivery ------------------------------------------------------------------------------------


async def test_updates_are_posted_with_the_secret_and_confirmed_by_a_2xx(
    emu: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    emu.user_sends(ANNA, "/start")
    emu.user_sends(BORIS, "/help")
    await receiver.wait_for(2)

    assert sorted(receiver.texts()) == ["/help", "/start"]
    assert {secret for _, secret in receiver.received} == {SECRET}
    assert (await bot.get_webhook_info()).pending_update_count == 0
    assert emu.webhook_deliveries == 2


async def test_a_refused_update_is_tried_again_and_holds_back_only_its_chat(
    emu: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    refusals = 2

    async def refuse_annas_first(update: dict[str, object]) -> web.Response:
        nonlocal refusals
        if update["message"]["text"] == "first" and refusals:  # type: ignore[index]
            refusals -= 1
            return web.Response(status=500)
        return web.Response(status=200)

    receiver.answer = refuse_annas_first
    await bot.set_webhook(receiver.url)
    emu.user_sends(ANNA, "first")
    emu.user_sends(ANNA, "second")
    emu.user_sends(BORIS, "other chat")
    await receiver.wait_for(5)

    texts = receiver.texts()
    # Anna's "first" three times (two refusals), then her "second"; Boris never waits for her.
    assert texts.count("first") == 3
    assert texts.index("second") > max(i for i, t in enumerate(texts) if t == "first")
    assert texts.index("other chat") < texts.index("second")
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.pending_update_count == 0


async def test_pauses_between_tries_grow(
    emu: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def always_refuse(update: dict[str, object]) -> web.Response:
        times.append(loop.time())
        return web.Response(status=502)

    receiver.answer = always_refuse
    await bot.set_webhook(receiver.url)
    emu.user_sends(ANNA, "again and again")
    await receiver.wait_for(4)
    await bot.delete_webhook()

    pauses = [b - a for a, b in itertools.pairwise(times)]
    # 0.05, 0.1, 0.2 (the cap): never shorter than the configured pause.
    assert all(p >= want * 0.9 for p, want in zip(pauses, [0.05, 0.1, 0.2], strict=False))
    assert (await bot.get_webhook_info()).pending_update_count == 1


async def test_a_webhook_that_is_down_keeps_the_updates(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/nobody-listens")
    emu.user_sends(ANNA, "hello?")
    assert await emu.wait_for_webhook_error() == "Connection refused"
    assert (await bot.get_webhook_info()).pending_update_count == 1


async def test_delete_webhook_gives_the_undelivered_updates_to_get_updates(
    emu: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    async def refuse(update: dict[str, object]) -> web.Response:
        return web.Response(status=503)

    receiver.answer = refuse
    await bot.set_webhook(receiver.url)
    emu.user_sends(ANNA, "kept")
    await receiver.wait_for(1)
    assert await bot.delete_webhook()

    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["kept"]
    assert (await bot.get_webhook_info()).url == ""


async def test_a_call_in_the_webhooks_answer_is_run(
    emu: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    async def reply_in_answer(update: dict[str, object]) -> web.Response:
        chat = update["message"]["chat"]["id"]  # type: ignore[index]
        body = {"method": "sendMessage", "chat_id": chat, "text": "ответ из вебхука"}
        return web.Response(text=json.dumps(body), content_type="application/json")

    receiver.answer = reply_in_answer
    await bot.set_webhook(receiver.url)
    emu.user_sends(ANNA, "/ping")
    reply = await emu.wait_for_message(ANNA)
    assert reply["text"] == "ответ из вебхука"
