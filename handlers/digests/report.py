"""/report [день|неделя|месяц|дд.мм-дд.мм]: the chat's history over a period as an XLSX file
(a sheet per area) and a chart (a PNG photo), both in the chat's zone and language.

Bad input is answered plainly and nothing is built: a period in the future, reversed, longer
than the history is kept (HISTORY_DAYS), a date that does not exist, a chat with no
subscriptions. The workbook and the chart are built in a worker thread (a month of a busy chat
takes seconds), while the chat sees «Готовлю отчёт…».
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.digests.content import subscribed_areas
from bot.digests.job import kind_areas
from bot.digests.settings import HISTORY_DAYS
from bot.i18n import PoI18n
from bot.reports.build import build_report
from bot.reports.period import PeriodRefused, parse_period
from bot.settings.values import SettingsValues
from bot.texts import answer_usage
from handlers.subscriptions import chat_target
from storage import Repos
from storage.db import utcnow

log = logging.getLogger(__name__)

DOCUMENT_LIMIT = 50 * 1024 * 1024  # Telegram: a bot sends files up to 50 MB
PHOTO_LIMIT = 10 * 1024 * 1024  # and photos up to 10 MB


def refusal_text(refused: PeriodRefused) -> str:
    return _(refused.key).format(**{k: html.quote(v) for k, v in refused.values.items()})


async def report(
    message: Message,
    command: CommandObject,
    repos: Repos,
    i18n: PoI18n,
    timezone: ZoneInfo,
    settings_values: SettingsValues,
) -> None:
    args = command.args or ""
    chat_id, thread_id = chat_target(message)
    days: float = await settings_values.get(HISTORY_DAYS)
    history_days = int(days)
    now = utcnow()
    period = parse_period(args, now, timezone, history_days)
    if isinstance(period, PeriodRefused):
        await message.answer(refusal_text(period))
        if period.key == "report.bad.format":
            await answer_usage(message, "report")
        return
    subscriptions = await repos.subscriptions.for_chat(chat_id, thread_id)
    areas = subscribed_areas([sub.selector for sub in subscriptions], kind_areas())
    if not areas:
        await message.answer(_("report.no_subscriptions"))
        return
    progress = await message.answer(_("report.making"))
    built = await build_report(
        repos, chat_id, thread_id, areas, period, timezone, i18n.current_locale
    )
    xlsx, png = built.xlsx, built.png
    name = f"report_{period.first_day:%Y%m%d}-{period.last_day:%Y%m%d}.xlsx"
    caption = _("report.caption").format(
        first=f"{period.first_day:%d.%m.%Y}", last=f"{period.last_day:%d.%m.%Y}", count=built.events
    )
    if len(xlsx) > DOCUMENT_LIMIT:
        await progress.edit_text(_("report.too_big"))
        return
    await message.answer_document(BufferedInputFile(xlsx, filename=name), caption=caption)
    if len(png) <= PHOTO_LIMIT:
        await message.answer_photo(BufferedInputFile(png, filename="report.png"))
    await progress.edit_text(_("report.done").format(count=built.events))
    log.info("report for chat %s: %s events, %s bytes", chat_id, built.events, len(xlsx))
