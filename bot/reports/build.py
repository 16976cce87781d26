"""Building a report: the period's history streamed into the workbook and the chart's counts,
batch by batch (the writing in a worker thread), then the chart drawn. Called inside the
chat's i18n context (its texts are resolved here)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.alerts.kinds import KINDS
from bot.history.recorder import ACTION_AREAS
from bot.history.words import event_name
from bot.reports.chart import ChartWords, DailyCounter, render_png
from bot.reports.period import Period
from bot.reports.workbook import ReportWords, WorkbookWriter
from storage import Repos


def all_kind_names(locale: str) -> dict[str, str]:
    """Every kind a history event may have (alert kinds and the bot's actions), named."""
    return {kind: event_name(kind, locale) for kind in (*KINDS, *ACTION_AREAS)}


def _words(
    areas: Sequence[str], period: Period, tz: ZoneInfo, locale: str
) -> tuple[ReportWords, ChartWords]:
    names = all_kind_names(locale)
    shown = {"first": f"{period.first_day:%d.%m.%Y}", "last": f"{period.last_day:%d.%m.%Y}"}
    workbook = ReportWords(
        summary_sheet=_("report.sheet.summary"),
        area_sheets={area: _(f"report.sheet.{area}") for area in areas},
        time_column=_("report.col.time").format(zone=tz.key),
        event_column=_("report.col.event"),
        subject_column=_("report.col.subject"),
        code_column=_("report.col.code"),
        minutes_columns={
            "drivers": _("report.col.minutes_late"),
            "tasks": _("report.col.minutes_to_close"),
            "escalations": _("report.col.minutes_to_ack"),
        },
        money_column=_("report.col.money"),
        details_column=_("report.col.details"),
        total_row=_("report.total"),
        average_row=_("report.average"),
        period_line=_("report.period").format(zone=tz.key, **shown),
        count_column=_("report.col.count"),
        kind_names=names,
    )
    chart = ChartWords(
        title=_("report.chart.title").format(**shown),
        on_time_title=_("report.chart.on_time"),
        on_time_axis=_("report.chart.on_time_axis"),
        alerts_title=_("report.chart.alerts"),
        alerts_axis=_("report.chart.alerts_axis"),
        other_kinds=_("report.chart.other"),
        kind_names=names,
    )
    return workbook, chart


@dataclass(frozen=True)
class BuiltReport:
    xlsx: bytes
    png: bytes
    events: int


async def build_report(
    repos: Repos,
    chat_id: int,
    thread_id: int,
    areas: Sequence[str],
    period: Period,
    tz: ZoneInfo,
    locale: str,
) -> BuiltReport:
    """Stream the period's history into the workbook and the chart's counts, batch by batch,
    the writing in a worker thread; then draw the chart."""
    workbook_words, chart_words = _words(areas, period, tz, locale)
    writer = await asyncio.to_thread(WorkbookWriter, areas, tz, workbook_words)
    counter = DailyCounter(tz, period.first_day, period.last_day)
    count = 0
    stream = repos.history.stream_between(chat_id, thread_id, period.start, period.end)
    async for batch in stream:
        events = [e for e in batch if e.area in areas]
        await asyncio.to_thread(writer.add, events)
        counter.add(events)
        count += len(events)
    xlsx = await asyncio.to_thread(writer.finish)
    png = await asyncio.to_thread(render_png, counter.series(), chart_words)
    return BuiltReport(xlsx, png, count)
