"""Start-up's wait for Telegram: getMe, tried again with back-off until Telegram answers.

A bot restarted into a network outage (a container after a reboot, before the network is up;
Telegram's own incidents) must not exit: compose's ``restart: unless-stopped`` would restart it
every few seconds, forever, each time paying the whole start-up. So getMe, the one call start-up
needs from the network, is tried until it succeeds: a line in the log per failed attempt,
/healthz saying "starting" meanwhile (bot/health.py), and polling as soon as Telegram answers.
The wait is cancelled like any coroutine, so SIGTERM stops it at once.

A refusal is not an outage: a token Telegram does not know (401) or an address that is not a
Bot API (404) will not improve by waiting, and stops the bot with a configuration error.
The vendors are not waited for: their watchers and syncs run in the background and tell
/healthz and /status how they fare.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_never,
    wait_exponential_jitter,
)

from bot.config import ConfigError
from bot.health import StartupProgress

log = logging.getLogger(__name__)

# What an outage looks like from here: no connection or no answer in time, Telegram's front
# end answering 5xx or a page that is not the Bot API's JSON, or flood control.
TRANSIENT = (
    TelegramNetworkError,
    TelegramServerError,
    TelegramRetryAfter,
    ClientDecodeError,
    TimeoutError,
)
ATTEMPT_SECONDS = 15.0  # one getMe; aiogram's own request timeout is a minute
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0  # the back-off doubles up to this: a minute's outage costs ~7 calls

_backoff = wait_exponential_jitter(initial=FIRST_WAIT_SECONDS, max=MAX_WAIT_SECONDS, jitter=1)


def _wait(state: RetryCallState) -> float:
    """The back-off, or longer when Telegram said how long to wait (429 retry_after)."""
    error = state.outcome.exception() if state.outcome else None
    asked = error.retry_after if isinstance(error, TelegramRetryAfter) else 0
    return max(_backoff(state), float(asked))


def describe(error: BaseException | None) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {ATTEMPT_SECONDS:g} s"
    return f"{type(error).__name__}: {error}"


async def wait_for_telegram(bot: Bot, progress: StartupProgress) -> User:
    """getMe until Telegram answers (it is then cached: aiogram's polling asks ``bot.me()``)."""

    async def get_me() -> User:
        progress.attempts += 1
        async with asyncio.timeout(ATTEMPT_SECONDS):
            return await bot.me()

    def failed(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        progress.last_error = describe(error)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "Telegram did not answer at start-up (attempt %d: %s); trying again in %.0f s",
            state.attempt_number,
            progress.last_error,
            wait,
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT),
        wait=_wait,
        stop=stop_never,
        before_sleep=failed,
        reraise=True,
    )
    try:
        me: User = await retrying(get_me)
    except TelegramUnauthorizedError as exc:
        raise ConfigError([f"BOT_TOKEN: Telegram refused it ({exc.message})"]) from exc
    except TelegramNotFound as exc:
        raise ConfigError(
            [f"TELEGRAM_API_URL: {exc.message} there: not a Bot API server, or a malformed token"]
        ) from exc
    progress.telegram_answered()
    if progress.attempts > 1:
        log.info("Telegram answered after %d attempts", progress.attempts)
    return me
