"""The Yes / Cancel buttons of one-shot confirmations (see bot/confirm.py).

Yes is checked again when pressed, as the command itself was: the confirmation is the presser's
and unused, younger than CONFIRM_TTL, the presser still holds the role the action's rule needs in
this chat, and the action's integration is still configured. Otherwise the press is answered
with the reason and nothing happens.

Telegram keeps a press answerable for about 15 seconds, and a vendor may take longer. So Yes is
answered at once, the question becomes «⏳ Выполняю…» without buttons (a second tap finds
nothing to press), and only then does the action run; its result replaces that line.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.types import CallbackQuery, Message, Update
from aiogram.utils.i18n import gettext as _

from bot.access import role_name
from bot.callbacks import ConfirmCb
from bot.confirm import ACTIONS, CONFIRM_TTL, DECLINES
from bot.i18n import PoI18n
from bot.metrics import Metrics
from bot.policy import allows, rule, rule_of
from bot.services import title_of
from handlers.errors import failure_html, record_failure
from storage import Repos
from storage.confirmations import Confirmation
from storage.db import utcnow
from storage.users import User


async def confirmation_pressed(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    repos: Repos,
    user: User,
    **data: Any,
) -> None:
    pending = await repos.confirmations.pending(callback_data.token, user_id=user.id)
    if pending is None:
        await callback.answer(_("confirm.used"), show_alert=True)
        return
    refusal = None
    if callback_data.yes:
        refusal = refusal_reason(pending.action, pending.age(utcnow()) > CONFIRM_TTL, user, data)
    claimed = await repos.confirmations.claim(callback_data.token, user_id=user.id)
    if claimed is None:
        await callback.answer(_("confirm.used"), show_alert=True)
        return
    data.update(repos=repos, user=user)
    if refusal is None and callback_data.yes:
        await act(callback, claimed, data)
        return
    if refusal is not None:
        result = refusal
    elif claimed.action in DECLINES:  # Cancel that says more than «Отменено» (quick: no vendor)
        result = await DECLINES[claimed.action].call(callback, claimed, **data)
    else:
        result = _("confirm.cancelled")
    if isinstance(callback.message, Message):
        await callback.message.edit_text(result, reply_markup=None)
    await callback.answer()


async def act(callback: CallbackQuery, claimed: Confirmation, data: dict[str, Any]) -> None:
    """Answer the press and drop the buttons first, then run the action; its result (or what
    went wrong) replaces the question."""
    await callback.answer(_("confirm.working"))
    message = callback.message if isinstance(callback.message, Message) else None
    if message is not None:
        await message.edit_text(_("confirm.working"), reply_markup=None)
    try:
        result = await ACTIONS[claimed.action].handler.call(callback, claimed, **data)
    except Exception as exc:  # the press is answered: the boundary's popup can no longer be
        update: Update = data["event_update"]
        metrics: Metrics = data["metrics"]
        i18n: PoI18n = data["i18n"]
        record_failure(exc, update, metrics)
        result = failure_html(exc, i18n.current_locale, i18n)
    if message is not None:
        await message.edit_text(result, reply_markup=None)


def refusal_reason(action: str, expired: bool, user: User, data: dict[str, Any]) -> str | None:
    """Why pressing Yes must not act now, or None."""
    if expired:
        return _("confirm.expired").format(minutes=int(CONFIRM_TTL.total_seconds() // 60))
    needed = rule_of(ACTIONS[action].rule)
    chat = data.get("event_chat")
    required = needed.required(chat.type if chat is not None else None)
    if not allows(user.role, required):
        assert required is not None
        return _("confirm.no_longer_allowed").format(
            required=role_name(required), current=role_name(user.role)
        )
    off = needed.unconfigured(lambda name: data.get(name) is not None)
    if off:
        return _("error.integration_off").format(name=" / ".join(title_of(s) for s in off))
    return None


def make_router() -> Router:
    router = Router(name="confirmations")
    router.callback_query.register(
        confirmation_pressed, ConfirmCb.filter(), flags=rule("button.confirm")
    )
    return router
