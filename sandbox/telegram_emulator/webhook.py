"""Webhook delivery: what Telegram does with a bot's updates once ``setWebhook`` named a URL.

Telegram POSTs each Update as JSON to the URL, with the ``X-Telegram-Bot-Api-Secret-Token``
header when a secret was set, and waits for the answer:

* an answer in 2xx confirms the update (it leaves the queue); anything else — another status,
  a refused or cut connection, no answer in time — keeps it and tries it again later, after a
  pause that grows with each failure (the pauses are configurable: :class:`WebhookRetry`, so
  tests stay fast), and ``getWebhookInfo`` shows ``last_error_date`` / ``last_error_message``;
* updates of one chat go one at a time and in order: a chat's next update waits until the one
  before it is confirmed (a failing update holds its chat back, other chats go on), and at
  most ``max_connections`` POSTs are open at once;
* an answer may carry a Bot API call (``{"method": "sendMessage", ...}`` as JSON or a form):
  Telegram runs it, as if the bot had called it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox.telegram_emulator.common import JsonDict

log = logging.getLogger("sandbox.telegram_emulator")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookRetry:
    """How long Telegram waits before it tries a refused update again: ``first_seconds``,
    doubling after each failure up to ``max_seconds``; ``timeout_seconds`` for one answer."""

    first_seconds: float = 1.0
    max_seconds: float = 60.0
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class WebhookConfig:
    """What setWebhook set."""

    url: str
    secret_token: str | None
    max_connections: int


@dataclass
class _Retry:
    pause: float  # the pause after the latest failure
    at: float  # loop time of the next attempt


class WebhookDelivery:
    """POSTs the pending updates of an :class:`~sandbox.telegram_emulator.updates.UpdateQueue`
    to its webhook while one is set.

    ``pending`` gives the deliverable updates in order, ``confirm`` removes one that was
    answered 2xx, ``execute`` runs a Bot API call found in an answer, ``on_answer`` is told of
    every POST's outcome (the emulator's waits listen).
    """

    def __init__(
        self,
        pending: Callable[[], list[JsonDict]],
        confirm: Callable[[int], None],
        execute: Callable[[str, JsonDict], Awaitable[object]],
        retry: WebhookRetry,
        on_answer: Callable[[], None],
    ) -> None:
        self._pending = pending
        self._confirm = confirm
        self._execute = execute
        self._on_answer = on_answer
        self.retry = retry
        self.config: WebhookConfig | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.delivered = 0  # updates confirmed by a 2xx answer
        self._retries: dict[int, _Retry] = {}  # update id -> when to try again
        self._in_flight: dict[int, asyncio.Task[None]] = {}  # update id -> its POST
        self._kick = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    # --- set / delete ---------------------------------------------------------------------------
    def set(self, config: WebhookConfig) -> None:
        """Start (or retarget) delivery; a new URL starts with a clean error record."""
        if self.config is None or self.config.url != config.url:
            self.last_error_date = self.last_error_message = None
            self._retries.clear()
        self.config = config
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._run(), name="emulator-webhook")
        self.kick()

    async def delete(self) -> None:
        """Stop delivering; POSTs in flight finish (their updates count only if confirmed)."""
        self.config = None
        self._retries.clear()
        self.last_error_date = self.last_error_message = None
        self.kick()

    async def close(self) -> None:
        self.config = None
        task, self._loop_task = self._loop_task, None
        posts = list(self._in_flight.values())
        for running in [*([task] if task else []), *posts]:
            running.cancel()
        for running in [*([task] if task else []), *posts]:
            with contextlib.suppress(asyncio.CancelledError):
                await running
        if self._session is not None:
            await self._session.close()
            self._session = None

    def kick(self) -> None:
        """Something changed (a new update, a confirmed one): look at the queue now."""
        self._kick.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    # --- the delivery loop ----------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.config is not None:
            self._kick.clear()
            wake_in = self._start_due(loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), wake_in)

    def _start_due(self, now: float) -> float | None:
        """Start a POST for each chat's oldest update that is due; returns the seconds until
        the next retry falls due (None: nothing to wait for but a kick)."""
        config = self.config
        assert config is not None
        chats_seen: set[object] = set()
        next_retry: float | None = None
        for update in self._pending():
            chat = chat_key(update)
            if chat in chats_seen:
                continue  # this chat's earlier update is not confirmed yet
            chats_seen.add(chat)
            update_id = int(update["update_id"])
            if update_id in self._in_flight:
                continue
            retry = self._retries.get(update_id)
            if retry is not None and retry.at > now:
                wait = retry.at - now
                next_retry = wait if next_retry is None else min(next_retry, wait)
                continue
            if len(self._in_flight) >= config.max_connections:
                break
            self._in_flight[update_id] = asyncio.create_task(self._post(config, update))
        return next_retry

    async def _post(self, config: WebhookConfig, update: JsonDict) -> None:
        update_id = int(update["update_id"])
        try:
            error = await self._send(config, update)
        finally:
            self._in_flight.pop(update_id, None)
        if error is None:
            self._retries.pop(update_id, None)
            self.delivered += 1
            self._confirm(update_id)
        else:
            self._failed(update_id, error)
        self._on_answer()
        self.kick()

    async def _send(self, config: WebhookConfig, update: JsonDict) -> str | None:
        """One POST; None when the answer confirmed the update, else what went wrong (in the
        words getWebhookInfo uses)."""
        headers = {"Content-Type": "application/json"}
        if config.secret_token:
            headers[SECRET_HEADER] = config.secret_token
        timeout = aiohttp.ClientTimeout(total=self.retry.timeout_seconds)
        try:
            async with self._client().post(
                config.url, data=json.dumps(update), headers=headers, timeout=timeout
            ) as response:
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                call = await _method_in_answer(response)
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ClientError as exc:
            return f"Connection error: {type(exc).__name__}"
        if call is not None:
            method, params = call
            await self._execute(method, params)
        return None

    def _failed(self, update_id: int, error: str) -> None:
        self.last_error_date, self.last_error_message = int(time.time()), error
        before = self._retries.get(update_id)
        pause = (
            self.retry.first_seconds
            if before is None
            else min(before.pause * 2, self.retry.max_seconds)
        )
        self._retries[update_id] = _Retry(pause, asyncio.get_running_loop().time() + pause)
        log.debug("webhook: update %s refused (%s); again in %.2f s", update_id, error, pause)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session


async def _method_in_answer(response: aiohttp.ClientResponse) -> tuple[str, JsonDict] | None:
    """A Bot API call the webhook answered with (JSON or multipart form), if any."""
    params: JsonDict = {}
    if response.content_type == "application/json":
        with contextlib.suppress(ValueError):
            body = await response.json()
            if isinstance(body, dict):
                params = body
    elif response.content_type == "multipart/form-data":
        reader = aiohttp.MultipartReader.from_response(response)
        while (part := await reader.next()) is not None:
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                params[part.name] = await part.text()
    method = params.pop("method", None)
    return (method, params) if isinstance(method, str) and method else None


def chat_key(update: Mapping[str, Any]) -> object:
    """Which chat an update belongs to (Telegram keeps each chat's updates in order)."""
    body = next((v for k, v in update.items() if k != "update_id"), None)
    if not isinstance(body, dict):
        return None
    chat = body.get("chat") or (body.get("message") or {}).get("chat")
    if isinstance(chat, dict) and "id" in chat:
        return chat["id"]
    sender = body.get("from") or body.get("user")
    return ("user", sender.get("id")) if isinstance(sender, dict) else None
