"""TelegramEmulator: the HTTP server, method dispatch, the ApiCall log and the control API.

The emulator is a small composition, one collaborator per concern, all owned here:

* ChatStore (chats.py): people, chats, memberships, stored messages, callback queries;
* People (people.py): what people do, turned into the updates Telegram sends the bot;
* UpdateQueue (updates.py): pending updates, getUpdates long polling, webhooks, 409s;
* WebhookDelivery (webhook.py): POSTing updates to the webhook, retries, answers with a call;
* MessageMethods / ChatMethods (message_methods.py, chat_methods.py): the Bot API handlers;
* FloodLimiter (flood.py): 429 + retry_after for sends;
* Faults (faults.py): trouble tests ask for (a chat's flood wait, dropped connections, an
  outage).

This module serves HTTP, decodes each request (params.py), dispatches it to the handler that
owns the method, records an ApiCall for every answer, and offers the control API tests use:
setting the scene and acting as people (delegated), observing what the bot did and waiting for it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from sandbox.loopback import serve
from sandbox.telegram_emulator.chat_methods import ChatMethods
from sandbox.telegram_emulator.chats import ChatStore
from sandbox.telegram_emulator.common import ApiError, JsonDict
from sandbox.telegram_emulator.events import ApiCall, BotEvent
from sandbox.telegram_emulator.faults import Faults, Outage
from sandbox.telegram_emulator.flood import FloodLimiter, RateLimits
from sandbox.telegram_emulator.message_methods import CALLBACK_QUERY_TTL, MessageMethods
from sandbox.telegram_emulator.params import Handler, Params, normalise_params, read_request_params
from sandbox.telegram_emulator.people import People
from sandbox.telegram_emulator.updates import PollCut, UpdateQueue
from sandbox.telegram_emulator.webhook import WebhookRetry

log = logging.getLogger("sandbox.telegram_emulator")  # one name for the whole package

T = TypeVar("T")


class TelegramEmulator:
    """An in-process Telegram Bot API server with a Python control API for tests and the demo.

    Three faces:

    * HTTP: ``POST {base_url}/bot{token}/{method}`` like api.telegram.org (form, multipart,
      JSON body or GET query), answering ``{"ok": true, "result": ...}`` or Telegram's errors.
    * People: ``add_user``, ``user_sends``, ``user_presses``, ``block_bot``, ``migrate_group``...
      queue updates for the bot's getUpdates.
    * Observation: ``calls``, ``messages(chat_id)``, ``wait_for_message``, listeners.

    ``clock`` (monotonic seconds) drives rate limits, callback query expiry and live location
    expiry; inject a ManualClock in tests. ``wall_clock`` gives message dates (Unix time).

    ``local_mode`` behaves as a local Bot API server (``telegram-bot-api --local``) does: a
    webhook may be plain HTTP on any port (a bot on loopback). ``webhook_retry`` sets the
    pauses before a refused webhook update is tried again (Telegram's: seconds to a minute).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "logibot",
        limits: RateLimits | None = RateLimits(),  # noqa: B008 (frozen: sharing it is safe)
        *,
        bot_first_name: str = "LogiBot",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        callback_query_ttl: float = CALLBACK_QUERY_TTL,
        privacy_mode: bool = True,
        local_mode: bool = False,
        webhook_retry: WebhookRetry = WebhookRetry(),  # noqa: B008 (frozen: sharing it is safe)
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.limits = limits
        self._clock = clock
        self.bot_user: JsonDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.base_url: str | None = None
        self.calls: list[ApiCall] = []
        self.callback_answers: list[JsonDict] = []
        self.listeners: list[Callable[[BotEvent], None]] = []
        self.rate_limited_count = 0
        self._activity = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._chats = ChatStore(self.bot_user, wall_clock)
        self._faults = Faults(clock)
        self._updates = UpdateQueue(
            on_poller_waiting=self._notify_activity,
            execute=self._dispatch,
            webhook_retry=webhook_retry,
            local_mode=local_mode,
        )
        self._people = People(self._chats, self._updates, clock, privacy_mode=privacy_mode)
        self._message_methods = MessageMethods(
            self._chats,
            FloodLimiter(limits, clock) if limits else None,
            clock,
            self._emit,
            self.callback_answers,
            callback_query_ttl,
        )
        self._chat_methods = ChatMethods(self._chats, self._updates, privacy_mode=privacy_mode)
        handlers: dict[str, Handler] = {
            **self._updates.methods(),
            **self._message_methods.methods(),
            **self._chat_methods.methods(),
        }
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in handlers.items()
        }

    @property
    def callback_query_ttl(self) -> float:
        """Seconds a button press stays answerable (Telegram: about 15 seconds)."""
        return self._message_methods.callback_query_ttl

    @callback_query_ttl.setter
    def callback_query_ttl(self, seconds: float) -> None:
        self._message_methods.callback_query_ttl = seconds

    # ----------------------------------------------------------------------------------------
    # Lifecycle and HTTP
    # ----------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; returns the base URL (``http://host:port``) aiogram should use."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        self._updates.open()
        self._runner, self.base_url = await serve(app, host, port)
        log.info("Telegram emulator listening on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; pending long polls are answered with an empty list first."""
        self._updates.close()
        await self._updates.webhook.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if self._faults.outage == "unreachable":
            return await self._drop_connection(request, method, {}, "unreachable (outage)")
        outage = self._faults.outage_error()
        if outage is not None:
            status, body = self._answer_error(method, {}, outage)
        elif request.match_info["token"] != self.token:
            status, body = self._answer_error(method, {}, ApiError(401, "Unauthorized"))
        else:
            try:
                raw = await read_request_params(request)
            except ApiError as exc:
                status, body = self._answer_error(method, {}, exc)
            else:
                if self._faults.take_drop(method):
                    return await self._drop_connection(request, method, raw, "connection dropped")
                try:
                    status, body = await self._dispatch(method, raw)
                except PollCut:
                    return await self._drop_connection(request, method, raw, "unreachable (outage)")
        return web.json_response(body, status=status, dumps=_dumps)

    async def _drop_connection(
        self, request: web.Request, method: str, raw: JsonDict, why: str
    ) -> web.StreamResponse:
        """No answer at all: the bot's HTTP client sees the server disconnect."""
        try:
            params = normalise_params(raw)
        except ApiError:
            params = raw
        self._record(ApiCall(method, params, False, None, why, None, self._clock()))
        if request.transport is not None:
            request.transport.close()
        return web.StreamResponse()  # never written: the connection is already gone

    async def _dispatch(self, method: str, raw: JsonDict) -> tuple[int, JsonDict]:
        """Run one Bot API method and record it; returns (HTTP status, JSON body)."""
        known = self._methods.get(method.lower())
        if known is None:
            return self._answer_error(method, raw, ApiError(404, "Not Found"))
        name, handler = known
        params = raw
        try:
            params = normalise_params(raw)
            self._faults.check_flood(name, params)
            result = await handler(Params(params))
        except ApiError as exc:
            return self._answer_error(name, params, exc)
        except PollCut:
            raise
        except Exception as exc:  # a bug in the emulator: answer like Telegram's 500s
            log.exception("emulator failed on %s", name)
            return self._answer_error(name, params, ApiError(500, f"Internal Server Error: {exc}"))
        self._record(ApiCall(name, params, True, None, None, result, self._clock()))
        return 200, {"ok": True, "result": result}

    def _answer_error(self, method: str, params: JsonDict, error: ApiError) -> tuple[int, JsonDict]:
        if error.status == 429:
            self.rate_limited_count += 1
        call = ApiCall(method, params, False, error.status, error.description, None, self._clock())
        self._record(call)
        return error.status, error.payload()

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        if call.method != "getUpdates" or not call.ok:
            log.debug("%s ok=%s %s", call.method, call.ok, call.description or "")
        self._notify_activity()

    def _notify_activity(self) -> None:
        """Wake everything waiting in wait_for_message / wait_for_event / wait_for_poller."""
        self._activity.set()
        self._activity = asyncio.Event()

    # ----------------------------------------------------------------------------------------
    # Control API: setting the scene and things people do (each queues updates for getUpdates)
    # ----------------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ru",
        started: bool = True,
    ) -> JsonDict:
        """Create a person and their private chat with the bot.

        ``started=False`` models someone who never pressed Start: the bot then gets 403
        "bot can't initiate conversation with a user" until they send a message.
        """
        return self._chats.add_user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool = False,
        forum: bool = False,
        bot_already_member: bool = False,
    ) -> JsonDict:
        """Create a group without the bot in it (call ``add_bot_to_group`` to add it).

        Ids follow Telegram: groups are negative, supergroups look like -100xxxxxxxxxx.
        ``bot_already_member`` puts the bot in silently, as if it had joined before the
        emulator started (benchmarks with a thousand groups skip a thousand join updates).
        """
        return self._chats.add_group(
            chat_id,
            title,
            supergroup=supergroup,
            forum=forum,
            bot_already_member=bot_already_member,
        )

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Make a person creator/administrator/member/left/kicked in a group (for admin checks)."""
        self._chats.set_member_status(chat_id, user_id, status)

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        forward_from_user_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A person writes ``text`` (private chat by default); returns the Message the bot gets.

        Commands, @mentions, #hashtags and links get entities as Telegram would add them.
        """
        return self._people.user_sends(
            user_id,
            text,
            chat_id=chat_id,
            reply_to_message_id=reply_to_message_id,
            forward_from_user_id=forward_from_user_id,
            message_thread_id=message_thread_id,
        )

    @property
    def hidden_from_bot(self) -> list[JsonDict]:
        """Group messages privacy mode kept from the bot (oldest first)."""
        return self._people.hidden_from_bot

    def user_presses(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> str:
        """A person presses the inline button carrying ``callback_data``; returns the query id.

        Raises ValueError when that message has no such button: a test pressing a button the
        bot never showed is a test bug worth failing loudly on.
        """
        return self._people.user_presses(user_id, message_id, callback_data, chat_id=chat_id)

    def client_sends_callback(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> str:
        """A callback whose data need not be on the message: what a stale or modified client
        may send. For tests that the bot trusts no callback data it did not put there."""
        return self._people.user_presses(
            user_id, message_id, callback_data, chat_id=chat_id, checked=False
        )

    def user_shares_location(
        self, user_id: int, lat: float, lon: float, *, chat_id: int | None = None
    ) -> JsonDict:
        """A person sends their location (a static point); returns the Message the bot gets."""
        return self._people.user_shares_location(user_id, lat, lon, chat_id=chat_id)

    def add_bot_to_group(self, by_user_id: int, chat_id: int, *, as_admin: bool = False) -> None:
        """A person adds the bot: my_chat_member (left -> member/administrator) + service message.

        The person becomes the group's creator if it has none yet, otherwise a member.
        """
        self._people.add_bot_to_group(by_user_id, chat_id, as_admin=as_admin)

    def restrict_bot(self, by_user_id: int, chat_id: int, *, can_send: bool = False) -> None:
        """A group admin takes away (``can_send=False``) or gives back the bot's right to
        write: my_chat_member, then sends answer 400 "not enough rights"."""
        self._people.restrict_bot(by_user_id, chat_id, can_send=can_send)

    def remove_bot_from_group(self, by_user_id: int, chat_id: int) -> None:
        """A person kicks the bot: my_chat_member -> kicked; later sends answer 403."""
        self._people.remove_bot_from_group(by_user_id, chat_id)

    def block_bot(self, user_id: int) -> None:
        """The person blocks the bot: my_chat_member -> kicked; sends to them answer 403."""
        self._people.block_bot(user_id)

    def unblock_bot(self, user_id: int) -> None:
        """The person unblocks the bot (my_chat_member kicked -> member)."""
        self._people.unblock_bot(user_id)

    def migrate_group(
        self, chat_id: int, *, by_user_id: int | None = None, order: str = "member,to,from"
    ) -> int:
        """Upgrade a group to a supergroup; returns the new id.

        Queues the three updates Telegram sends, in ``order`` (no order is guaranteed): the
        bot's my_chat_member join for the NEW id from the user who upgraded (``member``),
        migrate_to_chat_id in the old chat (``to``), migrate_from_chat_id in the new one
        (``from``). The old id then answers 400 with ``parameters.migrate_to_chat_id``.
        """
        return self._people.migrate_group(chat_id, by_user_id=by_user_id, order=order)

    def user_deletes_message(self, chat_id: int, message_id: int) -> None:
        """Someone in the chat deletes a message (Telegram tells the bot nothing); edits of it
        then answer "message to edit not found"."""
        stored = self._chats.known_chat(chat_id).messages.get(message_id)
        if stored is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        stored.deleted = True

    # ----------------------------------------------------------------------------------------
    # Control API: trouble (Telegram's flood waits, a network that drops requests)
    # ----------------------------------------------------------------------------------------

    def flood_wait(self, chat_id: int, seconds: float) -> None:
        """Put a chat under flood control: message calls into it (sends AND edits) answer 429
        with the seconds left until ``seconds`` have passed; 0 lifts it."""
        self._faults.flood_wait(chat_id, seconds)

    def drop_connections(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get their connection closed, no answer."""
        self._faults.drop_connections(method, times)

    def go_down(self, how: Outage = "unreachable") -> None:
        """An outage, until :meth:`come_back`: every request (getMe and getUpdates included)
        has its connection cut (``"unreachable"``: the long polls waiting too) or answers 502
        Bad Gateway (``"bad_gateway"``: long polls already waiting finish as they would)."""
        self._faults.go_down(how)
        if how == "unreachable":
            self._updates.cut_pollers()

    def come_back(self) -> None:
        """The outage is over: requests are answered again."""
        self._faults.come_back()

    # ----------------------------------------------------------------------------------------
    # Control API: what the bot did
    # ----------------------------------------------------------------------------------------

    def add_listener(self, callback: Callable[[BotEvent], None]) -> None:
        """Call ``callback`` for every visible bot action (new message, edit, delete, ...)."""
        self.listeners.append(callback)

    def remove_listener(self, callback: Callable[[BotEvent], None]) -> None:
        if callback in self.listeners:
            self.listeners.remove(callback)

    def messages(self, chat_id: int) -> list[JsonDict]:
        """Every message the bot sent in a chat, in order, as it looks now.

        Edits are applied; each dict also carries ``"deleted": bool`` and, when the bot sent
        HTML, ``"raw_text"`` with the source before parsing.
        """
        chat = self._chats.known_chat(chat_id)
        return [stored.view() for stored in chat.messages.values() if stored.from_bot]

    def last_message(self, chat_id: int) -> JsonDict | None:
        """The bot's most recent message in a chat (deleted or not), or None."""
        sent = self.messages(chat_id)
        return sent[-1] if sent else None

    def chat(self, chat_id: int) -> JsonDict | None:
        """The Telegram Chat object for an id, or None when the emulator does not know it."""
        chat = self._chats.chats.get(chat_id)
        return copy.deepcopy(chat.info) if chat else None

    def resolve_chat_id(self, chat_id: int) -> int:
        """Follow group -> supergroup migrations to the chat id that is current now."""
        return self._chats.resolve_chat_id(chat_id)

    def calls_of(self, method: str) -> list[ApiCall]:
        """Recorded calls of one Bot API method (case-insensitive name)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def rejected_calls(self) -> list[ApiCall]:
        """Every call the emulator answered with ok=false."""
        return [call for call in self.calls if not call.ok]

    @property
    def commands(self) -> dict[tuple[str, str], list[JsonDict]]:
        """setMyCommands state keyed by (scope as canonical JSON, language_code)."""
        return copy.deepcopy(self._chat_methods.commands)

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates queued and not yet confirmed by the bot (via getUpdates offset)."""
        return copy.deepcopy(self._updates.pending)

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[JsonDict], bool] | None = None,
        *,
        timeout: float = 5.0,
        after_message_id: int = 0,
    ) -> JsonDict:
        """The first bot message in the chat with id > ``after_message_id`` matching predicate.

        Looks at messages already sent first, so nothing is missed if the bot was quick; to
        wait for the *next* one, pass the last id you saw. Raises TimeoutError with context.
        """
        chat = self._chats.known_chat(chat_id)

        def probe() -> JsonDict | None:
            for message_id, stored in chat.messages.items():
                if message_id <= after_message_id or not stored.from_bot:
                    continue
                view = stored.view()
                if predicate is None or predicate(view):
                    return view
            return None

        return await self._wait_until(probe, timeout, f"a bot message in chat {chat_id}")

    async def wait_for_event(
        self,
        predicate: Callable[[ApiCall], bool],
        timeout: float = 5.0,
        *,
        start: int | None = None,
    ) -> ApiCall:
        """Wait for a recorded ApiCall matching ``predicate``.

        ``start`` is an index into ``calls`` to search from; by default only calls recorded
        after this wait begins count.
        """
        position = len(self.calls) if start is None else start

        def probe() -> ApiCall | None:
            return next((call for call in self.calls[position:] if predicate(call)), None)

        return await self._wait_until(probe, timeout, "a matching API call")

    @property
    def webhook_error(self) -> str | None:
        """getWebhookInfo's last_error_message (None: no error since the webhook was set)."""
        return self._updates.webhook.last_error_message

    async def wait_for_webhook_error(self, timeout: float = 5.0) -> str:
        """Wait until a webhook POST has failed; returns getWebhookInfo's last_error_message."""
        return await self._wait_until(lambda: self.webhook_error, timeout, "a webhook error")

    @property
    def webhook_deliveries(self) -> int:
        """Updates the webhook confirmed with a 2xx answer so far."""
        return self._updates.webhook.delivered

    async def wait_for_poller(self, timeout: float = 5.0) -> None:
        """Wait until the bot is blocked in a long-poll getUpdates (i.e. it is up and idle)."""
        await self._wait_until(
            lambda: True if self._updates.pollers_waiting else None,
            timeout,
            "a getUpdates long poll",
        )

    async def _wait_until(self, probe: Callable[[], T | None], timeout: float, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(
                    f"{c.method}({'ok' if c.ok else c.description})"
                    for c in self.calls[-5:]
                    if c.method != "getUpdates"
                )
                raise TimeoutError(f"no {what} within {timeout}s; recent calls: {recent or '-'}")
            activity = self._activity
            try:
                await asyncio.wait_for(activity.wait(), remaining)
            except TimeoutError:
                continue

    def _emit(self, event: BotEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not turn into a Telegram error
                log.exception("emulator listener failed")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
