"""Asking a person for typed text, in a way that works in groups under privacy mode.

With privacy mode on (Telegram's default, and what we recommend) a bot in a group receives
commands, replies to its own messages and mentions, not plain text. So in a group every
question that wants typed text carries ``ForceReply(selective=True)`` and mentions the person
asked: their Telegram app then sends the answer as a reply (which reaches the bot), and only
they are asked. Buttons offered with the question come in a second message, because a message
has one keyboard: ForceReply or inline buttons. In a private chat it is one plain message.
"""

from __future__ import annotations

from aiogram import html
from aiogram.types import ForceReply, InlineKeyboardMarkup, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _

from bot.policy import GROUP_TYPES


async def ask(
    anchor: Message,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    who: TgUser | None = None,
) -> Message:
    """Ask ``who`` (default: the author of ``anchor``) in ``anchor``'s chat; returns the question.

    ``anchor`` is any message of the chat (a bot message when the step follows a button).
    """
    if anchor.chat.type not in GROUP_TYPES:
        return await anchor.answer(text, reply_markup=keyboard)
    person = who or anchor.from_user
    if person is not None and not person.is_bot:
        mention = html.link(html.quote(person.first_name), f"tg://user?id={person.id}")
        text = f"{mention}\n{text}"
    question = await anchor.answer(text, reply_markup=ForceReply(selective=True))
    if keyboard is not None:
        await anchor.answer(_("wizard.or_press"), reply_markup=keyboard)
    return question
