"""Bot API methods that create, edit and delete messages, and answer button presses.

sendMessage, sendLocation, sendDocument and sendPhoto store the bot's messages in the ChatStore
(after Telegram's checks: reachable chat, formatting, keyboards, flood limits); the edit and
delete methods change them in place. Each visible change becomes a BotEvent for listeners.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandbox.telegram_emulator.chats import Chat, ChatStore, StoredMessage
from sandbox.telegram_emulator.common import JsonDict, bad_request
from sandbox.telegram_emulator.events import BotEvent, EventKind
from sandbox.telegram_emulator.flood import FloodLimiter
from sandbox.telegram_emulator.formatting import CAPTION_LIMIT, TEXT_LIMIT, format_text, utf16_len
from sandbox.telegram_emulator.keyboards import validate_reply_markup
from sandbox.telegram_emulator.params import Handler, Params

CALLBACK_ANSWER_LIMIT = 200
PHOTO_LIMIT = 10 * 1024 * 1024  # bytes: the Bot API's limit for an uploaded photo
LIVE_PERIOD_FOREVER = 0x7FFFFFFF

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
# Telegram keeps a button press answerable for about 15 seconds (the app's spinner); a bot that
# answers later gets QUERY_INVALID, so a slow handler must answer first and work after.
CALLBACK_QUERY_TTL = 15.0

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


class MessageMethods:
    """The bot's messages: send, edit, delete, live locations, files, callback answers.

    ``emit`` receives every BotEvent; ``callback_answers`` collects answerCallbackQuery params
    (the emulator shares the list with tests).
    """

    def __init__(
        self,
        chats: ChatStore,
        limiter: FloodLimiter | None,
        clock: Callable[[], float],
        emit: Callable[[BotEvent], None],
        callback_answers: list[JsonDict],
        callback_query_ttl: float,
    ) -> None:
        self._chats = chats
        self._limiter = limiter
        self._clock = clock
        self._emit_event = emit
        self.callback_answers = callback_answers
        self.callback_query_ttl = callback_query_ttl
        self._next_file_id = 1
        self.files: dict[str, bytes] = {}  # file_id -> the uploaded bytes

    def methods(self) -> dict[str, Handler]:
        return {
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
        }

    def _emit(
        self,
        kind: EventKind,
        chat_id: int | None,
        message: JsonDict | None,
        *,
        text: str | None = None,
        show_alert: bool = False,
    ) -> None:
        self._emit_event(BotEvent(kind, chat_id, copy.deepcopy(message), text, show_alert))

    # ----------------------------------------------------------------------------------------
    # Helpers shared by the handlers
    # ----------------------------------------------------------------------------------------

    def _bot_message(self, chat: Chat, p: Params, *, not_found: str) -> StoredMessage:
        """The bot's message named by message_id, for edits."""
        if p.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        message_id = p.req_int("message_id", "message identifier is not specified")
        if message_id <= 0:
            raise bad_request("MESSAGE_ID_INVALID")
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

    def _send_options(self, chat: Chat, p: Params, markup: JsonDict | None) -> JsonDict:
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
            fields.update(self._chats.thread_fields(chat, thread_id))
        if inline := self._inline_markup(markup):
            fields["reply_markup"] = inline
        if p.flag("protect_content"):
            fields["has_protected_content"] = True
        return fields

    def _reply_fields(self, chat: Chat, reply: Any) -> JsonDict:
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse ReplyParameters JSON object")
        target_chat = chat
        if reply.get("chat_id") not in (None, chat.id):
            target_chat = self._chats.chats.get(reply["chat_id"]) or chat
        stored = target_chat.messages.get(reply["message_id"])
        if stored is None or stored.deleted:
            if reply.get("allow_sending_without_reply"):
                return {}
            raise bad_request("message to be replied not found")
        snapshot = copy.deepcopy(stored.message)
        snapshot.pop("reply_to_message", None)
        return {"reply_to_message": snapshot}

    def _rate_limit(self, chat: Chat) -> None:
        if self._limiter is not None:
            self._limiter.acquire(chat.id, chat.is_private)

    def _store_bot_message(
        self, chat: Chat, content: JsonDict, raw_text: str | None = None
    ) -> StoredMessage:
        stored = self._chats.store_message(chat, self._chats.bot_user, content, from_bot=True)
        if raw_text is not None and raw_text != content.get("text", content.get("caption")):
            stored.raw_text = raw_text
        return stored

    def _mark_edited(self, stored: StoredMessage) -> JsonDict:
        stored.message["edit_date"] = self._chats.date()
        return copy.deepcopy(stored.message)

    def _new_file_id(self, prefix: str) -> tuple[str, str]:
        number = self._next_file_id
        self._next_file_id += 1
        return f"{prefix}{number:08d}EMU", f"u{prefix}{number:06d}"

    # ----------------------------------------------------------------------------------------
    # Bot API methods: messages
    # ----------------------------------------------------------------------------------------

    async def _send_message(self, p: Params) -> Any:
        chat = self._chats.reachable(p.chat_id(), sending=True)
        raw_text, content = self._text_fields(p, "text")
        markup = self._markup(p)
        content.update(self._send_options(chat, p, markup))
        if isinstance(p.get("link_preview_options"), dict):
            content["link_preview_options"] = p.get("link_preview_options")
        self._rate_limit(chat)
        stored = self._store_bot_message(chat, content, raw_text)
        if markup is not None and markup.get("force_reply"):
            self._chats.expect_reply(chat, stored.message, selective=bool(markup.get("selective")))
        self._emit("message", chat.id, stored.message)
        return copy.deepcopy(stored.message)

    async def _edit_message_text(self, p: Params) -> Any:
        chat = self._chats.reachable(p.chat_id())
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
        chat = self._chats.reachable(p.chat_id())
        stored = self._bot_message(chat, p, not_found="message to edit not found")
        markup = self._edit_markup(p)
        if markup == stored.message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        _set_or_drop(stored.message, "reply_markup", markup)
        result = self._mark_edited(stored)
        self._emit("edit", chat.id, result)
        return result

    async def _delete_message(self, p: Params) -> Any:
        chat = self._chats.reachable(p.chat_id())
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
        query = self._chats.callback_queries.get(query_id or "")
        expired = query is not None and self._clock() - query.created_at > self.callback_query_ttl
        if query is None or query.answered or expired:
            raise bad_request(QUERY_INVALID)
        text = p.opt_str("text") or ""
        if utf16_len(text) > CALLBACK_ANSWER_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        self.callback_answers.append(dict(p.data))
        if text:
            chat = self._chats.chats[query.chat_id]
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
        self._chats.reachable(p.chat_id(), sending=True)
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
        chat = self._chats.reachable(p.chat_id(), sending=True)
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

    def _live_location(self, chat: Chat, p: Params) -> StoredMessage:
        """A live location that can still be edited; Telegram says "can't be edited" otherwise."""
        stored = self._bot_message(chat, p, not_found="message to edit not found")
        live = "live_period" in stored.message.get("location", {})
        expired = stored.live_until is not None and self._clock() > stored.live_until
        if not live or stored.live_stopped or expired:
            raise bad_request("message can't be edited")
        return stored

    async def _edit_message_live_location(self, p: Params) -> Any:
        chat = self._chats.reachable(p.chat_id())
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
        chat = self._chats.reachable(p.chat_id())
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
        self._keep(file_id, upload)
        return await self._send_media(p, {"document": document})

    async def _send_photo(self, p: Params) -> Any:
        file_id, unique_id = self._new_file_id("AgAC")
        upload = self._upload(p, "photo")
        if (upload.get("size") or 0) > PHOTO_LIMIT:
            # The Bot API: "The photo must be at most 10 MB in size" (a document: 50 MB, which
            # the HTTP server's body limit answers with 413 Request Entity Too Large). The
            # wording of the refusal is not documented; this is Telegram's for big files.
            raise bad_request("file is too big")
        size = {"file_id": file_id, "file_unique_id": unique_id, "width": 1280, "height": 720}
        if upload.get("size") is not None:
            size["file_size"] = upload["size"]
        self._keep(file_id, upload)
        return await self._send_media(p, {"photo": [size]})

    def _keep(self, file_id: str, upload: JsonDict) -> None:
        content = upload.get("content")
        if isinstance(content, bytes):
            self.files[file_id] = content

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
        chat = self._chats.reachable(p.chat_id(), sending=True)
        raw_caption, content = self._text_fields(p, "caption", caption=True)
        content = {**media, **content, **self._send_options(chat, p, self._markup(p))}
        self._rate_limit(chat)
        stored = self._store_bot_message(chat, content, raw_caption)
        self._emit("message", chat.id, stored.message)
        return copy.deepcopy(stored.message)


def _set_or_drop(message: JsonDict, key: str, value: Any) -> None:
    """Telegram omits empty fields instead of sending nulls."""
    if value:
        message[key] = value
    else:
        message.pop(key, None)
