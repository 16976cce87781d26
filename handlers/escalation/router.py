"""The escalation router: /escalation, /oncall and the copies' buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.callbacks import EscalationCb
from bot.escalation.settings import SECTION_CALLBACK
from bot.policy import rule
from handlers.escalation.buttons import take_escalation
from handlers.escalation.chain import escalation_command, open_section
from handlers.escalation.oncall import oncall


def make_router() -> Router:
    router = Router(name="escalation")
    router.message.register(escalation_command, Command("escalation"), flags=rule("escalation"))
    router.message.register(oncall, Command("oncall"), flags=rule("oncall"))
    router.callback_query.register(
        take_escalation, EscalationCb.filter(), flags=rule("button.escalation")
    )
    router.callback_query.register(
        open_section, F.data == SECTION_CALLBACK, flags=rule("button.escalation_section")
    )
    return router
