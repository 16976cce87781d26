"""What every part of the emulator shares: the JSON alias, Telegram's error answer, a test clock.

Method handlers and validators raise ApiError; the HTTP layer (server.py) turns it into
Telegram's ``{"ok": false, "error_code": ..., "description": ...}`` answer.
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]


class ManualClock:
    """A monotonic clock that moves only when told to: makes rate-limit tests deterministic."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ApiError(Exception):
    """An ok=false answer. Method handlers raise it; the HTTP layer turns it into JSON."""

    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str, parameters: JsonDict | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}", parameters)


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")
