"""The kinds of value a setting holds: each parses what a person types, checks a value against
a named rule, renders it, offers choices (buttons) where it has a few, and stores it as JSON.

A refused value raises :class:`SettingError` carrying the rule's text key and its parameters;
``str(exc)`` is that rule in the current language (the app installs the translator, see
`set_translator`; until then the key itself). No aiogram here: the registry is a pure module.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

T = TypeVar("T")

_translate: Callable[[str], str] = lambda key: key  # noqa: E731 (replaced by the app)


def set_translator(translate: Callable[[str], str]) -> None:
    """The app's gettext: rules and labels are then worded in the current language."""
    global _translate
    _translate = translate


def tr(key: str, **params: object) -> str:
    text = _translate(key)
    return text.format(**params) if params else text


class SettingError(ValueError):
    """A value refused; ``str(exc)`` is the rule it broke, in the current language."""

    def __init__(self, rule_key: str, **params: object) -> None:
        self.rule_key = rule_key
        self.params = params
        super().__init__(rule_key)

    def __str__(self) -> str:
        return tr(self.rule_key, **self.params)


class Kind(Generic[T]):
    """What every kind does; subclasses are frozen dataclasses (a Setting compares them)."""

    # The .po key of the hint shown when a value is asked for (the format expected).
    hint_key = "setting.hint.text"

    def parse(self, text: str) -> T:
        raise NotImplementedError

    def check(self, value: T) -> T:
        return value

    def render(self, value: T) -> str:
        return str(value)

    def choices(self) -> list[T] | None:
        return None

    def dump(self, value: T) -> Any:
        """The value as JSON (what the database keeps)."""
        return value

    def load(self, stored: Any) -> T:
        return self.check(stored)

    def from_env(self, raw: Any) -> T:
        """A value pydantic-settings read from the environment (text, or already typed)."""
        return self.parse(raw) if isinstance(raw, str) else self.check(raw)


# --- choices and flags -------------------------------------------------------------------
@dataclass(frozen=True)
class Choice(Kind[T]):
    values: tuple[T, ...]
    label_prefix: str | None = None  # labels from "<prefix>.<value>"; else the value itself

    hint_key = "setting.hint.choice"

    def parse(self, text: str) -> T:
        wanted = text.strip().lower()
        for value in self.values:
            if wanted in (str(value).lower(), self.render(value).lower()):
                return value
        raise SettingError("setting.rule.choice", choices=", ".join(map(self.render, self.values)))

    def check(self, value: T) -> T:
        if value not in self.values:
            choices = ", ".join(map(self.render, self.values))
            raise SettingError("setting.rule.choice", choices=choices)
        return value

    def render(self, value: T) -> str:
        return tr(f"{self.label_prefix}.{value}") if self.label_prefix else str(value)

    def choices(self) -> list[T] | None:
        return list(self.values)


_YES = frozenset({"on", "yes", "true", "1", "да", "вкл", "включить", "включено"})
_NO = frozenset({"off", "no", "false", "0", "нет", "выкл", "выключить", "выключено"})


@dataclass(frozen=True)
class Flag(Kind[bool]):
    hint_key = "setting.hint.flag"

    def parse(self, text: str) -> bool:
        word = text.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
        raise SettingError("setting.rule.flag")

    def check(self, value: bool) -> bool:
        if not isinstance(value, bool):
            raise SettingError("setting.rule.flag")
        return value

    def render(self, value: bool) -> str:
        return tr("setting.value.on" if value else "setting.value.off")

    def choices(self) -> list[bool] | None:
        return [True, False]


# --- numbers and durations ---------------------------------------------------------------
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Number(Kind[float]):
    """A whole number (``integer``, the default) or a decimal one, from min to max. A value
    below min is refused with ``rule_key`` when given (a vendor's rule — "not faster than" —
    worded with its reason), else with the plain range rule."""

    min: float | None = None
    max: float | None = None
    unit: str | None = None  # "seconds", "minutes", "hours", "days": setting.unit.<unit>
    rule_key: str | None = None
    integer: bool = True

    hint_key = "setting.hint.number"

    def parse(self, text: str) -> Any:
        cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
        if not _NUMBER.fullmatch(cleaned):
            raise SettingError("setting.rule.whole" if self.integer else "setting.rule.number")
        number = float(cleaned.replace(",", "."))
        if self.integer and not number.is_integer():
            raise SettingError("setting.rule.whole")
        return self.check(int(number) if self.integer else number)

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise SettingError("setting.rule.number")
        if self.integer and not float(value).is_integer():
            raise SettingError("setting.rule.whole")
        low = self.min is not None and value < self.min
        high = self.max is not None and value > self.max
        if low or high:
            rule = self.rule_key if low and self.rule_key else self._range_key()
            raise SettingError(rule, min=_num(self.min), max=_num(self.max))
        return int(value) if self.integer else float(value)

    def _range_key(self) -> str:
        if self.min is not None and self.max is not None:
            return "setting.rule.range"
        return "setting.rule.min" if self.min is not None else "setting.rule.max"

    def render(self, value: Any) -> str:
        shown = _num(value)
        return f"{shown} {tr(f'setting.unit.{self.unit}')}" if self.unit else shown


def _num(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u00a0")
    return f"{value:g}".replace(".", ",")


_DURATION = re.compile(r"(?:\d{1,6}\s*[a-zа-яё]*\s*)+")
_DURATION_PART = re.compile(r"(\d{1,6})\s*([a-zа-яё]*)")
_UNIT_MINUTES = {
    **dict.fromkeys(("", "m", "min", "mins", "minute", "minutes"), 1),
    **dict.fromkeys(("м", "мин", "минута", "минуты", "минут"), 1),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "ч", "час", "часа", "часов"), 60),
    **dict.fromkeys(("d", "day", "days", "д", "дн", "день", "дня", "дней"), 24 * 60),
}


def parse_minutes(text: str) -> int | None:
    """`30m`, `2ч`, `1д`, `1h30m`, `90` (minutes) -> minutes, else None."""
    text = text.strip().lower()
    if not text or not _DURATION.fullmatch(text):
        return None
    parts = _DURATION_PART.findall(text)
    if len(parts) > 1 and any(unit == "" for _number, unit in parts):
        return None  # `1 30`: ambiguous
    minutes = 0
    for number, unit in parts:
        if unit not in _UNIT_MINUTES:
            return None
        minutes += int(number) * _UNIT_MINUTES[unit]
    return minutes


@dataclass(frozen=True)
class Duration(Kind[int]):
    """A number of minutes, typed as `30m`, `2ч`, `1h30m` or plain minutes."""

    min_minutes: int = 0
    max_minutes: int = 7 * 24 * 60

    hint_key = "setting.hint.duration"

    def parse(self, text: str) -> int:
        minutes = parse_minutes(text)
        if minutes is None:
            raise SettingError("setting.rule.duration")
        return self.check(minutes)

    def check(self, value: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingError("setting.rule.duration")
        if not self.min_minutes <= value <= self.max_minutes:
            raise SettingError(
                "setting.rule.duration_range",
                min=render_minutes(self.min_minutes),
                max=render_minutes(self.max_minutes),
            )
        return value

    def render(self, value: int) -> str:
        return render_minutes(value)


def render_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return tr("duration.hours_minutes", hours=hours, minutes=rest)
    if hours:
        return tr("duration.hours", hours=hours)
    return tr("duration.minutes", minutes=rest)


# --- times of day ------------------------------------------------------------------------
_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?"
_ONE_CLOCK = re.compile(_CLOCK)
_WINDOW = re.compile(rf"{_CLOCK}\s*(?:-|–|—|до|to)\s*{_CLOCK}")


def _clock(hours: str, minutes: str | None) -> time | None:
    h, m = int(hours), int(minutes or 0)
    return time(h, m) if h < 24 and m < 60 else None


def parse_clock(text: str) -> time | None:
    """`9:00`, `09.30`, `9` -> a time of day, else None."""
    found = _ONE_CLOCK.fullmatch(text.strip())
    return _clock(found[1], found[2]) if found else None


def parse_window(text: str) -> tuple[time, time] | None:
    """`22:00-07:00`, `22-7`, `23.30–6.00` -> (start, end); the window may cross midnight."""
    found = _WINDOW.fullmatch(text.strip().lower())
    if not found:
        return None
    start, end = _clock(found[1], found[2]), _clock(found[3], found[4])
    if start is None or end is None or start == end:
        return None
    return start, end


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _time(value: Any) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    found = parse_clock(value) if isinstance(value, str) else None
    if found is None:
        raise SettingError("setting.rule.time")
    return found


@dataclass(frozen=True)
class TimeOfDay(Kind[time]):
    hint_key = "setting.hint.time"

    def parse(self, text: str) -> time:
        return _time(text)

    def check(self, value: time) -> time:
        return _time(value)

    def render(self, value: time) -> str:
        return _hhmm(value)

    def dump(self, value: time) -> Any:
        return _hhmm(value)


@dataclass(frozen=True)
class TimesOfDay(Kind[tuple[time, ...]]):
    """One or more times of day (sorted, without repeats): `09:00, 13:00, 18:00`."""

    min_count: int = 1
    max_count: int = 3

    hint_key = "setting.hint.times"

    def parse(self, text: str) -> tuple[time, ...]:
        parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
        return self.check(tuple(_time(part) for part in parts))

    def check(self, value: Sequence[Any]) -> tuple[time, ...]:
        if isinstance(value, str):
            return self.parse(value)
        times = tuple(sorted({_time(v) for v in value}))
        if not self.min_count <= len(times) <= self.max_count:
            raise SettingError("setting.rule.times", min=self.min_count, max=self.max_count)
        return times

    def render(self, value: tuple[time, ...]) -> str:
        return ", ".join(map(_hhmm, value))

    def dump(self, value: tuple[time, ...]) -> Any:
        return [_hhmm(v) for v in value]


@dataclass(frozen=True)
class TimeWindow(Kind[tuple[time, time]]):
    """From one time of day to another (`22:00-07:00`); it may cross midnight."""

    hint_key = "setting.hint.window"

    def parse(self, text: str) -> tuple[time, time]:
        window = parse_window(text)
        if window is None:
            raise SettingError("setting.rule.window")
        return window

    def check(self, value: Sequence[Any]) -> tuple[time, time]:
        if isinstance(value, str):
            return self.parse(value)
        if len(value) != 2:
            raise SettingError("setting.rule.window")
        start, end = _time(value[0]), _time(value[1])
        if start == end:
            raise SettingError("setting.rule.window")
        return start, end

    def render(self, value: tuple[time, time]) -> str:
        return f"{_hhmm(value[0])}–{_hhmm(value[1])}"

    def dump(self, value: tuple[time, time]) -> Any:
        return [_hhmm(value[0]), _hhmm(value[1])]


# --- zones and text ----------------------------------------------------------------------
@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def find_zone(text: str) -> str | None:
    """The canonical IANA name for what was typed (any case), or None when unknown."""
    text = text.strip()
    name = _zone_names().get(text.lower(), text)
    if not name or name.startswith(("/", ".")):
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


@dataclass(frozen=True)
class Zone(Kind[str]):
    """An IANA time zone name: `Europe/Moscow`, `Asia/Yekaterinburg`."""

    hint_key = "setting.hint.zone"

    def parse(self, text: str) -> str:
        return self.check(text)

    def check(self, value: str) -> str:
        name = find_zone(value) if isinstance(value, str) else None
        if name is None:
            raise SettingError("setting.rule.zone")
        return name


@dataclass(frozen=True)
class TextList(Kind[tuple[str, ...]]):
    """Words or codes separated by commas; each must match ``item_pattern`` when given."""

    item_pattern: str | None = None
    rule_key: str = "setting.rule.text_list"
    min_count: int = 1
    max_count: int = 50

    hint_key = "setting.hint.list"

    def parse(self, text: str) -> tuple[str, ...]:
        return self.check(tuple(p.strip() for p in re.split(r"[,;\n]+", text) if p.strip()))

    def check(self, value: Sequence[str]) -> tuple[str, ...]:
        if isinstance(value, str):
            return self.parse(value)
        items = tuple(str(v).strip() for v in value)
        if not self.min_count <= len(items) <= self.max_count:
            raise SettingError(self.rule_key)
        if self.item_pattern and not all(re.fullmatch(self.item_pattern, i) for i in items):
            raise SettingError(self.rule_key)
        return items

    def render(self, value: tuple[str, ...]) -> str:
        return ", ".join(value)

    def dump(self, value: tuple[str, ...]) -> Any:
        return list(value)


@dataclass(frozen=True)
class Code(Kind[str]):
    """One code or id matching ``pattern`` (a status id, a station code), refused with
    ``rule_key`` (which names what is expected)."""

    pattern: str
    rule_key: str

    def parse(self, text: str) -> str:
        return self.check(text)

    def check(self, value: str) -> str:
        text = str(value).strip() if isinstance(value, str | int) else ""
        if not re.fullmatch(self.pattern, text):
            raise SettingError(self.rule_key)
        return text


# --- optional values ---------------------------------------------------------------------
_NONE_WORDS = frozenset({"off", "none", "-", "—", "нет", "выкл", "не задано"})


@dataclass(frozen=True)
class OptionalKind(Kind[T | None]):
    """Another kind's value, or none (typed `off`/`нет`/`-`): an unset tariff, no quiet hours."""

    inner: Kind[T]
    none_key: str = "setting.value.none"  # how "none" is shown: «не задано», «выключены»

    @property
    def hint_key(self) -> str:  # type: ignore[override]
        return self.inner.hint_key

    def parse(self, text: str) -> T | None:
        if text.strip().lower() in _NONE_WORDS:
            return None
        return self.inner.parse(text)

    def check(self, value: T | None) -> T | None:
        return None if value is None else self.inner.check(value)

    def render(self, value: T | None) -> str:
        return tr(self.none_key) if value is None else self.inner.render(value)

    def choices(self) -> list[T | None] | None:
        inner = self.inner.choices()
        return None if inner is None else [*inner, None]

    def dump(self, value: T | None) -> Any:
        return None if value is None else self.inner.dump(value)

    def load(self, stored: Any) -> T | None:
        return None if stored is None else self.inner.load(stored)

    def from_env(self, raw: Any) -> T | None:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return self.inner.from_env(raw)
