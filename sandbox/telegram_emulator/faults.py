"""Trouble a test asks for: a flood wait in one chat, requests that never get an answer, and
Telegram down altogether.

Telegram's flood control is not only the published send rates (flood.py): once a chat is over
its limit, EVERY message call into it (edits too) answers 429 with the seconds left, until the
wait is over. ``flood_wait`` puts one chat in that state. ``drop_connections`` closes the
connection of the next requests of a method without an answer, as a network failure does.
``go_down`` is an outage: every request, whatever its method, is either cut off (the network
between the bot and Telegram is gone: long polls already waiting lose their connection too) or
answered 502 "Bad Gateway" (Telegram's front end is up, its back end is not: what the Bot API
answers during its own incidents), until ``come_back``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from sandbox.telegram_emulator.common import ApiError, JsonDict

Outage = Literal["unreachable", "bad_gateway"]

# Calls into a chat that a flood wait refuses (reading methods and getUpdates are not limited).
MESSAGE_CALLS = frozenset(
    {
        "sendMessage",
        "sendLocation",
        "sendDocument",
        "sendPhoto",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageLiveLocation",
        "stopMessageLiveLocation",
    }
)


class Faults:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._flood_until: dict[int, float] = {}
        self._drops: dict[str, int] = {}
        self.outage: Outage | None = None

    def go_down(self, how: Outage) -> None:
        """Every request from now on fails the way ``how`` says, until :meth:`come_back`."""
        self.outage = how

    def come_back(self) -> None:
        self.outage = None

    def outage_error(self) -> ApiError | None:
        """The answer an outage gives when Telegram's front end still answers."""
        return ApiError(502, "Bad Gateway") if self.outage == "bad_gateway" else None

    def flood_wait(self, chat_id: int, seconds: float) -> None:
        """Answer 429 to message calls into ``chat_id`` for ``seconds`` (0 ends the wait)."""
        if seconds <= 0:
            self._flood_until.pop(chat_id, None)
        else:
            self._flood_until[chat_id] = self._clock() + seconds

    def drop_connections(self, method: str, times: int = 1) -> None:
        """Close the connection of the next ``times`` calls of ``method`` without answering."""
        self._drops[method.lower()] = times

    def take_drop(self, method: str) -> bool:
        left = self._drops.get(method.lower(), 0)
        if left <= 0:
            return False
        self._drops[method.lower()] = left - 1
        return True

    def check_flood(self, method: str, params: JsonDict) -> None:
        """Raise Telegram's 429 when ``method`` writes into a chat under a flood wait."""
        if method not in MESSAGE_CALLS:
            return
        try:
            chat_id = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            return
        until = self._flood_until.get(chat_id)
        if until is None:
            return
        left = until - self._clock()
        if left <= 0:
            del self._flood_until[chat_id]
            return
        retry_after = max(1, math.ceil(left))
        raise ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )
