"""The report's chart: the drivers' on-time share per day and the alerts by kind per day, as a
PNG — where a manager would rather look than read.

The numbers (:func:`daily_series`) are pure and tested as numbers; :func:`render_png` draws them
with matplotlib's Agg backend on a Figure of its own (no pyplot: no global state, safe in a
worker thread). matplotlib is imported inside it, only when a report is made.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.kinds import KINDS
from bot.digests.content import ARRIVAL_KINDS
from storage.history import HistoryEvent

TOP_KINDS = 6  # kinds drawn by name; the rest are one "other" band


@dataclass(frozen=True)
class DailySeries:
    days: list[date]
    on_time_share: list[float | None]  # per day: arrived drivers not late that day, 0..1
    alerts_by_kind: dict[str, list[int]]  # kind -> alerts per day (the TOP_KINDS, then "")


class DailyCounter:
    """Counts the chart's numbers as the history streams past (:meth:`add`, batch by batch)."""

    def __init__(self, tz: ZoneInfo, first: date, last: date) -> None:
        self.tz = tz
        self.days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        self._index = {day: n for n, day in enumerate(self.days)}
        self._arrived: list[set[str]] = [set() for _ in self.days]
        self._late: list[set[str]] = [set() for _ in self.days]
        self._counts: dict[str, list[int]] = {}

    def add(self, events: Iterable[HistoryEvent]) -> None:
        for event in events:
            n = self._index.get(event.at.astimezone(self.tz).date())
            if n is None:
                continue
            if event.kind in ARRIVAL_KINDS:
                self._arrived[n].add(event.subject_key)
            elif event.kind == "driver.late":
                self._late[n].add(event.subject_key)
            if event.kind in KINDS:
                self._counts.setdefault(event.kind, [0] * len(self.days))[n] += 1

    def series(self) -> DailySeries:
        shares = [
            (len(came - was_late) / len(came)) if came else None
            for came, was_late in zip(self._arrived, self._late, strict=True)
        ]
        counts = self._counts
        ranked = sorted(counts, key=lambda kind: -sum(counts[kind]))
        by_kind = {kind: counts[kind] for kind in ranked[:TOP_KINDS]}
        rest = ranked[TOP_KINDS:]
        if rest:
            by_kind[""] = [sum(counts[kind][n] for kind in rest) for n in range(len(self.days))]
        return DailySeries(self.days, shares, by_kind)


def daily_series(
    events: Sequence[HistoryEvent], tz: ZoneInfo, first: date, last: date
) -> DailySeries:
    counter = DailyCounter(tz, first, last)
    counter.add(events)
    return counter.series()


@dataclass(frozen=True)
class ChartWords:
    title: str
    on_time_title: str
    on_time_axis: str
    alerts_title: str
    alerts_axis: str
    other_kinds: str
    kind_names: dict[str, str]


def render_png(series: DailySeries, words: ChartWords) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = [f"{day:%d.%m}" for day in series.days]
    positions = list(range(len(labels)))
    figure = Figure(figsize=(10, 7), dpi=100, layout="constrained")
    figure.suptitle(words.title)
    on_time, alerts = figure.subplots(2, 1, sharex=True)

    shares = [None if s is None else round(s * 100, 1) for s in series.on_time_share]
    drawn = [(x, s) for x, s in zip(positions, shares, strict=True) if s is not None]
    if drawn:
        on_time.plot([x for x, _ in drawn], [s for _, s in drawn], marker="o", color="#2e7d32")
    on_time.set_ylim(0, 105)
    on_time.set_title(words.on_time_title)
    on_time.set_ylabel(words.on_time_axis)
    on_time.grid(alpha=0.3)

    bottom = [0] * len(positions)
    for kind, values in series.alerts_by_kind.items():
        name = words.kind_names.get(kind, kind) if kind else words.other_kinds
        alerts.bar(positions, values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    alerts.set_title(words.alerts_title)
    alerts.set_ylabel(words.alerts_axis)
    if series.alerts_by_kind:
        alerts.legend(fontsize="small", loc="upper left")
    step = max(1, len(labels) // 15)  # at most ~15 date labels
    alerts.set_xticks(positions[::step], labels[::step], rotation=45)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
