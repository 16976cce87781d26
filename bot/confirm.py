"""One-shot "are you sure?" buttons.

:func:`ask_to_confirm` stores a confirmation and shows Yes / Cancel. Pressing Yes is checked
again at that moment (handlers/confirmations.py): the presser must still hold the role the
action's rule needs (bot/policy.py), its integration must still be on, and the confirmation must
be younger than :data:`CONFIRM_TTL`. Then the button claims it atomically
(storage.confirmations), so a double tap, or Telegram re-sending the tap after a network error,
performs the action once.

Routers register what an action does with :func:`on_confirm`. An action is called like a
handler: it names what it needs as keyword arguments (``movizor: MovizorClient``,
``repos: Repos``) and gets the callback and the claimed confirmation first; it returns the text
that replaces the question.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram.dispatcher.event.handler import CallableObject
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ConfirmCb
from bot.policy import RULES
from storage import Repos

# A confirmation older than this is refused: the situation it described may have changed.
CONFIRM_TTL = timedelta(minutes=10)

ConfirmAction = Callable[..., Awaitable[str]]


@dataclass(frozen=True)
class ConfirmSpec:
    handler: CallableObject
    rule: str  # the access rule (bot/policy.py) the presser must satisfy when pressing


ACTIONS: dict[str, ConfirmSpec] = {}
# What pressing Cancel says for an action whose "Отменено." would not be true (the thing it
# asked about may have happened anyway): called like the action, returns the text.
DECLINES: dict[str, CallableObject] = {}


def on_confirm(action: str, *, rule: str) -> Callable[[ConfirmAction], ConfirmAction]:
    if rule not in RULES:
        raise KeyError(f"no access rule {rule!r} in bot/policy.py")

    def decorate(fn: ConfirmAction) -> ConfirmAction:
        ACTIONS[action] = ConfirmSpec(CallableObject(fn), rule)
        return fn

    return decorate


def on_decline(action: str) -> Callable[[ConfirmAction], ConfirmAction]:
    def decorate(fn: ConfirmAction) -> ConfirmAction:
        DECLINES[action] = CallableObject(fn)
        return fn

    return decorate


# Buttons above Yes / Cancel, made for the confirmation's token (a summary's "change" buttons).
ExtraRows = Callable[[str], list[list[InlineKeyboardButton]]]


def confirm_keyboard(
    token: str,
    *,
    yes_text: str | None = None,
    no_text: str | None = None,
    rows: list[list[InlineKeyboardButton]] | None = None,
) -> InlineKeyboardMarkup:
    """Yes / Cancel of confirmation ``token`` (labels default to «Да» / «Отмена»), under
    ``rows`` of other buttons."""
    keyboard = InlineKeyboardBuilder()
    for row in rows or []:
        keyboard.row(*row)
    keyboard.row(
        InlineKeyboardButton(
            text=yes_text or _("btn.yes"), callback_data=ConfirmCb(token=token, yes=True).pack()
        ),
        InlineKeyboardButton(
            text=no_text or _("btn.no"), callback_data=ConfirmCb(token=token, yes=False).pack()
        ),
    )
    return keyboard.as_markup()


async def ask_to_confirm(
    message: Message,
    repos: Repos,
    *,
    user_id: int,
    action: str,
    payload: dict[str, Any],
    question: str,
    yes_text: str | None = None,
    no_text: str | None = None,
    extra_rows: ExtraRows | None = None,
) -> str:
    """Store the confirmation and ask; returns its token. ``extra_rows`` adds buttons of the
    caller's own above Yes / Cancel (they may change the payload before Yes:
    ``repos.confirmations.update_payload``)."""
    if action not in ACTIONS:
        raise KeyError(f"no confirm action {action!r}")
    token = await repos.confirmations.create(
        user_id=user_id, chat_id=message.chat.id, action=action, payload=payload
    )
    keyboard = confirm_keyboard(
        token,
        yes_text=yes_text,
        no_text=no_text,
        rows=extra_rows(token) if extra_rows is not None else None,
    )
    await message.answer(question, reply_markup=keyboard)
    return token
