"""What a Bot API error on a live location means for the follow: wait, back off, or end it.

Only Telegram saying the message is gone for good ends a follow: deleted, no longer editable
(the live period ended, or it was stopped), a bad id, or a chat that refuses the bot (403). A
group that became a supergroup ("moved") keeps it under the new id, with a new live location
there. A 429 means "this chat, later"; a network or server error means "later"; anything else
is logged and retried on the next poll (the live period bounds it anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

# Telegram's descriptions (lower case) for a live location that can never be edited again.
GONE_MESSAGES: Final = (
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
    "message not found",
    "chat not found",
)
NOT_MODIFIED: Final = "message is not modified"

Verdict = Literal["done", "flood", "network", "gone", "moved", "retry"]


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    retry_after: int = 0  # seconds, for "flood"
    new_chat_id: int = 0  # the supergroup's id, for "moved"


def judge(exc: TelegramAPIError) -> Outcome:
    if isinstance(exc, TelegramRetryAfter):
        return Outcome("flood", exc.retry_after)
    if isinstance(exc, TelegramNetworkError | TelegramServerError):
        return Outcome("network")
    if isinstance(exc, TelegramMigrateToChat):
        return Outcome("moved", new_chat_id=exc.migrate_to_chat_id)
    if isinstance(exc, TelegramForbiddenError):
        return Outcome("gone")
    description = exc.message.lower()
    if NOT_MODIFIED in description:
        return Outcome("done")  # it already shows that point
    if any(gone in description for gone in GONE_MESSAGES):
        return Outcome("gone")
    return Outcome("retry")
