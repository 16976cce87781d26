"""Bot API methods about the bot itself and its chats: getMe, commands, leaving, chat lookups.

setMyCommands state is kept here, keyed by (scope as canonical JSON, language_code) like
Telegram keys it; getChat, getChatMember and getChatAdministrators read the ChatStore.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from sandbox.telegram_emulator.chats import ChatStore, member_object
from sandbox.telegram_emulator.common import JsonDict, bad_request
from sandbox.telegram_emulator.params import Handler, Params
from sandbox.telegram_emulator.updates import UpdateQueue


class ChatMethods:
    """getMe, set/get/deleteMyCommands, leaveChat, getChat, getChatMember(s), close, logOut."""

    def __init__(self, chats: ChatStore, updates: UpdateQueue, *, privacy_mode: bool) -> None:
        self._chats = chats
        self._updates = updates
        self.privacy_mode = privacy_mode
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}

    def methods(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
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

    async def _get_me(self, p: Params) -> Any:
        return {
            **self._chats.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

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
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: Params) -> Any:
        return copy.deepcopy(self.commands.get(self._commands_key(p), []))

    async def _delete_my_commands(self, p: Params) -> Any:
        self.commands.pop(self._commands_key(p), None)
        return True

    async def _leave_chat(self, p: Params) -> Any:
        chat = self._chats.reachable(p.chat_id())
        if chat.is_private:
            raise bad_request("chat member status can't be changed in private chats")
        old, chat.bot_status = chat.bot_status, "left"
        self._updates.queue(
            "my_chat_member", self._chats.my_chat_member(chat, self._chats.bot_user, old, "left")
        )
        return True

    async def _get_chat(self, p: Params) -> Any:
        chat = self._chats.find(p.chat_id())
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

    async def _get_chat_member(self, p: Params) -> Any:
        # Like every method about a group, it needs the bot in it: 403 once removed or left.
        chat = self._chats.find(p.chat_id())
        if not chat.is_private:
            chat = self._chats.reachable(p.chat_id())
        user_id = p.req_int("user_id")
        bot_user = self._chats.bot_user
        user = bot_user if user_id == bot_user["id"] else self._chats.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return member_object(user, self._chats.status_in(chat, user_id))

    async def _get_chat_administrators(self, p: Params) -> Any:
        chat = self._chats.find(p.chat_id())
        if chat.is_private:
            raise bad_request("there are no administrators in the private chat")
        admins = [
            member_object(self._chats.users[user_id], status)
            for user_id, status in chat.members.items()
            if status in {"creator", "administrator"}
        ]
        if chat.bot_status == "administrator":
            admins.append(member_object(self._chats.bot_user, "administrator"))
        return admins

    async def _close(self, p: Params) -> Any:
        return True

    async def _log_out(self, p: Params) -> Any:
        return True
