"""Digests and reports in the chat: /digest (the chat's hour, or off), /report (a period as
XLSX and a chart) and the digest's buttons that open each area's list."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command

from bot.callbacks import DigestListCb
from bot.policy import rule
from handlers.digests.commands import digest
from handlers.digests.lists import open_area
from handlers.digests.report import report


def make_router() -> Router:
    router = Router(name="digests")
    router.message.register(digest, Command("digest"), flags=rule("digest"))
    router.message.register(report, Command("report"), flags=rule("report"))
    router.callback_query.register(
        open_area, DigestListCb.filter(), flags=rule("button.digest_list")
    )
    return router
