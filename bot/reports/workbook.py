"""The report's workbook: a summary sheet, then a sheet per area — one row per event, columns
named in the chat's language, times in the chat's zone, totals where they mean something (the
taxis' cost, the average minutes late / to close / to ack).

openpyxl is imported here, inside the function, only when a report is made. The workbook is
written in write-only mode (rows streamed, not kept as cell objects): a month of 100,000 events
stays within tens of megabytes (`make bench`, section report).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from storage.history import HistoryEvent

MINUTES_AREAS = ("drivers", "tasks", "escalations")  # where an event's minutes mean something
MONEY_AREAS = ("taxi",)


@dataclass(frozen=True)
class ReportWords:
    """Every text of the workbook, in the chat's language (resolved by the caller)."""

    summary_sheet: str
    area_sheets: dict[str, str]  # area -> sheet title
    time_column: str  # «Время ({zone})» already filled
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
    kind_names: dict[str, str]  # kind -> its name
    details: dict[int, str]  # index of the event -> its facts line


def build_workbook(
    events: Sequence[HistoryEvent], areas: Sequence[str], tz: ZoneInfo, words: ReportWords
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def header(sheet: object, titles: list[str]) -> list[WriteOnlyCell]:
        cells = []
        for title in titles:
            cell = WriteOnlyCell(sheet, value=title)
            cell.font = bold
            cells.append(cell)
        return cells

    by_area: dict[str, list[int]] = {area: [] for area in areas}
    for index, event in enumerate(events):
        if event.area in by_area:
            by_area[event.area].append(index)

    summary = book.create_sheet(words.summary_sheet)
    summary.append([words.period_line])
    summary.append(header(summary, [words.summary_sheet, words.count_column]))
    for area in areas:
        summary.append([words.area_sheets[area], len(by_area[area])])
        counts: dict[str, int] = {}
        for index in by_area[area]:
            kind = events[index].kind
            counts[kind] = counts.get(kind, 0) + 1
        for kind, count in sorted(counts.items(), key=lambda item: -item[1]):
            summary.append([f"  {words.kind_names.get(kind, kind)}", count])

    for area in areas:
        sheet = book.create_sheet(words.area_sheets[area])
        titles = [words.time_column, words.event_column, words.subject_column, words.code_column]
        if area in MINUTES_AREAS:
            titles.append(words.minutes_columns[area])
        if area in MONEY_AREAS:
            titles.append(words.money_column)
        titles.append(words.details_column)
        sheet.append(header(sheet, titles))
        minutes: list[int] = []
        money = Decimal(0)
        for index in by_area[area]:
            event = events[index]
            row: list[object] = [
                event.at.astimezone(tz).replace(tzinfo=None),
                words.kind_names.get(event.kind, event.kind),
                event.subject_title or event.subject_key.partition(":")[2],
                event.subject_key.partition(":")[2],
            ]
            if area in MINUTES_AREAS:
                row.append(event.minutes)
                if event.minutes is not None:
                    minutes.append(event.minutes)
            if area in MONEY_AREAS:
                row.append(float(event.amount) if event.amount is not None else None)
                money += event.amount or Decimal(0)
            row.append(words.details.get(index, ""))
            sheet.append(row)
        # Totals under their own columns (column E: the minutes or the money).
        sheet.append([])
        sheet.append([f"{words.total_row}: {len(by_area[area])}"])
        if area in MINUTES_AREAS and minutes:
            sheet.append([words.average_row, None, None, None, round(sum(minutes) / len(minutes))])
        if area in MONEY_AREAS:
            sheet.append([words.total_row, None, None, None, float(money)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
