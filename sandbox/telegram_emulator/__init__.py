"""A Telegram Bot API emulator: stands in for api.telegram.org in the demo and in tests.

The package re-exports its public names, so ``from sandbox.telegram_emulator import ...`` is the
one import to use; see ``server`` for the emulator itself.
"""

from sandbox.telegram_emulator.common import ApiError, JsonDict, ManualClock, bad_request, forbidden
from sandbox.telegram_emulator.server import (
    CALLBACK_ANSWER_LIMIT,
    CALLBACK_DATA_LIMIT_BYTES,
    CAPTION_LIMIT,
    DEFAULT_UPDATE_TYPES,
    MAX_BUTTONS_PER_ROW,
    MAX_INLINE_BUTTONS,
    TEXT_LIMIT,
    ApiCall,
    BotEvent,
    EventKind,
    HtmlParseError,
    RateLimits,
    TelegramEmulator,
    TokenBucket,
    detect_entities,
    format_text,
    inline_buttons,
    parse_html,
    utf16_len,
    validate_reply_markup,
)

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
