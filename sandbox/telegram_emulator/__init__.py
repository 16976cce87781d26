"""A Telegram Bot API emulator: stands in for api.telegram.org in the demo and in tests.

The package re-exports its public names, so ``from sandbox.telegram_emulator import ...`` is the
one import to use; see ``server`` for the emulator itself.
"""

from sandbox.telegram_emulator.common import ApiError, JsonDict, ManualClock, bad_request, forbidden
from sandbox.telegram_emulator.events import ApiCall, BotEvent, EventKind
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
from sandbox.telegram_emulator.server import (
    CALLBACK_ANSWER_LIMIT,
    TelegramEmulator,
)
from sandbox.telegram_emulator.updates import DEFAULT_UPDATE_TYPES

__all__ = [
    "CALLBACK_ANSWER_LIMIT",
    "CALLBACK_DATA_LIMIT_BYTES",
    "CAPTION_LIMIT",
    "DEFAULT_UPDATE_TYPES",
    "MAX_BUTTONS_PER_ROW",
    "MAX_INLINE_BUTTONS",
    "TEXT_LIMIT",
    "ApiCall",
    "ApiError",
    "BotEvent",
    "EventKind",
    "FloodLimiter",
    "HtmlParseError",
    "JsonDict",
    "ManualClock",
    "RateLimits",
    "TelegramEmulator",
    "TokenBucket",
    "bad_request",
    "detect_entities",
    "forbidden",
    "format_text",
    "inline_buttons",
    "parse_html",
    "utf16_len",
    "validate_reply_markup",
]
