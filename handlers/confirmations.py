"""The Yes / Cancel buttons of one-shot confirmations (see bot/confirm.py)."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb
from bot.confirm import ACTIONS
from bot.policy import rule
from storage import Repos
from storage.users import User


async def confirmation_pressed(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    repos: Repos,
    user: User,
    **data: Any,
) -> None:
    claimed = await repos.confirmations.claim(callback_data.token, user_id=user.id)
    if claimed is None:
        await callback.answer(_("confirm.used"), show_alert=True)
        return
    if callback_data.yes:
        data.update(repos=repos, user=user)
        result = await ACTIONS[claimed.action](callback, claimed, data)
    else:
        result = _("confirm.cancelled")
    if isinstance(callback.message, Message):
        await callback.message.edit_text(result, reply_markup=None)
    await callback.answer()


def make_router() -> Router:
    router = Router(name="confirmations")
    router.callback_query.register(
        confirmation_pressed, ConfirmCb.filter(), flags=rule("button.confirm")
    )
    return router
