"""Alta's settings: the poll period (Alta asks for one request a minute at most), and what a
new `/wagon add` starts with (each still changeable with buttons in its summary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from bot.config import parse_weekdays
from bot.settings.registry import (
    Choice,
    Kind,
    Number,
    Scope,
    Setting,
    SettingError,
    TimesOfDay,
    declare,
    declare_poll,
    tr,
)
from bot.settings.values import SettingsValues

# The document: "Оптимальный период опроса сервера - 1 минута" — faster may be blocked.
POLL_SECONDS = declare_poll("alta", 60, min=60, rule_key="setting.rule.alta_poll")
NO_DATA_HOURS = declare(
    Setting(
        "alta.no_data_hours",
        Number(min=1, max=240, unit="hours"),
        6,
        Scope.GLOBAL,
        "alta",
        "polling",
        live=True,
        env="ALTA_NO_DATA_HOURS",
    )
)
# wagon.stuck: on tracking, not arrived, standing at one station this long (it escalates).
STUCK_HOURS = declare(
    Setting(
        "alta.stuck_hours",
        Number(min=1, max=24 * 30, unit="hours"),
        24,
        Scope.GLOBAL,
        "alta",
        "polling",
        live=True,
        env="ALTA_STUCK_HOURS",
    )
)
TIMES = declare(
    Setting(
        "alta.times",
        TimesOfDay(min_count=1, max_count=3),  # Alta takes one to three Moscow times
        (time(9), time(13), time(18)),
        Scope.GLOBAL,
        "alta",
        "wagon_add",
        live=True,
        env="ALTA_TIMES",
    )
)


@dataclass(frozen=True)
class Weekdays(Kind[tuple[int, ...]]):
    """Alta's weekdays, 0 = Sunday … 6 = Saturday: `0-6`, `1-5`, `1,3,5`."""

    hint_key = "setting.hint.weekdays"

    def parse(self, text: str) -> tuple[int, ...]:
        days = parse_weekdays(text)
        if days is None:
            raise SettingError("setting.rule.weekdays")
        return tuple(days)

    def check(self, value: Any) -> tuple[int, ...]:
        if isinstance(value, str):
            return self.parse(value)
        try:
            days = tuple(sorted({int(day) for day in value}))
        except (TypeError, ValueError) as exc:
            raise SettingError("setting.rule.weekdays") from exc
        if not days or not all(0 <= day <= 6 for day in days):
            raise SettingError("setting.rule.weekdays")
        return days

    def render(self, value: tuple[int, ...]) -> str:
        return ", ".join(tr(f"setting.weekday.{day}") for day in value)

    def dump(self, value: tuple[int, ...]) -> Any:
        return list(value)


DAYS = declare(
    Setting(
        "alta.days",
        Weekdays(),
        (0, 1, 2, 3, 4, 5, 6),
        Scope.GLOBAL,
        "alta",
        "wagon_add",
        live=True,
        env="ALTA_DAYS",
    )
)
REGION = declare(
    Setting(
        "alta.region",
        Choice(("ru", "sng"), label_prefix="alta.region"),
        "ru",
        Scope.GLOBAL,
        "alta",
        "wagon_add",
        live=True,
        env="ALTA_REGION",
    )
)
TRACK_TYPE = declare(
    Setting(
        "alta.track_type",
        Choice(("daily", "trip"), label_prefix="alta.mode"),
        "daily",
        Scope.GLOBAL,
        "alta",
        "wagon_add",
        live=True,
        env="ALTA_TRACK_TYPE",
    )
)


@dataclass(frozen=True)
class StopRule(Kind[str]):
    """When tracking stops: `yes` (at the destination), `no` (by hand) or a 5-digit ESR code
    (at that station): buttons for the first two, typed for a station."""

    hint_key = "setting.hint.alta_stop"

    def parse(self, text: str) -> str:
        word = text.strip().lower()
        for value in ("yes", "no"):
            if word in (value, self.render(value).lower()):
                return value
        return self.check(word)

    def check(self, value: str) -> str:
        text = str(value).strip().lower()
        if text in ("yes", "no") or (text.isdigit() and len(text) == 5):
            return text
        raise SettingError("setting.rule.alta_stop")

    def render(self, value: str) -> str:
        if value in ("yes", "no"):
            return tr(f"alta.stop.{value}")
        return tr("alta.stop.esr", code=value)

    def choices(self) -> list[str] | None:
        return ["yes", "no"]


STOP = declare(
    Setting(
        "alta.stop",
        StopRule(),
        "yes",
        Scope.GLOBAL,
        "alta",
        "wagon_add",
        live=True,
        env="ALTA_STOP",
    )
)


async def add_defaults(values: SettingsValues) -> dict[str, Any]:
    """What a new `/wagon add` summary starts with: the settings' effective values now, in the
    summary's own form (times "HH:MM", days 0-6)."""
    times = await values.get(TIMES)
    days = await values.get(DAYS)
    return {
        "region": await values.get(REGION),
        "mode": await values.get(TRACK_TYPE),
        "times": [moment.strftime("%H:%M") for moment in times],
        "days": list(days),
        "stop": await values.get(STOP),
    }
