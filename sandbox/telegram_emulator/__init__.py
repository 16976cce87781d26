"""A Telegram Bot API emulator: stands in for api.telegram.org in the demo and in tests.

Why it exists: logibot's behaviour depends on *how Telegram answers* — HTML that Telegram refuses
to parse, 429 "retry after", users who blocked the bot, groups upgraded to supergroups. A mock that
says "ok" to everything hides exactly those bugs. This emulator speaks real HTTP, so the bot talks
to it through aiogram's ordinary session (and aiogram's own error mapping is exercised), and it
answers with Telegram's own error texts and status codes.

Typical use in a test (everything runs in the test's event loop)::

    emu = TelegramEmulator(token="123456:TEST-TOKEN", bot_username="logibot")
    base_url = await emu.start()
    bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    emu.add_user(42, "Ирина")
    emu.user_sends(42, "/start")             # queued for the bot's getUpdates
    reply = await emu.wait_for_message(42)    # the bot's answer, as Telegram stored it

Import everything from the package (``from sandbox.telegram_emulator import ...``). Layout:

* server.py — TelegramEmulator: HTTP, dispatch, the ApiCall log, the control API and waits;
* params.py — reading and decoding a request's parameters;
* updates.py — the update queue, getUpdates long polling, webhooks and 409 conflicts;
* webhook.py — webhook delivery: POSTs with the secret header, per-chat order, retries;
* chats.py — ChatStore: people, chats, memberships, stored messages, callback queries;
* people.py — People: what people do, as the updates Telegram sends for it;
* message_methods.py, chat_methods.py — the Bot API method handlers;
* formatting.py — HTML parse mode, auto-detected entities, UTF-16 lengths;
* keyboards.py — reply_markup validation;
* flood.py — RateLimits and the FloodLimiter (429 + retry_after);
* events.py, common.py — ApiCall, BotEvent; ApiError, JsonDict, ManualClock.
"""

from sandbox.telegram_emulator.common import ApiError, JsonDict, ManualClock, bad_request, forbidden
from sandbox.telegram_emulator.events import ApiCall, BotEvent, EventKind
from sandbox.telegram_emulator.faults import Outage
from sandbox.telegram_emulator.flood import FloodLimiter, RateLimits, TokenBucket
from sandbox.telegram_emulator.formatting import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    HtmlParseError,
    detect_entities,
    format_text,
    parse_html,
    utf16_len,
)
from sandbox.telegram_emulator.keyboards import (
    CALLBACK_DATA_LIMIT_BYTES,
    MAX_BUTTONS_PER_ROW,
    MAX_INLINE_BUTTONS,
    inline_buttons,
    validate_reply_markup,
)
from sandbox.telegram_emulator.message_methods import CALLBACK_ANSWER_LIMIT
from sandbox.telegram_emulator.server import TelegramEmulator
from sandbox.telegram_emulator.updates import DEFAULT_UPDATE_TYPES
from sandbox.telegram_emulator.webhook import SECRET_HEADER, WebhookRetry

__all__ = [
    "CALLBACK_ANSWER_LIMIT",
    "CALLBACK_DATA_LIMIT_BYTES",
    "CAPTION_LIMIT",
    "DEFAULT_UPDATE_TYPES",
    "MAX_BUTTONS_PER_ROW",
    "MAX_INLINE_BUTTONS",
    "SECRET_HEADER",
    "TEXT_LIMIT",
    "ApiCall",
    "ApiError",
    "BotEvent",
    "EventKind",
    "FloodLimiter",
    "HtmlParseError",
    "JsonDict",
    "ManualClock",
    "Outage",
    "RateLimits",
    "TelegramEmulator",
    "TokenBucket",
    "WebhookRetry",
    "bad_request",
    "detect_entities",
    "forbidden",
    "format_text",
    "inline_buttons",
    "parse_html",
    "utf16_len",
    "validate_reply_markup",
]
