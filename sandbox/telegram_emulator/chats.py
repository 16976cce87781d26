"""Chats, users and messages: the state the emulator keeps, and the lookups into it.

ChatStore owns the people, their private chats with the bot, groups and supergroups (members,
the bot's own status, migration), every message stored in each chat (edits are applied in
place) and the callback queries people opened by pressing buttons.

Two kinds of lookups, because two kinds of callers get it wrong in different ways:

* person-side (``user``, ``group``, ``chat_for_person``...) raise ValueError: a test that makes
  someone act in a chat Telegram would never let them act in is a test bug;
* bot-side (``find``, ``reachable``) raise ApiError with Telegram's answers: the bot writing to a
  chat it was kicked from is exactly what the emulator exists to show.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.telegram_emulator.common import JsonDict, bad_request, forbidden
from sandbox.telegram_emulator.formatting import utf16_slice


@dataclass
class StoredMessage:
    message: JsonDict  # the Telegram Message object, kept current (edits applied)
    from_bot: bool
    raw_text: str | None = None  # text as the bot sent it (HTML source) before parsing
    deleted: bool = False
    live_until: float | None = None  # clock time a live location expires
    live_stopped: bool = False

    def view(self) -> JsonDict:
        """A copy for tests: the message plus ``deleted`` and, for HTML, ``raw_text``."""
        view = copy.deepcopy(self.message)
        view["deleted"] = self.deleted
        if self.raw_text is not None:
            view["raw_text"] = self.raw_text
        return view


@dataclass
class Chat:
    info: JsonDict  # the Telegram Chat object
    started: bool = True  # private: the user has talked to the bot (pressed Start)
    blocked: bool = False  # private: the user blocked the bot
    bot_status: str = "member"  # groups: member/administrator/left/kicked
    members: dict[int, str] = field(default_factory=dict)  # groups: user id -> status
    migrated_to: int | None = None
    # The latest ForceReply prompt: (message id, the users it asks, None = everyone). A Telegram
    # app answers it with a reply, which is what privacy mode lets through to the bot.
    force_reply: tuple[int, frozenset[int] | None] | None = None
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)

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
class PendingQuery:
    chat_id: int
    message_id: int
    created_at: float
    answered: bool = False


def member_object(user: JsonDict, status: str) -> JsonDict:
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
    elif status == "restricted":
        # A member who may not write (a group admin took the right away).
        member.update(dict.fromkeys(_RESTRICTED_RIGHTS, False), is_member=True, until_date=0)
    return member


_RESTRICTED_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


class ChatStore:
    """People, chats, memberships and stored messages, keyed like Telegram keys them."""

    def __init__(self, bot_user: JsonDict, wall_clock: Callable[[], float]) -> None:
        self.bot_user = bot_user
        self._wall_clock = wall_clock
        self.users: dict[int, JsonDict] = {}
        self.chats: dict[int, Chat] = {}
        self.callback_queries: dict[str, PendingQuery] = {}
        self._next_query_id = 4_000_000_000_000_000_001

    # ----------------------------------------------------------------------------------------
    # Setting the scene
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
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JsonDict = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            user["last_name"] = chat["last_name"] = last_name
        if username:
            user["username"] = chat["username"] = username
        user["language_code"] = language_code
        self.users[user_id] = user
        if user_id in self.chats:  # adding someone again updates their name, keeps history
            self.chats[user_id].info = chat
        else:
            self.chats[user_id] = Chat(info=chat, started=started)
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
        if chat_id in self.chats:  # adding a group again updates it, keeps members and history
            self.chats[chat_id].info = info
        else:
            status = "member" if bot_already_member else "left"
            self.chats[chat_id] = Chat(info=info, bot_status=status)
        return copy.deepcopy(info)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        if status not in {"creator", "administrator", "member", "left", "kicked"}:
            raise ValueError(f"unsupported member status {status!r}")
        self.user(user_id)
        self.group(chat_id).members[user_id] = status

    def upgrade_to_supergroup(self, chat_id: int) -> tuple[Chat, Chat]:
        """Turn a basic group into a supergroup; returns (old, new). Queues nothing."""
        old = self.group(chat_id)
        if old.info["type"] != "group" or old.migrated_to is not None:
            raise ValueError(f"chat {chat_id} is not a basic group that can be upgraded")
        new_id = -(10**12 + abs(chat_id))
        info = {**old.info, "id": new_id, "type": "supergroup"}
        new = Chat(info=info, bot_status=old.bot_status, members=dict(old.members))
        self.chats[new_id] = new
        old.migrated_to = new_id
        return old, new

    # ----------------------------------------------------------------------------------------
    # Person-side lookups: ValueError, because the test asked for something impossible
    # ----------------------------------------------------------------------------------------

    def user(self, user_id: int) -> JsonDict:
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id}; call add_user first")
        return self.users[user_id]

    def known_chat(self, chat_id: int) -> Chat:
        if chat_id not in self.chats:
            raise ValueError(f"unknown chat {chat_id}; call add_user or add_group first")
        return self.chats[chat_id]

    def private_chat(self, user_id: int) -> Chat:
        self.user(user_id)
        return self.chats[user_id]

    def group(self, chat_id: int) -> Chat:
        chat = self.known_chat(chat_id)
        if chat.is_private:
            raise ValueError(f"chat {chat_id} is a private chat, not a group")
        return chat

    def chat_for_person(self, user_id: int, chat_id: int | None) -> Chat:
        """The chat a person acts in, refusing situations Telegram would never deliver."""
        if chat_id is None or chat_id == user_id:
            chat = self.private_chat(user_id)
            if chat.blocked:
                raise ValueError(f"user {user_id} blocked the bot; call unblock_bot first")
            chat.started = True
            return chat
        chat = self.group(chat_id)
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

    def group_actor(self, chat: Chat) -> JsonDict:
        """Who performed a group-level action: its creator, else any member, else the bot."""
        creators_first = sorted(
            chat.members, key=lambda user_id: chat.members[user_id] != "creator"
        )
        return self.users[creators_first[0]] if creators_first else self.bot_user

    def resolve_chat_id(self, chat_id: int) -> int:
        """Follow group -> supergroup migrations to the chat id that is current now."""
        chat = self.chats.get(chat_id)
        while chat is not None and chat.migrated_to is not None:
            chat_id = chat.migrated_to
            chat = self.chats.get(chat_id)
        return chat_id

    # ----------------------------------------------------------------------------------------
    # Bot-side lookups: Telegram's 400/403 answers
    # ----------------------------------------------------------------------------------------

    def find(self, chat_id: int | str) -> Chat:
        """Resolve chat_id; unknown -> 400 chat not found, migrated -> 400 + migrate_to_chat_id."""
        chat: Chat | None
        if isinstance(chat_id, str):
            username = chat_id.removeprefix("@").lower()
            chat = next(
                (c for c in self.chats.values() if c.info.get("username", "").lower() == username),
                None,
            )
        else:
            chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        return chat

    def reachable(self, chat_id: int | str, *, sending: bool = False) -> Chat:
        """A chat the bot may act in; 403 when blocked, kicked or never joined."""
        chat = self.find(chat_id)
        if chat.is_private:
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            if sending and not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
        elif chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {chat.kind_name}")
        elif chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {chat.kind_name}")
        elif sending and chat.bot_status == "restricted":
            raise bad_request("not enough rights to send text messages to the chat")
        return chat

    def status_in(self, chat: Chat, user_id: int) -> str:
        if user_id == self.bot_user["id"]:
            return "member" if chat.is_private else chat.bot_status
        if chat.is_private:
            return "member" if user_id == chat.id else "left"
        return chat.members.get(user_id, "left")

    # ----------------------------------------------------------------------------------------
    # Messages and callback queries
    # ----------------------------------------------------------------------------------------

    def date(self) -> int:
        return int(self._wall_clock())

    def store_message(
        self, chat: Chat, sender: JsonDict, content: JsonDict, *, from_bot: bool
    ) -> StoredMessage:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: JsonDict = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.info,
            "date": self.date(),
            **content,
        }
        stored = StoredMessage(message=copy.deepcopy(message), from_bot=from_bot)
        chat.messages[message_id] = stored
        return stored

    def expect_reply(self, chat: Chat, message: JsonDict, *, selective: bool) -> None:
        """The bot sent a ForceReply prompt. ``selective`` asks only the users @mentioned in
        its text and the sender of the message it replies to; otherwise everyone."""
        targets: set[int] | None = None
        if selective:
            targets = set()
            text = str(message.get("text", ""))
            for entity in message.get("entities", []):
                if entity.get("type") == "text_mention":
                    targets.add(int(entity["user"]["id"]))
                elif entity.get("type") == "mention":
                    name = utf16_slice(text, entity["offset"], entity["length"]).lstrip("@")
                    targets |= {u["id"] for u in self.users.values() if u.get("username") == name}
            replied = message.get("reply_to_message") or {}
            if "from" in replied:
                targets.add(int(replied["from"]["id"]))
        chat.force_reply = (
            int(message["message_id"]),
            frozenset(targets) if targets is not None else None,
        )

    def pending_prompt(self, chat: Chat, user_id: int) -> int | None:
        """The ForceReply prompt a person's app would answer with their next message, if any."""
        if chat.force_reply is None:
            return None
        message_id, targets = chat.force_reply
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted or (targets is not None and user_id not in targets):
            return None
        return message_id

    def reply_snapshot(self, chat: Chat, message_id: int) -> JsonDict:
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise ValueError(f"chat {chat.id} has no message {message_id} to reply to")
        snapshot = copy.deepcopy(stored.message)
        snapshot.pop("reply_to_message", None)
        return snapshot

    @staticmethod
    def thread_fields(chat: Chat, thread_id: int) -> JsonDict:
        if chat.info.get("is_forum"):
            return {"message_thread_id": thread_id, "is_topic_message": True}
        return {"message_thread_id": thread_id}

    def my_chat_member(self, chat: Chat, actor: JsonDict, old: str, new: str) -> JsonDict:
        """The my_chat_member payload for the bot's status in ``chat`` going ``old`` -> ``new``."""
        return {
            "chat": chat.info,
            "from": actor,
            "date": self.date(),
            "old_chat_member": member_object(self.bot_user, old),
            "new_chat_member": member_object(self.bot_user, new),
        }

    def open_callback_query(self, chat: Chat, message_id: int, now: float) -> str:
        """Register a button press the bot must answer; returns the new query id."""
        query_id = str(self._next_query_id)
        self._next_query_id += 1
        self.callback_queries[query_id] = PendingQuery(chat.id, message_id, now)
        return query_id
