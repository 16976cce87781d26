"""A Telegram Bot API emulator: stands in for api.telegram.org in the demo and in tests.

Why it exists: logibot's behaviour depends on *how Telegram answers* — HTML that Telegram refuses
to parse, 429 "retry after", users who blocked the bot, groups upgraded to supergroups. A mock that
says "ok" to everything hides exactly those bugs. This emulator speaks real HTTP, so the bot talks
to it through aiogram's ordinary session (and aiogram's own error mapping is exercised), and it
answers with Telegram's own error texts and status codes.

Typical use in a test (everything runs in the test's event loop)::

    emu = TelegramEmulator(token="123456:TEST-TOKEN", bot_username="logibot")
    base_url = await emu.start()
    bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    emu.add_user(42, "Ирина")
    emu.user_sends(42, "/start")             # queued for the bot's getUpdates
    reply = await emu.wait_for_message(42)    # the bot's answer, as Telegram stored it

Layout: text formatting lives in formatting.py, reply_markup validation in keyboards.py,
flood limits in flood.py, request parsing in params.py, the update queue and getUpdates
long polling in updates.py, ApiCall and BotEvent in events.py,
ApiError and ManualClock in common.py. This module holds TelegramEmulator: HTTP plumbing, the
control API (what people do, what the bot did), then one handler per Bot API method.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from sandbox.telegram_emulator.common import (
    ApiError,
    JsonDict,
    bad_request,
    forbidden,
)
from sandbox.telegram_emulator.events import ApiCall, BotEvent, EventKind
from sandbox.telegram_emulator.flood import FloodLimiter, RateLimits
from sandbox.telegram_emulator.formatting import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    detect_entities,
    format_text,
    utf16_len,
)
from sandbox.telegram_emulator.keyboards import inline_buttons, validate_reply_markup
from sandbox.telegram_emulator.params import Handler, Params, normalise_params, read_request_params
from sandbox.telegram_emulator.updates import UpdateQueue

log = logging.getLogger("sandbox.telegram_emulator")  # one name for the whole package

T = TypeVar("T")

CALLBACK_ANSWER_LIMIT = 200
LIVE_PERIOD_FOREVER = 0x7FFFFFFF

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


# --------------------------------------------------------------------------------------------
# 5. The emulator
# --------------------------------------------------------------------------------------------


@dataclass
class _StoredMessage:
    message: JsonDict  # the Telegram Message object, kept current (edits applied)
    from_bot: bool
    raw_text: str | None = None  # text as the bot sent it (HTML source) before parsing
    deleted: bool = False
    live_until: float | None = None  # clock time a live location expires
    live_stopped: bool = False


@dataclass
class _Chat:
    info: JsonDict  # the Telegram Chat object
    started: bool = True  # private: the user has talked to the bot (pressed Start)
    blocked: bool = False  # private: the user blocked the bot
    bot_status: str = "member"  # groups: member/administrator/left/kicked
    members: dict[int, str] = field(default_factory=dict)  # groups: user id -> status
    migrated_to: int | None = None
    next_message_id: int = 1
    messages: dict[int, _StoredMessage] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.info["id"])

    @property
    def is_private(self) -> bool:
        return bool(self.info["type"] == "private")

    @property
    def kind_name(self) -> str:
        """How Telegram's 403 texts name this chat."""
        return "supergroup chat" if self.info["type"] == "supergroup" else "group chat"


@dataclass
class _PendingQuery:
    chat_id: int
    message_id: int
    created_at: float
    answered: bool = False


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
        callback_query_ttl: float = 15 * 60,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.limits = limits
        self.callback_query_ttl = callback_query_ttl
        self._clock = clock
        self._wall_clock = wall_clock
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
        self._limiter = FloodLimiter(limits, clock) if limits else None
        self._users: dict[int, JsonDict] = {}
        self._chats: dict[int, _Chat] = {}
        self._callback_queries: dict[str, _PendingQuery] = {}
        self._next_query_id = 4_000_000_000_000_000_001
        self._next_file_id = 1
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._activity = asyncio.Event()
        self._updates = UpdateQueue(on_poller_waiting=self._notify_activity)
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

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
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        log.info("Telegram emulator listening on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; pending long polls are answered with an empty list first."""
        self._updates.close()
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

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            status, body = self._answer_error(method, {}, ApiError(401, "Unauthorized"))
        else:
            try:
                raw = await read_request_params(request)
            except ApiError as exc:
                status, body = self._answer_error(method, {}, exc)
            else:
                status, body = await self._dispatch(method, raw)
        return web.json_response(body, status=status, dumps=_dumps)

    async def _dispatch(self, method: str, raw: JsonDict) -> tuple[int, JsonDict]:
        """Run one Bot API method and record it; returns (HTTP status, JSON body)."""
        known = self._methods.get(method.lower())
        if known is None:
            return self._answer_error(method, raw, ApiError(404, "Not Found"))
        name, handler = known
        params = raw
        try:
            params = normalise_params(raw)
            result = await handler(Params(params))
        except ApiError as exc:
            return self._answer_error(name, params, exc)
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

    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            **self._updates.methods(),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendLocation": self._send_location,
            "editMessageLiveLocation": self._edit_message_live_location,
            "stopMessageLiveLocation": self._stop_message_live_location,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "leaveChat": self._leave_chat,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "close": self._close,
            "logOut": self._log_out,
        }

    # ----------------------------------------------------------------------------------------
    # Control API: setting the scene
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
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JsonDict = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            user["last_name"] = chat["last_name"] = last_name
        if username:
            user["username"] = chat["username"] = username
        user["language_code"] = language_code
        self._users[user_id] = user
        if user_id in self._chats:  # adding someone again updates their name, keeps history
            self._chats[user_id].info = chat
        else:
            self._chats[user_id] = _Chat(info=chat, started=started)
        return copy.deepcopy(user)

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
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if forum and not supergroup:
            raise ValueError("only supergroups can be forums")
        if supergroup and not str(chat_id).startswith("-100"):
            raise ValueError("supergroup ids start with -100")
        info: JsonDict = {"id": chat_id, "type": "supergroup" if supergroup else "group"}
        info["title"] = title
        if forum:
            info["is_forum"] = True
        if chat_id in self._chats:  # adding a group again updates it, keeps members and history
            self._chats[chat_id].info = info
        else:
            status = "member" if bot_already_member else "left"
            self._chats[chat_id] = _Chat(info=info, bot_status=status)
        return copy.deepcopy(info)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Make a person creator/administrator/member/left/kicked in a group (for admin checks)."""
        if status not in {"creator", "administrator", "member", "left", "kicked"}:
            raise ValueError(f"unsupported member status {status!r}")
        self._user(user_id)
        self._group(chat_id).members[user_id] = status

    # ----------------------------------------------------------------------------------------
    # Control API: things people do (each queues an update for getUpdates)
    # ----------------------------------------------------------------------------------------

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
        user = self._user(user_id)
        chat = self._chat_for_person(user_id, chat_id)
        content: JsonDict = {"text": text}
        if entities := detect_entities(text):
            content["entities"] = entities
        if reply_to_message_id is not None:
            content["reply_to_message"] = self._reply_snapshot(chat, reply_to_message_id)
        if forward_from_user_id is not None:
            origin = self._user(forward_from_user_id)
            content["forward_origin"] = {
                "type": "user",
                "sender_user": origin,
                "date": self._date(),
            }
        if message_thread_id is not None:
            content.update(self._thread_fields(chat, message_thread_id))
        stored = self._store_message(chat, user, content, from_bot=False)
        self._updates.queue("message", stored.message)
        return copy.deepcopy(stored.message)

    def user_presses(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> str:
        """A person presses the inline button carrying ``callback_data``; returns the query id.

        Raises ValueError when that message has no such button: a test pressing a button the
        bot never showed is a test bug worth failing loudly on.
        """
        user = self._user(user_id)
        chat = self._chat_for_person(user_id, chat_id)
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted or not stored.from_bot:
            raise ValueError(f"chat {chat.id} has no bot message {message_id} to press")
        available = [b.get("callback_data") for b in inline_buttons(stored.message)]
        if callback_data not in available:
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"it has {available!r}"
            )
        query_id = str(self._next_query_id)
        self._next_query_id += 1
        self._callback_queries[query_id] = _PendingQuery(chat.id, message_id, self._clock())
        query = {
            "id": query_id,
            "from": user,
            "message": stored.message,
            "chat_instance": str(7_000_000_000_000_000 + abs(chat.id)),
            "data": callback_data,
        }
        self._updates.queue("callback_query", query)
        return query_id

    def user_shares_location(
        self, user_id: int, lat: float, lon: float, *, chat_id: int | None = None
    ) -> JsonDict:
        """A person sends their location (a static point); returns the Message the bot gets."""
        user = self._user(user_id)
        chat = self._chat_for_person(user_id, chat_id)
        content = {"location": {"latitude": lat, "longitude": lon}}
        stored = self._store_message(chat, user, content, from_bot=False)
        self._updates.queue("message", stored.message)
        return copy.deepcopy(stored.message)

    def add_bot_to_group(self, by_user_id: int, chat_id: int, *, as_admin: bool = False) -> None:
        """A person adds the bot: my_chat_member (left -> member/administrator) + service message.

        The person becomes the group's creator if it has none yet, otherwise a member.
        """
        user = self._user(by_user_id)
        chat = self._group(chat_id)
        if by_user_id not in chat.members or chat.members[by_user_id] in {"left", "kicked"}:
            has_creator = "creator" in chat.members.values()
            chat.members[by_user_id] = "member" if has_creator else "creator"
        old = chat.bot_status
        new = "administrator" if as_admin else "member"
        if old == new:
            return  # nothing changes, so Telegram sends nothing
        chat.bot_status = new
        self._queue_my_chat_member(chat, user, old, new)
        if old in {"left", "kicked"}:
            content = {"new_chat_members": [self.bot_user], "new_chat_member": self.bot_user}
            stored = self._store_message(chat, user, content, from_bot=False)
            self._updates.queue("message", stored.message)

    def remove_bot_from_group(self, by_user_id: int, chat_id: int) -> None:
        """A person kicks the bot: my_chat_member -> kicked; later sends answer 403."""
        user = self._user(by_user_id)
        chat = self._group(chat_id)
        if chat.bot_status == "kicked":
            return
        old, chat.bot_status = chat.bot_status, "kicked"
        self._queue_my_chat_member(chat, user, old, "kicked")

    def block_bot(self, user_id: int) -> None:
        """The person blocks the bot: my_chat_member -> kicked; sends to them answer 403."""
        chat = self._private_chat(user_id)
        if chat.blocked:
            return
        chat.blocked = True
        self._queue_my_chat_member(chat, self._user(user_id), "member", "kicked")

    def unblock_bot(self, user_id: int) -> None:
        """The person unblocks the bot (my_chat_member kicked -> member)."""
        chat = self._private_chat(user_id)
        if not chat.blocked:
            return
        chat.blocked = False
        self._queue_my_chat_member(chat, self._user(user_id), "kicked", "member")

    def migrate_group(self, chat_id: int) -> int:
        """Upgrade a group to a supergroup; returns the new id.

        Queues the two service messages Telegram sends (migrate_to_chat_id in the old chat,
        migrate_from_chat_id in the new one); the old id then answers 400 with
        ``parameters.migrate_to_chat_id``.
        """
        old = self._group(chat_id)
        if old.info["type"] != "group" or old.migrated_to is not None:
            raise ValueError(f"chat {chat_id} is not a basic group that can be upgraded")
        new_id = -(10**12 + abs(chat_id))
        info = {**old.info, "id": new_id, "type": "supergroup"}
        new = _Chat(info=info, bot_status=old.bot_status, members=dict(old.members))
        self._chats[new_id] = new
        old.migrated_to = new_id
        actor = self._group_actor(old)
        moved_out = self._store_message(old, actor, {"migrate_to_chat_id": new_id}, from_bot=False)
        self._updates.queue("message", moved_out.message)
        moved_in = self._store_message(
            new, actor, {"migrate_from_chat_id": chat_id}, from_bot=False
        )
        self._updates.queue("message", moved_in.message)
        return new_id

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
        chat = self._known_chat(chat_id)
        return [self._view(stored) for stored in chat.messages.values() if stored.from_bot]

    def last_message(self, chat_id: int) -> JsonDict | None:
        """The bot's most recent message in a chat (deleted or not), or None."""
        sent = self.messages(chat_id)
        return sent[-1] if sent else None

    def chat(self, chat_id: int) -> JsonDict | None:
        """The Telegram Chat object for an id, or None when the emulator does not know it."""
        chat = self._chats.get(chat_id)
        return copy.deepcopy(chat.info) if chat else None

    def resolve_chat_id(self, chat_id: int) -> int:
        """Follow group -> supergroup migrations to the chat id that is current now."""
        chat = self._chats.get(chat_id)
        while chat is not None and chat.migrated_to is not None:
            chat_id = chat.migrated_to
            chat = self._chats.get(chat_id)
        return chat_id

    def calls_of(self, method: str) -> list[ApiCall]:
        """Recorded calls of one Bot API method (case-insensitive name)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def rejected_calls(self) -> list[ApiCall]:
        """Every call the emulator answered with ok=false."""
        return [call for call in self.calls if not call.ok]

    @property
    def commands(self) -> dict[tuple[str, str], list[JsonDict]]:
        """setMyCommands state keyed by (scope as canonical JSON, language_code)."""
        return copy.deepcopy(self._commands)

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
        chat = self._known_chat(chat_id)

        def probe() -> JsonDict | None:
            for message_id, stored in chat.messages.items():
                if message_id <= after_message_id or not stored.from_bot:
                    continue
                view = self._view(stored)
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

    # ----------------------------------------------------------------------------------------
    # Internal helpers: people, chats, messages, updates
    # ----------------------------------------------------------------------------------------

    def _user(self, user_id: int) -> JsonDict:
        if user_id not in self._users:
            raise ValueError(f"unknown user {user_id}; call add_user first")
        return self._users[user_id]

    def _known_chat(self, chat_id: int) -> _Chat:
        if chat_id not in self._chats:
            raise ValueError(f"unknown chat {chat_id}; call add_user or add_group first")
        return self._chats[chat_id]

    def _private_chat(self, user_id: int) -> _Chat:
        self._user(user_id)
        return self._chats[user_id]

    def _group(self, chat_id: int) -> _Chat:
        chat = self._known_chat(chat_id)
        if chat.is_private:
            raise ValueError(f"chat {chat_id} is a private chat, not a group")
        return chat

    def _chat_for_person(self, user_id: int, chat_id: int | None) -> _Chat:
        """The chat a person acts in, refusing situations Telegram would never deliver."""
        if chat_id is None or chat_id == user_id:
            chat = self._private_chat(user_id)
            if chat.blocked:
                raise ValueError(f"user {user_id} blocked the bot; call unblock_bot first")
            chat.started = True
            return chat
        chat = self._group(chat_id)
        if chat.migrated_to is not None:
            raise ValueError(f"group {chat_id} was migrated; use chat id {chat.migrated_to}")
        if chat.bot_status not in {"member", "administrator"}:
            raise ValueError(
                f"the bot is not in group {chat_id} (status {chat.bot_status}); "
                "call add_bot_to_group first"
            )
        if chat.members.get(user_id) in {None, "left", "kicked"}:
            chat.members[user_id] = "member"
        return chat

    def _group_actor(self, chat: _Chat) -> JsonDict:
        """Who performed a group-level action: its creator, else any member, else the bot."""
        creators_first = sorted(
            chat.members, key=lambda user_id: chat.members[user_id] != "creator"
        )
        return self._users[creators_first[0]] if creators_first else self.bot_user

    def _date(self) -> int:
        return int(self._wall_clock())

    def _store_message(
        self, chat: _Chat, sender: JsonDict, content: JsonDict, *, from_bot: bool
    ) -> _StoredMessage:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: JsonDict = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.info,
            "date": self._date(),
            **content,
        }
        stored = _StoredMessage(message=copy.deepcopy(message), from_bot=from_bot)
        chat.messages[message_id] = stored
        return stored

    def _reply_snapshot(self, chat: _Chat, message_id: int) -> JsonDict:
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise ValueError(f"chat {chat.id} has no message {message_id} to reply to")
        snapshot = copy.deepcopy(stored.message)
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _thread_fields(self, chat: _Chat, thread_id: int) -> JsonDict:
        if chat.info.get("is_forum"):
            return {"message_thread_id": thread_id, "is_topic_message": True}
        return {"message_thread_id": thread_id}

    @staticmethod
    def _view(stored: _StoredMessage) -> JsonDict:
        view = copy.deepcopy(stored.message)
        view["deleted"] = stored.deleted
        if stored.raw_text is not None:
            view["raw_text"] = stored.raw_text
        return view

    def _queue_my_chat_member(self, chat: _Chat, actor: JsonDict, old: str, new: str) -> None:
        update = {
            "chat": chat.info,
            "from": actor,
            "date": self._date(),
            "old_chat_member": self._member_object(self.bot_user, old),
            "new_chat_member": self._member_object(self.bot_user, new),
        }
        self._updates.queue("my_chat_member", update)

    @staticmethod
    def _member_object(user: JsonDict, status: str) -> JsonDict:
        """A ChatMember of the right shape for ``status`` (aiogram validates required fields)."""
        member: JsonDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_pin_messages=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_send_welcome_messages=False,
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _emit(
        self,
        kind: EventKind,
        chat_id: int | None,
        message: JsonDict | None,
        *,
        text: str | None = None,
        show_alert: bool = False,
    ) -> None:
        event = BotEvent(kind, chat_id, copy.deepcopy(message), text, show_alert)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not turn into a Telegram error
                log.exception("emulator listener failed")

    # ----------------------------------------------------------------------------------------
    # Internal helpers shared by method handlers
    # ----------------------------------------------------------------------------------------

    def _chat_from_param(self, p: Params) -> _Chat:
        """Resolve chat_id; unknown -> 400 chat not found, migrated -> 400 + migrate_to_chat_id."""
        chat_id = p.chat_id()
        chat: _Chat | None
        if isinstance(chat_id, str):
            username = chat_id.removeprefix("@").lower()
            chat = next(
                (c for c in self._chats.values() if c.info.get("username", "").lower() == username),
                None,
            )
        else:
            chat = self._chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        return chat

    def _reachable_chat(self, p: Params, *, sending: bool = False) -> _Chat:
        """A chat the bot may act in; 403 when blocked, kicked or never joined."""
        chat = self._chat_from_param(p)
        if chat.is_private:
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            if sending and not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
        elif chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {chat.kind_name}")
        elif chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {chat.kind_name}")
        return chat

    def _bot_message(self, chat: _Chat, p: Params, *, not_found: str) -> _StoredMessage:
        """The bot's message named by message_id, for edits."""
        if p.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        message_id = p.req_int("message_id", "message identifier is not specified")
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise bad_request(not_found)
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        return stored

    def _markup(self, p: Params) -> JsonDict | None:
        raw = p.get("reply_markup")
        return None if raw is None else validate_reply_markup(raw)

    @staticmethod
    def _inline_markup(markup: JsonDict | None) -> JsonDict | None:
        """What Telegram echoes back in the Message: inline keyboards only."""
        if markup is None or "inline_keyboard" not in markup:
            return None
        return {"inline_keyboard": markup["inline_keyboard"]}

    def _edit_markup(self, p: Params) -> JsonDict | None:
        """Edits take inline keyboards only; leaving reply_markup out removes the keyboard."""
        markup = self._markup(p)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return self._inline_markup(markup)

    def _text_fields(
        self, p: Params, name: str, *, caption: bool = False
    ) -> tuple[str | None, JsonDict]:
        """Parse a text/caption parameter; returns (raw source, message fields to store)."""
        raw = p.opt_str(name)
        entity_field = "caption_entities" if caption else "entities"
        if raw is None:
            if caption:
                return None, {}
            raise bad_request("message text is empty")
        limit = CAPTION_LIMIT if caption else TEXT_LIMIT
        text, entities = format_text(
            raw,
            parse_mode=p.opt_str("parse_mode"),
            entities=p.get(entity_field),
            limit=limit,
            caption=caption,
        )
        fields: JsonDict = {name: text} if text or not caption else {}
        if entities:
            fields[entity_field] = entities
        return raw, fields

    def _send_options(self, chat: _Chat, p: Params, markup: JsonDict | None) -> JsonDict:
        """Fields shared by all send* methods: reply, thread, keyboard, protection."""
        fields: JsonDict = {}
        reply = p.get("reply_parameters")
        if reply is None and p.has("reply_to_message_id"):
            reply = {
                "message_id": p.opt_int("reply_to_message_id"),
                "allow_sending_without_reply": p.flag("allow_sending_without_reply"),
            }
        if reply is not None:
            fields.update(self._reply_fields(chat, reply))
        thread_id = p.opt_int("message_thread_id")
        if thread_id is not None:
            if chat.is_private or chat.info["type"] == "group":
                raise bad_request("message thread not found")
            fields.update(self._thread_fields(chat, thread_id))
        if inline := self._inline_markup(markup):
            fields["reply_markup"] = inline
        if p.flag("protect_content"):
            fields["has_protected_content"] = True
        return fields

    def _reply_fields(self, chat: _Chat, reply: Any) -> JsonDict:
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse ReplyParameters JSON object")
        target_chat = chat
        if reply.get("chat_id") not in (None, chat.id):
            target_chat = self._chats.get(reply["chat_id"]) or chat
        stored = target_chat.messages.get(reply["message_id"])
        if stored is None or stored.deleted:
            if reply.get("allow_sending_without_reply"):
                return {}
            raise bad_request("message to be replied not found")
        snapshot = copy.deepcopy(stored.message)
        snapshot.pop("reply_to_message", None)
        return {"reply_to_message": snapshot}

    def _rate_limit(self, chat: _Chat) -> None:
        if self._limiter is not None:
            self._limiter.acquire(chat.id, chat.is_private)

    def _store_bot_message(
        self, chat: _Chat, content: JsonDict, raw_text: str | None = None
    ) -> _StoredMessage:
        stored = self._store_message(chat, self.bot_user, content, from_bot=True)
        if raw_text is not None and raw_text != content.get("text", content.get("caption")):
            stored.raw_text = raw_text
        return stored

    def _mark_edited(self, stored: _StoredMessage) -> JsonDict:
        stored.message["edit_date"] = self._date()
        return copy.deepcopy(stored.message)

    def _new_file_id(self, prefix: str) -> tuple[str, str]:
        number = self._next_file_id
        self._next_file_id += 1
        return f"{prefix}{number:08d}EMU", f"u{prefix}{number:06d}"

    # ----------------------------------------------------------------------------------------
    # Bot API methods: the bot itself
    # ----------------------------------------------------------------------------------------

    async def _get_me(self, p: Params) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ----------------------------------------------------------------------------------------
    # Bot API methods: messages
    # ----------------------------------------------------------------------------------------

    async def _send_message(self, p: Params) -> Any:
        chat = self._reachable_chat(p, sending=True)
        raw_text, content = self._text_fields(p, "text")
        content.update(self._send_options(chat, p, self._markup(p)))
        if isinstance(p.get("link_preview_options"), dict):
            content["link_preview_options"] = p.get("link_preview_options")
        self._rate_limit(chat)
        stored = self._store_bot_message(chat, content, raw_text)
        self._emit("message", chat.id, stored.message)
        return copy.deepcopy(stored.message)

    async def _edit_message_text(self, p: Params) -> Any:
        chat = self._reachable_chat(p)
        stored = self._bot_message(chat, p, not_found="message to edit not found")
        if "text" not in stored.message:
            raise bad_request("there is no text in the message to edit")
        raw_text, content = self._text_fields(p, "text")
        markup = self._edit_markup(p)
        message = stored.message
        if (
            content["text"] == message["text"]
            and content.get("entities", []) == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(NOT_MODIFIED)
        message["text"] = content["text"]
        _set_or_drop(message, "entities", content.get("entities"))
        _set_or_drop(message, "reply_markup", markup)
        stored.raw_text = raw_text if raw_text != content["text"] else None
        result = self._mark_edited(stored)
        self._emit("edit", chat.id, result)
        return result

    async def _edit_message_reply_markup(self, p: Params) -> Any:
        chat = self._reachable_chat(p)
        stored = self._bot_message(chat, p, not_found="message to edit not found")
        markup = self._edit_markup(p)
        if markup == stored.message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        _set_or_drop(stored.message, "reply_markup", markup)
        result = self._mark_edited(stored)
        self._emit("edit", chat.id, result)
        return result

    async def _delete_message(self, p: Params) -> Any:
        chat = self._reachable_chat(p)
        message_id = p.req_int("message_id", "message identifier is not specified")
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise bad_request("message to delete not found")
        if not stored.from_bot and not chat.is_private and chat.bot_status != "administrator":
            raise bad_request("message can't be deleted")
        stored.deleted = True
        self._emit("delete", chat.id, stored.message)
        return True

    async def _answer_callback_query(self, p: Params) -> Any:
        query_id = p.opt_str("callback_query_id")
        query = self._callback_queries.get(query_id or "")
        expired = query is not None and self._clock() - query.created_at > self.callback_query_ttl
        if query is None or query.answered or expired:
            raise bad_request(QUERY_INVALID)
        text = p.opt_str("text") or ""
        if utf16_len(text) > CALLBACK_ANSWER_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        self.callback_answers.append(dict(p.data))
        if text:
            chat = self._chats[query.chat_id]
            stored = chat.messages.get(query.message_id)
            message = stored.message if stored else None
            self._emit(
                "callback_answer",
                query.chat_id,
                message,
                text=text,
                show_alert=p.flag("show_alert"),
            )
        return True

    async def _send_chat_action(self, p: Params) -> Any:
        self._reachable_chat(p, sending=True)
        if p.opt_str("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # ----------------------------------------------------------------------------------------
    # Bot API methods: locations and files
    # ----------------------------------------------------------------------------------------

    def _location_fields(self, p: Params) -> JsonDict:
        latitude = p.req_float("latitude")
        longitude = p.req_float("longitude")
        if not -90 <= latitude <= 90:
            raise bad_request("wrong latitude")
        if not -180 <= longitude <= 180:
            raise bad_request("wrong longitude")
        location: JsonDict = {"latitude": latitude, "longitude": longitude}
        accuracy = p.opt_float("horizontal_accuracy")
        if accuracy is not None:
            if not 0 <= accuracy <= 1500:
                raise bad_request("wrong horizontal accuracy")
            location["horizontal_accuracy"] = accuracy
        heading = p.opt_int("heading")
        if heading is not None:
            if not 1 <= heading <= 360:
                raise bad_request("wrong heading")
            location["heading"] = heading
        radius = p.opt_int("proximity_alert_radius")
        if radius is not None:
            if not 1 <= radius <= 100_000:
                raise bad_request("wrong proximity alert radius")
            location["proximity_alert_radius"] = radius
        return location

    async def _send_location(self, p: Params) -> Any:
        chat = self._reachable_chat(p, sending=True)
        location = self._location_fields(p)
        live_period = p.opt_int("live_period")
        if live_period is not None:
            if not (60 <= live_period <= 86400 or live_period == LIVE_PERIOD_FOREVER):
                raise bad_request("wrong live period specified")
            location["live_period"] = live_period
        content: JsonDict = {"location": location}
        content.update(self._send_options(chat, p, self._markup(p)))
        self._rate_limit(chat)
        stored = self._store_bot_message(chat, content)
        if live_period is not None:
            stored.live_until = self._clock() + live_period
        self._emit("location", chat.id, stored.message)
        return copy.deepcopy(stored.message)

    def _live_location(self, chat: _Chat, p: Params) -> _StoredMessage:
        """A live location that can still be edited; Telegram says "can't be edited" otherwise."""
        stored = self._bot_message(chat, p, not_found="message to edit not found")
        live = "live_period" in stored.message.get("location", {})
        expired = stored.live_until is not None and self._clock() > stored.live_until
        if not live or stored.live_stopped or expired:
            raise bad_request("message can't be edited")
        return stored

    async def _edit_message_live_location(self, p: Params) -> Any:
        chat = self._reachable_chat(p)
        stored = self._live_location(chat, p)
        old = stored.message["location"]
        new = {**self._location_fields(p), "live_period": old["live_period"]}
        live_period = p.opt_int("live_period")
        if live_period is not None:
            new["live_period"] = live_period
            stored.live_until = self._clock() + live_period
        markup = self._edit_markup(p)
        if new == old and markup == stored.message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        stored.message["location"] = new
        _set_or_drop(stored.message, "reply_markup", markup)
        result = self._mark_edited(stored)
        self._emit("live_location", chat.id, result)
        return result

    async def _stop_message_live_location(self, p: Params) -> Any:
        chat = self._reachable_chat(p)
        stored = self._live_location(chat, p)
        stored.live_stopped = True
        _set_or_drop(stored.message, "reply_markup", self._edit_markup(p))
        result = self._mark_edited(stored)
        self._emit("live_location_stopped", chat.id, result)
        return result

    async def _send_document(self, p: Params) -> Any:
        file_id, unique_id = self._new_file_id("BQAC")
        upload = self._upload(p, "document")
        document: JsonDict = {"file_id": file_id, "file_unique_id": unique_id}
        document["file_name"] = upload.get("filename") or "document"
        if upload.get("content_type"):
            document["mime_type"] = upload["content_type"]
        if upload.get("size") is not None:
            document["file_size"] = upload["size"]
        return await self._send_media(p, {"document": document})

    async def _send_photo(self, p: Params) -> Any:
        file_id, unique_id = self._new_file_id("AgAC")
        upload = self._upload(p, "photo")
        size = {"file_id": file_id, "file_unique_id": unique_id, "width": 1280, "height": 720}
        if upload.get("size") is not None:
            size["file_size"] = upload["size"]
        return await self._send_media(p, {"photo": [size]})

    def _upload(self, p: Params, name: str) -> JsonDict:
        """The file behind a document/photo parameter: an upload (attach://) or a file_id/URL."""
        value = p.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value.removeprefix("attach://"))
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and value:
            return {"filename": value.rsplit("/", 1)[-1]}
        raise bad_request(f"there is no {name} in the request")

    async def _send_media(self, p: Params, media: JsonDict) -> Any:
        chat = self._reachable_chat(p, sending=True)
        raw_caption, content = self._text_fields(p, "caption", caption=True)
        content = {**media, **content, **self._send_options(chat, p, self._markup(p))}
        self._rate_limit(chat)
        stored = self._store_bot_message(chat, content, raw_caption)
        self._emit("message", chat.id, stored.message)
        return copy.deepcopy(stored.message)

    # ----------------------------------------------------------------------------------------
    # Bot API methods: commands
    # ----------------------------------------------------------------------------------------

    def _commands_key(self, p: Params) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        valid_types = {
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        }
        if not isinstance(scope, dict) or scope.get("type") not in valid_types:
            raise bad_request("can't parse BotCommandScope JSON object")
        if scope["type"].startswith("chat") and "chat_id" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        if scope["type"] == "chat_member" and "user_id" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        language = p.opt_str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True, separators=(",", ":")), language

    async def _set_my_commands(self, p: Params) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse BotCommand array JSON")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(p)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: Params) -> Any:
        return copy.deepcopy(self._commands.get(self._commands_key(p), []))

    async def _delete_my_commands(self, p: Params) -> Any:
        self._commands.pop(self._commands_key(p), None)
        return True

    # ----------------------------------------------------------------------------------------
    # Bot API methods: chats
    # ----------------------------------------------------------------------------------------

    async def _leave_chat(self, p: Params) -> Any:
        chat = self._reachable_chat(p)
        if chat.is_private:
            raise bad_request("chat member status can't be changed in private chats")
        old, chat.bot_status = chat.bot_status, "left"
        self._queue_my_chat_member(chat, self.bot_user, old, "left")
        return True

    async def _get_chat(self, p: Params) -> Any:
        chat = self._chat_from_param(p)
        return {
            **copy.deepcopy(chat.info),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _status_in(self, chat: _Chat, user_id: int) -> str:
        if user_id == self.bot_user["id"]:
            return "member" if chat.is_private else chat.bot_status
        if chat.is_private:
            return "member" if user_id == chat.id else "left"
        return chat.members.get(user_id, "left")

    async def _get_chat_member(self, p: Params) -> Any:
        chat = self._chat_from_param(p)
        user_id = p.req_int("user_id")
        user = self.bot_user if user_id == self.bot_user["id"] else self._users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return self._member_object(user, self._status_in(chat, user_id))

    async def _get_chat_administrators(self, p: Params) -> Any:
        chat = self._chat_from_param(p)
        if chat.is_private:
            raise bad_request("there are no administrators in the private chat")
        admins = [
            self._member_object(self._users[user_id], status)
            for user_id, status in chat.members.items()
            if status in {"creator", "administrator"}
        ]
        if chat.bot_status == "administrator":
            admins.append(self._member_object(self.bot_user, "administrator"))
        return admins

    async def _close(self, p: Params) -> Any:
        return True

    async def _log_out(self, p: Params) -> Any:
        return True


# --------------------------------------------------------------------------------------------
# Module-level helpers
# --------------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _set_or_drop(message: JsonDict, key: str, value: Any) -> None:
    """Telegram omits empty fields instead of sending nulls."""
    if value:
        message[key] = value
    else:
        message.pop(key, None)
