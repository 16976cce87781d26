"""What the bot knows of the bottom of each chat: its newest message, and the wizard questions
(ForceReply prompts) still waiting for an answer there.

It learns from every Bot API call the bot makes (a request middleware: the alerts, the command
replies, the prompts) and from every message it receives (a dispatcher middleware). Under
privacy mode a group's chatter is not seen, so "newest" is the newest the bot knows of.

- The alert sender asks how far up a status card is (``distance``): a card edited far up the
  chat gets a short pointer line where people look.
- After alerts land in a chat, a wizard question they pushed up is asked again as the newest
  message (``stale_prompts``), while its step is still open: the person asked can answer it
  without scrolling, and their app's reply field opens on it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import ForceReply, Message, TelegramObject

if TYPE_CHECKING:
    from aiogram import Bot

# (chat, user, topic) -> whether that person's wizard step there is still open
StepOpen = Callable[[int, int, int], Awaitable[bool]]


@dataclass(frozen=True)
class OpenPrompt:
    chat_id: int
    thread_id: int
    user_id: int
    message_id: int
    html_text: str


def topic_of(message: Message) -> int:
    return (message.message_thread_id if message.is_topic_message else None) or 0


def asked_user(message: Message) -> int | None:
    """The person a ForceReply question mentions (bot/prompts.ask mentions whom it asks)."""
    for entity in message.entities or []:
        if entity.type == "text_mention" and entity.user is not None:
            return entity.user.id
    return None


class ChatTail(BaseRequestMiddleware):
    def __init__(self) -> None:
        self._newest: dict[int, int] = {}
        self._prompts: dict[tuple[int, int], dict[int, OpenPrompt]] = {}
        self.step_open: StepOpen | None = None  # set once the dispatcher (its FSM) exists

    # --- learning ---------------------------------------------------------------------------
    def saw(self, chat_id: int, message_id: int) -> None:
        if message_id > self._newest.get(chat_id, 0):
            self._newest[chat_id] = message_id

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        response = await make_request(bot, method)
        # aiogram hands the middleware the method's result itself (typed as a Response).
        sent: object = response
        if isinstance(sent, Message):
            self.saw(sent.chat.id, sent.message_id)
            if isinstance(method, SendMessage) and isinstance(method.reply_markup, ForceReply):
                self._asked(sent)
        return response

    def _asked(self, question: Message) -> None:
        user = asked_user(question)
        if user is None:
            return  # a question to anyone: nobody's step to keep reachable
        key = (question.chat.id, topic_of(question))
        self._prompts.setdefault(key, {})[user] = OpenPrompt(
            question.chat.id, key[1], user, question.message_id, question.html_text
        )

    async def incoming(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Dispatcher middleware for messages: the chat's newest message, and a person who
        writes has answered (or left) the question they were asked there."""
        if isinstance(event, Message):
            self.saw(event.chat.id, event.message_id)
            if event.from_user is not None:
                self._prompts.get((event.chat.id, topic_of(event)), {}).pop(
                    event.from_user.id, None
                )
        return await handler(event, data)

    # --- asking -----------------------------------------------------------------------------
    def distance(self, chat_id: int, message_id: int) -> int:
        """How many messages (that the bot knows of) came after ``message_id``."""
        return max(0, self._newest.get(chat_id, message_id) - message_id)

    async def stale_prompts(self, chat_id: int, thread_id: int) -> list[OpenPrompt]:
        """The open questions in this chat (topic) that are no longer its newest message and
        whose step is still open; questions whose step closed are forgotten."""
        prompts = self._prompts.get((chat_id, thread_id), {})
        if self.step_open is None:
            return []  # no way to tell an open step from a finished one: ask nothing again
        stale = []
        for user, prompt in list(prompts.items()):
            if not await self.step_open(chat_id, user, thread_id):
                prompts.pop(user, None)
                continue
            if prompt.message_id < self._newest.get(chat_id, 0):
                stale.append(prompt)
        return stale
