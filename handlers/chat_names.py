"""A chat as /status and its kin name it: a group by its title, a private chat by its person."""

from __future__ import annotations

from storage import Repos


async def chat_title(repos: Repos, chat_id: int) -> str:
    if chat_id < 0:
        chat = await repos.chats.get(chat_id)
        return (chat.title if chat else "") or str(chat_id)
    user = await repos.users.get(chat_id)
    return (user.full_name if user else "") or str(chat_id)
