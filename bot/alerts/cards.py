"""Status cards: one message per subject per chat (topic) that shows its latest state.

The rule, one or the other — never the same news twice:
- a change that needs eyes (a ``buzz`` kind: the taxi is at the door, the task is completed,
  the wagon arrived) posts the card anew, as a new message that rings; from then on that
  message is the subject's card (the old one stays as it was, as history);
- any other change edits the card in place, silently. When that card is far up the chat (more
  than ``CARD_FAR`` messages the bot knows of), a short line pointing to it is posted where
  people look — a link in a supergroup, a reply to the card elsewhere — at most one per
  subject per window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol, TypeVar

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message

from bot.alerts.chat_tail import ChatTail
from bot.alerts.packing import Outgoing, Recipient
from bot.texts import Rich
from storage import Repos

log = logging.getLogger(__name__)
T = TypeVar("T")
CARD_FAR = 10  # messages below a card before an edit of it also gets a pointer line
POINTED_KEPT = 10_000  # subjects remembered for "one pointer per window" before a sweep


class Transport(Protocol):
    """What the sender offers: paced sends that follow a migrated group."""

    bot: Bot

    async def send(
        self, chat: Recipient, out: Outgoing, *, reply_to: int | None = None
    ) -> Message: ...

    async def with_fallback(
        self,
        chat: Recipient,
        call: Callable[[int, str, ParseMode | None], Awaitable[T]],
        text: Rich,
    ) -> T: ...


def card_link(chat_id: int, thread_id: int, message_id: int) -> str | None:
    """A t.me link to a message of a supergroup (None elsewhere: no public link exists)."""
    digits = str(chat_id)
    if not digits.startswith("-100"):
        return None
    internal = digits[4:]
    middle = f"/{thread_id}" if thread_id else ""
    return f"https://t.me/c/{internal}{middle}/{message_id}"


class CardDesk:
    def __init__(self, repos: Repos, transport: Transport, tail: ChatTail, window: timedelta):
        self.repos = repos
        self.transport = transport
        self.tail = tail
        self.window = window
        self._pointed: dict[tuple[int, int, str], float] = {}  # monotonic time of the last line

    async def put(self, chat: Recipient, out: Outgoing) -> tuple[int, bool]:
        """Post or edit the subject's card; returns the message the rows belong to and
        whether it is a new message."""
        assert out.card is not None
        card_id = await self.repos.alert_state.card(chat.id, out.thread_id, out.card)
        if card_id is not None and not out.buzz and await self._edit(chat, card_id, out):
            await self._point(chat, card_id, out)
            return card_id, False
        message = await self.transport.send(chat, out)
        await self.repos.alert_state.set_card(chat.id, out.thread_id, out.card, message.message_id)
        return message.message_id, True

    async def _edit(self, chat: Recipient, card_id: int, out: Outgoing) -> bool:
        """False when the card is gone (deleted, too old to edit) and a new one is needed."""

        async def edit(chat_id: int, text: str, mode: ParseMode | None) -> object:
            return await self.transport.bot.edit_message_text(
                text=text,
                chat_id=chat_id,
                message_id=card_id,
                parse_mode=mode,
                reply_markup=out.keyboard,
            )

        try:
            await self.transport.with_fallback(chat, edit, out.text)
        except TelegramBadRequest as exc:
            reason = exc.message.lower()
            if "not modified" in reason:
                return True  # a retry: the card already shows this
            if "message to edit not found" in reason or "can't be edited" in reason:
                return False
            raise
        return True

    async def _point(self, chat: Recipient, card_id: int, out: Outgoing) -> None:
        """A short line under everything that says the card far up changed (best effort)."""
        if out.pointer is None or self.tail.distance(chat.id, card_id) <= CARD_FAR:
            return
        key = (chat.id, out.thread_id, out.card or "")
        now = time.monotonic()
        if now - self._pointed.get(key, -1e18) < self.window.total_seconds():
            return
        self._pointed[key] = now
        if len(self._pointed) > POINTED_KEPT:  # forget windows long over (bounded memory)
            horizon = now - self.window.total_seconds()
            self._pointed = {k: t for k, t in self._pointed.items() if t > horizon}
        link = card_link(chat.id, out.thread_id, card_id)
        text = out.pointer
        if link is not None:
            text = Rich(f'<a href="{link}">{text.html}</a>', text.plain)
        line = Outgoing(
            rows=[],
            thread_id=out.thread_id,
            text=text,
            keyboard=None,
            silent=True,
            pins=[],
        )
        try:
            await self.transport.send(chat, line, reply_to=None if link else card_id)
        except Exception as exc:  # the card itself is updated already: the line may be lost
            log.warning("pointer to the card in chat %s not sent: %s", chat.id, exc)
