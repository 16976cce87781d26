"""What people do: each action changes the chat state and queues the updates Telegram would send.

People is the emulator's "user side". The public docstrings are on TelegramEmulator, which
delegates here; this module holds the sequences: which updates, in which order, for a message,
a button press, the bot being added to, kicked from or blocked in a chat, and a group upgrade.

Every message a person writes reaches the bot through ``_deliver_message``; a group upgrade is
``migrate_group``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from sandbox.telegram_emulator.chats import Chat, ChatStore, StoredMessage
from sandbox.telegram_emulator.common import JsonDict
from sandbox.telegram_emulator.formatting import detect_entities
from sandbox.telegram_emulator.keyboards import inline_buttons
from sandbox.telegram_emulator.updates import UpdateQueue


class People:
    """Simulated people acting in chats; owned by the emulator, sharing its ChatStore."""

    def __init__(
        self,
        chats: ChatStore,
        updates: UpdateQueue,
        clock: Callable[[], float],
        *,
        privacy_mode: bool = True,
    ) -> None:
        self._chats = chats
        self._updates = updates
        self._clock = clock
        # BotFather's privacy mode, on by default as on Telegram: in groups the bot sees only
        # what is meant for it (see _bot_may_see).
        self.privacy_mode = privacy_mode
        self.hidden_from_bot: list[JsonDict] = []  # group messages privacy mode kept back

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
        user = self._chats.user(user_id)
        chat = self._chats.chat_for_person(user_id, chat_id)
        content: JsonDict = {"text": text}
        if entities := detect_entities(text):
            content["entities"] = entities
        if reply_to_message_id is None and not text.startswith("/"):
            # A ForceReply prompt makes the app send the next message as a reply to it.
            reply_to_message_id = self._chats.pending_prompt(chat, user_id)
            if reply_to_message_id is not None:
                chat.force_reply = None
        if reply_to_message_id is not None:
            content["reply_to_message"] = self._chats.reply_snapshot(chat, reply_to_message_id)
        if forward_from_user_id is not None:
            origin = self._chats.user(forward_from_user_id)
            content["forward_origin"] = {
                "type": "user",
                "sender_user": origin,
                "date": self._chats.date(),
            }
        if message_thread_id is not None:
            content.update(self._chats.thread_fields(chat, message_thread_id))
        stored = self._chats.store_message(chat, user, content, from_bot=False)
        self._deliver_message(chat, stored)
        return copy.deepcopy(stored.message)

    def user_presses(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        checked: bool = True,
    ) -> str:
        user = self._chats.user(user_id)
        chat = self._chats.chat_for_person(user_id, chat_id)
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted or not stored.from_bot:
            raise ValueError(f"chat {chat.id} has no bot message {message_id} to press")
        available = [b.get("callback_data") for b in inline_buttons(stored.message)]
        if checked and callback_data not in available:
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"it has {available!r}"
            )
        query_id = self._chats.open_callback_query(chat, message_id, self._clock())
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
        user = self._chats.user(user_id)
        chat = self._chats.chat_for_person(user_id, chat_id)
        content = {"location": {"latitude": lat, "longitude": lon}}
        stored = self._chats.store_message(chat, user, content, from_bot=False)
        self._deliver_message(chat, stored)
        return copy.deepcopy(stored.message)

    def add_bot_to_group(self, by_user_id: int, chat_id: int, *, as_admin: bool = False) -> None:
        user = self._chats.user(by_user_id)
        chat = self._chats.group(chat_id)
        if by_user_id not in chat.members or chat.members[by_user_id] in {"left", "kicked"}:
            has_creator = "creator" in chat.members.values()
            chat.members[by_user_id] = "member" if has_creator else "creator"
        old = chat.bot_status
        new = "administrator" if as_admin else "member"
        if old == new:
            return  # nothing changes, so Telegram sends nothing
        chat.bot_status = new
        self._bot_status_changed(chat, user, old, new)
        if old in {"left", "kicked"}:
            bot_user = self._chats.bot_user
            content = {"new_chat_members": [bot_user], "new_chat_member": bot_user}
            stored = self._chats.store_message(chat, user, content, from_bot=False)
            self._deliver_message(chat, stored)

    def remove_bot_from_group(self, by_user_id: int, chat_id: int) -> None:
        user = self._chats.user(by_user_id)
        chat = self._chats.group(chat_id)
        if chat.bot_status == "kicked":
            return
        old, chat.bot_status = chat.bot_status, "kicked"
        self._bot_status_changed(chat, user, old, "kicked")

    def restrict_bot(self, by_user_id: int, chat_id: int, *, can_send: bool = False) -> None:
        """A group admin takes away (or gives back) the bot's right to write there."""
        user = self._chats.user(by_user_id)
        chat = self._chats.group(chat_id)
        old, new = chat.bot_status, "member" if can_send else "restricted"
        if old == new or old in {"left", "kicked"}:
            return
        chat.bot_status = new
        self._bot_status_changed(chat, user, old, new)

    def block_bot(self, user_id: int) -> None:
        chat = self._chats.private_chat(user_id)
        if chat.blocked:
            return
        chat.blocked = True
        self._bot_status_changed(chat, self._chats.user(user_id), "member", "kicked")

    def unblock_bot(self, user_id: int) -> None:
        chat = self._chats.private_chat(user_id)
        if not chat.blocked:
            return
        chat.blocked = False
        self._bot_status_changed(chat, self._chats.user(user_id), "kicked", "member")

    def migrate_group(
        self, chat_id: int, *, by_user_id: int | None = None, order: str = "member,to,from"
    ) -> int:
        """The group -> supergroup upgrade as Telegram announces it: three updates, in no
        guaranteed order (tdlib/telegram-bot-api#266): ``member`` — my_chat_member left ->
        member for the NEW id, from the user who upgraded; ``to`` — a service message in the old
        chat with migrate_to_chat_id; ``from`` — one in the new chat with migrate_from_chat_id.
        ``order`` lists them comma-separated; the default puts the join first, the order that
        makes a bot take the upgrade for "someone added me"."""
        old, new = self._chats.upgrade_to_supergroup(chat_id)
        actor = self._chats.user(by_user_id) if by_user_id else self._chats.group_actor(old)
        steps = [step.strip() for step in order.split(",")]
        if sorted(steps) != ["from", "member", "to"]:
            raise ValueError(f"order must name member, to and from once each, not {order!r}")
        for step in steps:
            if step == "member":
                self._bot_status_changed(new, actor, "left", new.bot_status)
            elif step == "to":
                moved_out = self._chats.store_message(
                    old, actor, {"migrate_to_chat_id": new.id}, from_bot=False
                )
                self._deliver_message(old, moved_out)
            else:
                moved_in = self._chats.store_message(
                    new, actor, {"migrate_from_chat_id": chat_id}, from_bot=False
                )
                self._deliver_message(new, moved_in)
        return new.id

    def _bot_status_changed(self, chat: Chat, actor: JsonDict, old: str, new: str) -> None:
        """Queue my_chat_member for the bot's own status in ``chat`` going ``old`` -> ``new``."""
        self._updates.queue("my_chat_member", self._chats.my_chat_member(chat, actor, old, new))

    def _deliver_message(self, chat: Chat, stored: StoredMessage) -> None:
        """A message in ``chat`` (from a person or a service message) reaches the bot, unless
        privacy mode keeps it back."""
        if not self._bot_may_see(chat, stored.message):
            self.hidden_from_bot.append(copy.deepcopy(stored.message))
            return
        self._updates.queue("message", stored.message)

    def _bot_may_see(self, chat: Chat, message: JsonDict) -> bool:
        """Telegram's privacy mode: in a group the bot receives commands (``/cmd`` or
        ``/cmd@thisbot``, not ``/cmd@otherbot``), replies to its own messages (what a
        ForceReply prompt makes the app send), messages that mention it, and service messages
        (members, migration). An admin bot, or one with privacy mode off, receives everything."""
        if not self.privacy_mode or chat.is_private:
            return True
        if chat.bot_status == "administrator":
            return True
        text = message.get("text")
        if text is None and message.get("caption") is None:
            return True  # a service message (or media without a caption: not modelled)
        text = text if text is not None else message.get("caption", "")
        username = str(self._chats.bot_user.get("username", ""))
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            addressee = command.partition("@")[2]
            return not addressee or addressee.lower() == username.lower()
        replied = message.get("reply_to_message") or {}
        if replied.get("from", {}).get("id") == self._chats.bot_user["id"]:
            return True
        return f"@{username}".lower() in text.lower()
