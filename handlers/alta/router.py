"""Alta's router: every command, wizard step and button of the service."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.policy import rule
from handlers.alta.add import AltaFlow, numbers_typed, setting_pressed, wagon_add
from handlers.alta.callbacks import AltaAddCb, WagonsPageCb
from handlers.alta.commands import list_wagons, wagon, wagon_cancel, wagons_page_pressed

ADD = r"(?i)^\s*add(\s|$)"
CANCEL = r"(?i)^\s*cancel(\s|$)"


def make_router() -> Router:
    router = Router(name="alta")
    typed = F.text & ~F.text.startswith("/")
    router.message.register(
        wagon_add, Command("wagon", magic=F.args.regexp(ADD)), flags=rule("wagon add")
    )
    router.message.register(
        wagon_cancel, Command("wagon", magic=F.args.regexp(CANCEL)), flags=rule("wagon cancel")
    )
    router.message.register(wagon, Command("wagon"), flags=rule("wagon"))
    router.message.register(numbers_typed, AltaFlow.numbers, typed, flags=rule("wagon add"))
    router.callback_query.register(
        setting_pressed, AltaAddCb.filter(), flags=rule("button.alta_add_settings")
    )
    router.message.register(list_wagons, Command("wagons"), flags=rule("wagons"))
    router.callback_query.register(
        wagons_page_pressed, WagonsPageCb.filter(), flags=rule("button.alta_wagons_page")
    )
    return router
