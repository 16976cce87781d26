"""Alta's words: the wagon card and the wagon alerts say each fact once, in correct Russian."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import handlers  # noqa: F401  (registers every service's texts and alert fields)
from bot.alerts.render import RenderContext, render_alert
from bot.i18n import build_i18n
from handlers.alta.card import Place, render_wagon_card
from integrations.alta.models import Dislocation
from integrations.alta.watcher import AltaWatcher
from integrations.base import Severity, WatchResult

TZ = ZoneInfo("Europe/Moscow")
PO = Path(__file__).parents[2] / "handlers" / "alta" / "locales" / "ru.po"
AT = datetime(2024, 5, 13, 14, 7, tzinfo=UTC)
ARRIVED = Place(
    "06020", "Москва-Товарная", "Прибытие на станцию назначения", AT,
    "06020", "Москва-Товарная", 0.0, None,
)  # fmt: skip


def no_repeated_line(text: str) -> None:
    """No line says what the line above it said (labels aside)."""
    lines = [line.split(":", 1)[-1].strip() for line in text.splitlines() if line.strip()]
    for above, line in pairwise(lines):
        assert line != above, text
    for time in re.findall(r"\d\d\.\d\d(?:\.\d{4})? \d\d:\d\d", text):
        assert text.count(time) == 1, text


def test_the_russian_of_alta_texts() -> None:
    text = PO.read_text()
    assert "с слежения" not in text and "со слежения" in text
    assert not re.search(r"\{count\} номеров", text)  # «2 номеров»: no agreement


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_wagon_at_its_destination_is_said_once(locale: str) -> None:
    i18n = build_i18n("ru")
    with i18n.context(), i18n.use_locale(locale):
        card = render_wagon_card("52345675", ARRIVED, TZ, title="Трубы", now=AT)
    assert card.count("Москва-Товарная") == 1 and "0 км" not in card
    no_repeated_line(card)


def test_a_wagon_alert_says_each_fact_once() -> None:
    watcher = AltaWatcher(None, None)  # type: ignore[arg-type]  # _diff needs neither
    old = {"hash": "h", "type": "wagon", "station": "06020", "station_name": "Москва-Товарная",
           "operation": "Прибытие на станцию", "destination": "06020"}  # fmt: skip
    row = Dislocation.from_raw(
        {
            "vagon": "52345675",
            "station": "06020",
            "station_name": "Москва-Товарная",
            "operation": "Прибытие на станцию назначения",
            "operation_date": "13.05.2024 17:07",
            "dest_station": "06020",
            "dest_station_name": "Москва-Товарная",
            "report_date": "13.05.2024 17:07",
        }
    )
    result = WatchResult()
    watcher._diff("52345675", old, row, result)
    [alert] = result.alerts
    assert alert.kind == "wagon.arrived"
    ctx = RenderContext(build_i18n("ru"), "ru", TZ)
    text = render_alert(alert, Severity.HIGH, ctx).plain
    assert text.count("Москва-Товарная") == 1, text
    lines = [line.split(":", 1)[-1].strip() for line in text.splitlines()]
    assert all(a != b for a, b in pairwise(lines)), text
