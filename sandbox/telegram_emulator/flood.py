"""Flood limits: Telegram's published send rates as token buckets, answering 429 + retry_after.

The emulator's send* handlers ask the FloodLimiter for a token before storing a message; when
none is available the call fails like Telegram's does, with ``parameters.retry_after`` in whole
seconds, and nothing is taken (so a retry after that many seconds succeeds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.telegram_emulator.common import ApiError


@dataclass(frozen=True)
class RateLimits:
    """Telegram's published flood limits, as token buckets (rate + burst).

    Applied to calls that create messages (sendMessage, sendLocation, sendDocument, sendPhoto).
    Pass ``limits=None`` to the emulator to switch them off.
    """

    per_private_chat_per_second: float = 1.0
    private_chat_burst: int = 3
    per_group_per_minute: float = 20.0
    group_burst: int = 20
    global_per_second: float = 30.0
    global_burst: int = 30


class TokenBucket:
    """Classic token bucket: ``capacity`` tokens, refilled at ``rate`` tokens per second."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self._refill(now)
        if self.tokens >= 1 - 1e-9:
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


class FloodLimiter:
    """Global, per-private-chat and per-group buckets; a send needs a token from two of them."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self._limits = limits
        self._clock = clock
        self._global = TokenBucket(limits.global_per_second, limits.global_burst, clock())
        self._per_chat: dict[int, TokenBucket] = {}

    def _chat_bucket(self, chat_id: int, private: bool, now: float) -> TokenBucket:
        if chat_id not in self._per_chat:
            limits = self._limits
            if private:
                bucket = TokenBucket(
                    limits.per_private_chat_per_second, limits.private_chat_burst, now
                )
            else:
                bucket = TokenBucket(limits.per_group_per_minute / 60, limits.group_burst, now)
            self._per_chat[chat_id] = bucket
        return self._per_chat[chat_id]

    def acquire(self, chat_id: int, private: bool) -> None:
        """Take a token for one send, or raise 429 without taking anything."""
        now = self._clock()
        buckets = (self._global, self._chat_bucket(chat_id, private, now))
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for bucket in buckets:
            bucket.take(now)
