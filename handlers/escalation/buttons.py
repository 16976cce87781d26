"""«✅ Принял» / «🔕 Тишина 1 ч» under an escalation's copy: in private or its repeat in the chat.

Either ends the chain everywhere (bot/escalation/desk.py). In a group the alert's own role rule
holds (a viewer's press is answered, not obeyed); in private, whoever the copy reached may take
it — the on-call person always may.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.buttons import pressed_on_its_message
from bot.callbacks import EscalationCb
from bot.escalation.desk import ACK, SILENCE
from bot.escalation.service import Escalation
from storage import Repos
from storage.users import User


async def take_escalation(
    callback: CallbackQuery,
    callback_data: EscalationCb,
    repos: Repos,
    user: User,
    escalation: Escalation,
) -> None:
    # The button is one of the message's own (Telegram says what the message carries): the
    # bot put it under a copy of this chain, whether or not that copy is recorded yet (a press
    # may come before the sending step wrote it down).
    message = pressed_on_its_message(callback)
    chain = await repos.escalations.get(callback_data.id) if message is not None else None
    if message is None or chain is None:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    act = ACK if callback_data.act == "a" else SILENCE
    if chain.state != "open" or not await escalation.desk.take(chain, user, act, on_copy=True):
        await callback.answer(_("esc.already_closed"))
        return
    if await repos.escalations.copy_at(message.chat.id, message.message_id) is None:
        await escalation.desk.mark_unrecorded(message, chain.id)  # pressed before recorded
    await callback.answer(_("esc.taken"))
