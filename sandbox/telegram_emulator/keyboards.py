"""reply_markup validation: keyboard shapes, button fields and callback_data size.

Telegram is strict about inline keyboards (and the bot must be too), so these checks answer with
Telegram's own error texts: BUTTON_DATA_INVALID, REPLY_MARKUP_TOO_LONG, BUTTON_URL_INVALID...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sandbox.telegram_emulator.common import JsonDict, bad_request

CALLBACK_DATA_LIMIT_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_BUTTONS_PER_ROW = 8

_INLINE_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_URL_SCHEME = re.compile(r"^(?:https?|tg|ton)://[^\s/?#]+\S*$", re.IGNORECASE)
_LOCAL_HOSTS = re.compile(r"^https?://(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0)(?:[:/?#]|$)")


def validate_reply_markup(markup: Any) -> JsonDict:
    """Check a reply_markup the way Telegram does (strictly for inline keyboards).

    Returns the markup unchanged; raises ApiError(400) with Telegram's texts otherwise.
    """
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _validate_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _validate_reply_keyboard(markup["keyboard"])
    elif "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise bad_request("can't parse reply keyboard markup JSON object")
    elif "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise bad_request("can't parse reply keyboard markup JSON object")
    else:
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(row, list) for row in value)


def _validate_inline_keyboard(rows: Any) -> None:
    if not _is_rows(rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("REPLY_MARKUP_TOO_LONG")
    for row in rows:
        if len(row) > MAX_BUTTONS_PER_ROW:
            raise bad_request("REPLY_MARKUP_TOO_LONG")
        for button in row:
            _validate_inline_button(button)


def _validate_inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(prefix + 'Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _INLINE_BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(prefix + "exactly one of the optional fields must be used")
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions:
        url = button["url"]
        if not isinstance(url, str) or not _URL_SCHEME.match(url) or _LOCAL_HOSTS.match(url):
            raise bad_request("BUTTON_URL_INVALID")


def _validate_reply_keyboard(rows: Any) -> None:
    if not _is_rows(rows):
        raise bad_request(
            'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            text = button if isinstance(button, str) else None
            if isinstance(button, dict):
                text = button.get("text")
            if not isinstance(text, str) or not text:
                raise bad_request('can\'t parse keyboard button: Field "text" must be a String')


def inline_buttons(message: Mapping[str, Any]) -> list[JsonDict]:
    """All inline buttons of a message, row by row (empty when it has no inline keyboard)."""
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]
