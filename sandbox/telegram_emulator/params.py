"""Request parsing: a Bot API call's parameters, read from any encoding and decoded to types.

aiogram sends form fields (all strings) or multipart uploads; other clients send JSON bodies or
GET queries. ``read_request_params`` reads them all, ``normalise_params`` coerces the known
fields (ints, floats, bools, JSON) so the recorded ApiCall has typed params, and Params gives the
method handlers typed access that fails with Telegram's own "Bad Request" texts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from sandbox.telegram_emulator.common import JsonDict, bad_request

_INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "live_period",
        "heading",
        "proximity_alert_radius",
        "user_id",
        "cache_time",
        "from_chat_id",
        "max_connections",
        "until_date",
    }
)
_FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "allow_paid_broadcast",
        "has_spoiler",
        "show_caption_above_media",
        "disable_content_type_detection",
    }
)
_JSON_FIELDS: dict[str, str] = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
    "allowed_updates": "can't parse allowed updates JSON object",
    "commands": "can't parse BotCommand array JSON",
    "scope": "can't parse BotCommandScope JSON object",
    "reply_parameters": "can't parse ReplyParameters JSON object",
    "link_preview_options": "can't parse LinkPreviewOptions JSON object",
}


def _coerce_chat_id(value: Any) -> int | str:
    """chat_id is an integer or "@username"; anything else can only be "chat not found"."""
    if isinstance(value, bool):
        raise bad_request("chat not found")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None
    raise bad_request("chat not found")


def _coerce(name: str, value: Any) -> Any:
    """Decode one wire value: form fields are all strings, JSON bodies already typed."""
    if name == "chat_id":
        return _coerce_chat_id(value)
    if not isinstance(value, str):
        return value
    try:
        if name in _INT_FIELDS:
            return int(value)
        if name in _FLOAT_FIELDS:
            return float(value)
    except ValueError:
        raise bad_request(f"invalid {name} specified") from None
    if name in _BOOL_FIELDS:
        return value.strip().lower() in {"true", "1", "yes"}
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(_JSON_FIELDS[name]) from None
    return value


def normalise_params(raw: Mapping[str, Any]) -> JsonDict:
    return {name: _coerce(name, value) for name, value in raw.items()}


class Params:
    """Typed access to a call's decoded parameters, raising Telegram's errors on bad input."""

    def __init__(self, data: JsonDict) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def chat_id(self) -> int | str:
        if not self.has("chat_id"):
            raise bad_request("chat_id is empty")
        value: int | str = self.data["chat_id"]
        return value

    def opt_int(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"invalid {name} specified")
        return value

    def req_int(self, name: str, missing: str | None = None) -> int:
        value = self.opt_int(name)
        if value is None:
            raise bad_request(missing or f"{name} is empty")
        return value

    def opt_float(self, name: str) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad_request(f"invalid {name} specified")
        return float(value)

    def req_float(self, name: str) -> float:
        value = self.opt_float(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def opt_str(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise bad_request(f"invalid {name} specified")
        return value

    def flag(self, name: str) -> bool:
        return bool(self.data.get(name))

    def get(self, name: str) -> Any:
        return self.data.get(name)


Handler = Callable[[Params], Awaitable[Any]]


async def read_request_params(request: web.Request) -> JsonDict:
    """Parameters from the query string plus a JSON, urlencoded or multipart body."""
    params: JsonDict = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse request JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse request JSON object")
        params.update(body)
        return params
    form = await request.post()
    for key in form:
        value = form[key]
        if isinstance(value, web.FileField):
            content = value.file.read()
            params[key] = {
                "filename": value.filename,
                "content_type": value.content_type,
                "size": len(content),
                "content": content,  # kept by the emulator, for tests to open what was sent
            }
        elif isinstance(value, bytes):
            params[key] = value.decode("utf-8", errors="replace")
        else:
            params[key] = value
    return params
