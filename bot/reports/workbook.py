"""The report's workbook: a summary sheet, then a sheet per area — one row per event, columns
named in the chat's language, times in the chat's zone, totals where they mean something (the
average minutes late / to close / to ack, the taxis' cost).

Written by XlsxWriter in constant-memory mode, as the history is read: :class:`WorkbookWriter`
takes events batch by batch (``add``) and each row goes to its sheet's file at once, so a month
of 100,000 events never sits in memory (`make bench`, section report). XlsxWriter is imported
here, when a report is made, never by a bot at rest.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.history.words import details
from storage.history import HistoryEvent

MINUTES_AREAS = ("drivers", "tasks", "escalations")  # where an event's minutes mean something
MONEY_AREAS = ("taxi",)


@dataclass(frozen=True)
class ReportWords:
    """Every text of the workbook, in the chat's language (resolved by the caller)."""

    summary_sheet: str
    area_sheets: dict[str, str]  # area -> sheet title
    time_column: str  # «Время (Europe/Moscow)», already filled
    event_column: str
    subject_column: str
    code_column: str
    minutes_columns: dict[str, str]  # area -> «Опоздание, мин» …
    money_column: str
    details_column: str
    total_row: str
    average_row: str
    period_line: str
    count_column: str
    kind_names: dict[str, str]  # kind -> its name (a kind not named shows as it is)


@dataclass
class _Sheet:
    sheet: Any  # an XlsxWriter worksheet
    row: int = 1  # the next row (0 is the header)
    events: int = 0
    minutes_sum: int = 0
    minutes_count: int = 0
    money: Decimal = Decimal(0)


class WorkbookWriter:
    def __init__(self, areas: Sequence[str], tz: ZoneInfo, words: ReportWords) -> None:
        import xlsxwriter

        self.areas = tuple(areas)
        self.tz = tz
        self.words = words
        self._buffer = io.BytesIO()
        self._book = xlsxwriter.Workbook(
            self._buffer, {"constant_memory": True, "remove_timezone": True}
        )
        self._bold = self._book.add_format({"bold": True})
        self._time = self._book.add_format({"num_format": "dd.mm.yyyy hh:mm"})
        self._money = self._book.add_format({"num_format": "#,##0.00"})
        self._summary = self._book.add_worksheet(words.summary_sheet)  # first, filled last
        self._sheets: dict[str, _Sheet] = {}
        self._kinds: dict[str, Counter[str]] = {area: Counter() for area in self.areas}
        for area in self.areas:
            sheet = self._book.add_worksheet(words.area_sheets[area])
            sheet.write_row(0, 0, self._titles(area), self._bold)
            sheet.set_column(0, 0, 17)
            sheet.set_column(1, 2, 30)
            sheet.set_column(len(self._titles(area)) - 1, len(self._titles(area)) - 1, 60)
            self._sheets[area] = _Sheet(sheet)

    def _titles(self, area: str) -> list[str]:
        w = self.words
        titles = [w.time_column, w.event_column, w.subject_column, w.code_column]
        if area in MINUTES_AREAS:
            titles.append(w.minutes_columns[area])
        if area in MONEY_AREAS:
            titles.append(w.money_column)
        return [*titles, w.details_column]

    def add(self, events: Iterable[HistoryEvent]) -> None:
        names = self.words.kind_names
        for event in events:
            target = self._sheets.get(event.area)
            if target is None:
                continue  # an area the chat does not subscribe to
            sheet, row = target.sheet, target.row
            code = event.subject_key.partition(":")[2]
            sheet.write_datetime(row, 0, event.at.astimezone(self.tz), self._time)
            sheet.write_string(row, 1, names.get(event.kind, event.kind))
            sheet.write_string(row, 2, event.subject_title or code)
            sheet.write_string(row, 3, code)
            column = 4
            if event.area in MINUTES_AREAS:
                if event.minutes is not None:
                    sheet.write_number(row, column, event.minutes)
                    target.minutes_sum += event.minutes
                    target.minutes_count += 1
                column += 1
            if event.area in MONEY_AREAS:
                if event.amount is not None:
                    sheet.write_number(row, column, float(event.amount), self._money)
                    target.money += event.amount
                column += 1
            facts = details(event)
            if facts:
                sheet.write_string(row, column, facts)
            target.row += 1
            target.events += 1
            self._kinds[event.area][event.kind] += 1

    def finish(self) -> bytes:
        """The totals under each sheet, the summary sheet, and the file."""
        w = self.words
        for area, target in self._sheets.items():
            row = target.row + 1  # a blank line, then the totals under their columns (E)
            target.sheet.write_string(row, 0, f"{w.total_row}: {target.events}", self._bold)
            if area in MINUTES_AREAS and target.minutes_count:
                average = round(target.minutes_sum / target.minutes_count)
                target.sheet.write_string(row + 1, 0, w.average_row, self._bold)
                target.sheet.write_number(row + 1, 4, average, self._bold)
            if area in MONEY_AREAS:
                target.sheet.write_string(row + 1, 0, w.total_row, self._bold)
                target.sheet.write_number(row + 1, 4, float(target.money), self._money)
        summary = self._summary
        summary.set_column(0, 0, 40)
        summary.write_string(0, 0, w.period_line)
        summary.write_row(1, 0, [w.summary_sheet, w.count_column], self._bold)
        row = 2
        for area in self.areas:
            summary.write_string(row, 0, w.area_sheets[area], self._bold)
            summary.write_number(row, 1, self._sheets[area].events, self._bold)
            row += 1
            for kind, count in self._kinds[area].most_common():
                summary.write_string(row, 0, f"  {w.kind_names.get(kind, kind)}")
                summary.write_number(row, 1, count)
                row += 1
        self._book.close()
        return self._buffer.getvalue()


def build_workbook(
    events: Iterable[HistoryEvent], areas: Sequence[str], tz: ZoneInfo, words: ReportWords
) -> bytes:
    """The whole workbook from events at hand (tests, small reports)."""
    writer = WorkbookWriter(areas, tz, words)
    writer.add(events)
    return writer.finish()
