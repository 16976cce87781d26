"""The digest's content against a seeded history, its words, and the report's parts: the
period rules, the workbook opened with openpyxl, the chart a valid PNG."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.render import RenderContext
from bot.digests.content import subscribed_areas, summarize
from bot.digests.job import kind_areas
from bot.digests.render import TELEGRAM_LIMIT, digest_keyboard, digest_text
from bot.i18n import build_i18n
from bot.reports.chart import ChartWords, daily_series, render_png
from bot.reports.period import Period, PeriodRefused, parse_period
from bot.reports.workbook import ReportWords, build_workbook
from storage.history import HistoryEvent

MSK = ZoneInfo("Europe/Moscow")
END = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
START = END - timedelta(hours=24)
ALL = ("drivers", "tasks", "taxi", "wagons", "escalations")


def at(hours_before_end: float) -> datetime:
    return END - timedelta(hours=hours_before_end)


def ev(kind: str, area: str, subject: str, hours: float, **options) -> HistoryEvent:
    key = options.pop("key", f"{kind}:{subject}:{hours}")
    return HistoryEvent(-1, 0, at(hours), area, kind, subject, key, **options)


def seeded() -> list[HistoryEvent]:
    return [
        # Drivers: 1 late 2 h before arriving, 2 late and not arrived yet (10 h till the end),
        # 3 late with the feed's own minutes; 4 left the route; 1, 5 arrived.
        ev("driver.late", "drivers", "driver:1", 20, subject_title="Петров"),
        ev("driver.late", "drivers", "driver:1", 19.5, subject_title="Петров"),
        ev("driver.arrived", "drivers", "driver:1", 18, subject_title="Петров"),
        ev("driver.late", "drivers", "driver:2", 10, subject_title="Волков"),
        ev("driver.late", "drivers", "driver:3", 5, subject_title="Сидоров", minutes=35),
        ev("driver.left_route", "drivers", "driver:4", 4),
        ev("driver.arrived", "drivers", "driver:5", 3),
        # Tasks: two created, one of them closed in 30 min, one overdue and still open.
        ev("task.created", "tasks", "task:1", 12, fields={"planned_end": at(11).isoformat()}),
        ev("action.task_created", "tasks", "task:2", 8),
        ev("task.closed", "tasks", "task:2", 7.5, minutes=30),
        ev("action.task_closed", "tasks", "task:9", 2, minutes=90),
        # Taxi: two orders (one priced), one done, one cancelled.
        ev("action.taxi_ordered", "taxi", "order:1", 6, amount=Decimal("450.50")),
        ev("action.taxi_ordered", "taxi", "order:2", 5, amount=Decimal("1000")),
        ev("taxi.finished", "taxi", "order:1", 4),
        ev("taxi.aborted", "taxi", "order:2", 3),
        # Wagons: one moving then arrived, one moving, one without data, one put on tracking.
        ev("wagon.moved", "wagons", "wagon:1", 9),
        ev("wagon.arrived", "wagons", "wagon:1", 2),
        ev("wagon.moved", "wagons", "wagon:2", 1),
        ev("wagon.no_data", "wagons", "wagon:3", 1),
        ev("action.wagon_on", "wagons", "wagon:4", 1),
        # Escalations: acked in 4 and 10 minutes.
        ev("escalation.acked", "escalations", "driver:2", 9, minutes=4),
        ev("escalation.acked", "escalations", "driver:4", 3, minutes=10),
        # Outside the window: not counted.
        ev("driver.late", "drivers", "driver:8", 30),
    ]


def test_the_summary_counts_each_area_from_the_seeded_history():
    s = summarize(seeded(), ALL, START, END)
    assert (s.drivers.late, s.drivers.left_route, s.drivers.arrived) == (3, 1, 2)
    # Most minutes first: Волков late for 10 h (still on the way), Петров 2 h, Сидоров 35 min.
    assert [(d.title, d.minutes) for d in s.drivers.worst] == [
        ("Волков", 600),
        ("Петров", 120),
        ("Сидоров", 35),
    ]
    assert (s.tasks.created, s.tasks.closed, s.tasks.overdue) == (2, 2, 1)
    assert s.tasks.median_close_minutes == 60
    assert (s.taxi.orders, s.taxi.done, s.taxi.cancelled) == (2, 1, 1)
    assert s.taxi.cost == Decimal("1450.50")
    w = s.wagons
    assert (w.arrived, w.moving, w.no_report, w.put_on, w.taken_off) == (1, 1, 1, 1, 0)
    assert (s.escalations.acked, s.escalations.median_ack_minutes) == (2, 7)
    assert not s.empty


def test_only_the_areas_the_chat_subscribes_to_are_summed_up():
    areas = subscribed_areas(["area:taxi", "kind:driver.late"], kind_areas())
    assert areas == ("drivers", "taxi", "escalations")
    s = summarize(seeded(), areas, START, END)
    assert s.tasks.created == 0 and s.taxi.orders == 2
    assert subscribed_areas([], kind_areas()) == ()
    assert subscribed_areas(["all"], kind_areas()) == ALL


@pytest.fixture(scope="module")
def i18n():
    return build_i18n("ru")


def test_the_digest_reads_in_russian_with_a_button_per_area_and_fits_telegram(i18n):
    ctx = RenderContext(i18n, "ru", MSK)
    s = summarize(seeded(), ALL, START, END)
    text = digest_text(s, ctx, late_from=None)
    assert "01.12 09:00 – 02.12 09:00" in text.plain
    assert "опаздывали 3, уходили с маршрута 1, прибыли 2" in text.plain
    assert "1. Волков — опоздание 10 ч 0 мин" in text.plain
    assert "медиана до закрытия 1 ч 0 мин" in text.plain
    assert "1\u00a0450,50\u00a0₽" in text.plain
    assert "подтверждено 2; медиана до подтверждения 7 мин" in text.plain
    assert "С опозданием" not in text.plain
    keyboard = digest_keyboard(s, ctx)
    assert keyboard is not None
    buttons = [b for row in keyboard.inline_keyboard for b in row]
    assert [b.text for b in buttons] == [
        "🚚 Водители",
        "🛠 Задачи",
        "🚕 Такси",
        "🚂 Вагоны",
        "🚨 Эскалации",
    ]
    assert all(len((b.callback_data or "").encode()) <= 64 for b in buttons)
    late = digest_text(s, ctx, late_from=END - timedelta(hours=3))
    assert "⏰ С опозданием: бот не работал в 02.12 06:00" in late.plain


def test_a_day_of_thousands_of_events_with_long_titles_still_fits_one_message(i18n):
    ctx = RenderContext(i18n, "en", MSK)
    events = [
        ev("driver.late", "drivers", f"driver:{n}", 1 + n / 1000, subject_title="Я" * 300)
        for n in range(5000)
    ]
    text = digest_text(summarize(events, ALL, START, END), ctx, late_from=END)
    assert text.length < TELEGRAM_LIMIT
    assert "late 5000" in text.plain


def test_an_empty_day_says_so_in_one_line(i18n):
    ctx = RenderContext(i18n, "ru", MSK)
    s = summarize([], ("drivers",), START, END)
    assert s.empty
    assert "ничего не произошло" in digest_text(s, ctx, late_from=None).plain
    assert digest_keyboard(s, ctx) is None


NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # 15:00 in Moscow


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("", date(2026, 11, 26), date(2026, 12, 2)),
        ("неделя", date(2026, 11, 26), date(2026, 12, 2)),
        ("день", date(2026, 12, 2), date(2026, 12, 2)),
        ("месяц", date(2026, 11, 3), date(2026, 12, 2)),
        ("01.11-15.11", date(2026, 11, 1), date(2026, 11, 15)),
        ("25.11 – 05.12", date(2026, 11, 25), date(2026, 12, 2)),  # the future part: till now
    ],
)
def test_report_periods_in_the_chats_zone(text, first, last):
    period = parse_period(text, NOW, MSK, 90)
    assert isinstance(period, Period)
    assert (period.first_day, period.last_day) == (first, last)
    assert period.start == datetime.combine(first, datetime.min.time(), tzinfo=MSK)
    assert period.end <= NOW


@pytest.mark.parametrize(
    ("text", "days", "key"),
    [
        ("10.12-20.12", 90, "report.bad.future"),
        ("15.11-01.11", 90, "report.bad.reversed"),
        ("01.06-01.07", 90, "report.bad.too_long"),
        ("месяц", 10, "report.bad.too_long"),
        ("31.02-01.03", 90, "report.bad.date"),
        ("вчера", 90, "report.bad.format"),
    ],
)
def test_bad_report_periods_are_refused_with_their_rule(text, days, key):
    refused = parse_period(text, NOW, MSK, days)
    assert isinstance(refused, PeriodRefused) and refused.key == key


def test_a_range_across_new_year_starts_in_the_year_before():
    january = datetime(2027, 1, 3, 9, 0, tzinfo=UTC)
    period = parse_period("28.12-02.01", january, MSK, 90)
    assert isinstance(period, Period)
    assert (period.first_day, period.last_day) == (date(2026, 12, 28), date(2027, 1, 2))
    refused = parse_period("28.12-02.01", january, MSK, 3)  # that December is not kept
    assert isinstance(refused, PeriodRefused) and refused.key == "report.bad.reversed"


def words() -> ReportWords:
    return ReportWords(
        summary_sheet="Сводка",
        area_sheets={
            "drivers": "Водители",
            "tasks": "Задачи",
            "taxi": "Такси",
            "wagons": "Вагоны",
            "escalations": "Эскалации",
        },
        time_column="Время (Europe/Moscow)",
        event_column="Событие",
        subject_column="Объект",
        code_column="Номер",
        minutes_columns={
            "drivers": "Опоздание, мин",
            "tasks": "До закрытия, мин",
            "escalations": "До подтверждения, мин",
        },
        money_column="Сумма, ₽",
        details_column="Подробности",
        total_row="Итого",
        average_row="В среднем",
        period_line="Период",
        count_column="Событий",
        kind_names={"driver.late": "Водитель опаздывает"},
    )


def test_the_workbook_has_a_sheet_per_area_russian_columns_local_times_and_sums():
    from openpyxl import load_workbook

    events = [e for e in seeded() if START <= e.at < END]
    data = build_workbook(events, ALL, MSK, words())
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Сводка", "Водители", "Задачи", "Такси", "Вагоны", "Эскалации"]
    drivers = list(book["Водители"].values)
    assert drivers[0] == (
        "Время (Europe/Moscow)",
        "Событие",
        "Объект",
        "Номер",
        "Опоздание, мин",
        "Подробности",
    )
    first = drivers[1]
    assert first[0] == datetime(2026, 12, 1, 13, 0)  # 10:00 UTC, shown in Moscow
    assert first[1:4] == ("Водитель опаздывает", "Петров", "1")
    assert len([row for row in drivers[1:] if row[0] is not None and row[1]]) == 7
    taxi = list(book["Такси"].values)
    assert taxi[0][4] == "Сумма, ₽"
    assert taxi[-1][0] == "Итого" and taxi[-1][4] == pytest.approx(1450.5)
    escalations = list(book["Эскалации"].values)
    assert escalations[-1][0] == "В среднем" and escalations[-1][4] == 7


def test_the_chart_is_a_valid_png_of_the_on_time_share_and_alerts_by_kind():
    from PIL import Image

    events = seeded()
    series = daily_series(events, MSK, date(2026, 12, 1), date(2026, 12, 2))
    # 01.12: driver 1 arrived after being late -> 0 %; 02.12: driver 5 on time -> 100 %.
    assert series.on_time_share == [0.0, 1.0]
    assert series.alerts_by_kind["driver.late"] == [4, 1]  # driver 8 too (the day before)
    words = ChartWords("t", "on time", "%", "alerts", "n", "other", {})
    png = render_png(series, words)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.size == (1000, 700)
