"""What tests observe: ApiCall (one request the bot made) and BotEvent (what a person would see).

The emulator records every ApiCall in ``calls`` and passes every BotEvent to its listeners;
both are frozen value types, safe to keep and compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sandbox.telegram_emulator.common import JsonDict

EventKind = Literal[
    "message",  # a new message (text, document, photo)
    "location",  # a new location message, static or live
    "edit",  # text or keyboard edited
    "live_location",  # a live location moved
    "live_location_stopped",
    "delete",
    "callback_answer",  # only answers with a text the person sees
]


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made and what the emulator answered.

    ``params`` are decoded (JSON fields parsed, ints/bools/floats coerced), so tests can write
    ``call.params["chat_id"] == 42`` whatever encoding aiogram used on the wire.
    ``at`` is the emulator's monotonic clock at the time of the answer.
    """

    method: str
    params: JsonDict
    ok: bool
    error_code: int | None
    description: str | None
    result: Any
    at: float


@dataclass(frozen=True)
class BotEvent:
    """Something the bot did that a person in the chat would see.

    ``message`` is a copy of the message as it looks after the action (for "delete": as it was).
    For "callback_answer" it is the message whose button was pressed and ``text`` is the toast
    (``show_alert`` tells a modal alert from a toast).
    """

    kind: EventKind
    chat_id: int | None
    message: JsonDict | None
    text: str | None = None
    show_alert: bool = False
