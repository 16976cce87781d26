"""Alert fields in words: an integration returns facts by key (``distance_left_km``: 12.5), the
chat reads a label and a value in its own language (``Осталось: 13 км``).

Keys shared by several services are registered here; a service registers its own keys from its
handlers package (``handlers/<service>/alert_fields.py``) with ``source=`` so that two services
may use the same word differently. A key nobody registered is shown as it came (``key: value``):
nothing an integration sends is ever dropped.

Labels and units are .po texts (``field.<key>``); formatters run inside the renderer's i18n
context, so ``_()`` answers in the chat's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.phones import format_phone
from bot.texts import format_duration
from integrations.base import FieldValue

Formatter = Callable[[FieldValue, ZoneInfo], str]


def as_text(value: FieldValue, tz: ZoneInfo) -> str:
    if isinstance(value, bool):
        return _("field.yes") if value else _("field.no")
    return "" if value is None else str(value)


def as_phone(value: FieldValue, tz: ZoneInfo) -> str:
    """A phone as every screen shows it (bot.phones.format_phone)."""
    return format_phone(as_text(value, tz))


def as_km(value: FieldValue, tz: ZoneInfo) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return as_text(value, tz)
    return _("unit.km").format(km=f"{value:.0f}")


def as_minutes(value: FieldValue, tz: ZoneInfo) -> str:
    """A duration in whole minutes: ``1 ч 5 мин`` (bot.texts.format_duration)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return as_text(value, tz)
    return format_duration(timedelta(minutes=int(value)))


def as_time(value: FieldValue, tz: ZoneInfo) -> str:
    """An ISO 8601 moment in the chat's zone: ``14.03 12:05``."""
    if not isinstance(value, str):
        return as_text(value, tz)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return moment.astimezone(tz).strftime("%d.%m %H:%M")


@dataclass(frozen=True)
class FieldSpec:
    label_key: str  # .po id of the label
    format: Formatter


FIELDS: dict[str, FieldSpec] = {}


def register_field(
    key: str, fmt: Formatter = as_text, *, source: str = "", label_key: str = ""
) -> None:
    """Teach the renderer one field key (``source`` limits it to one integration's alerts)."""
    FIELDS[f"{source}:{key}" if source else key] = FieldSpec(label_key or f"field.{key}", fmt)


def word_field(source: str, key: str, value: FieldValue, tz: ZoneInfo) -> tuple[str, str]:
    """(label, value) in the current i18n locale."""
    spec = FIELDS.get(f"{source}:{key}") or FIELDS.get(key)
    if spec is None:
        return key, as_text(value, tz)
    return _(spec.label_key), spec.format(value, tz)


# Keys any service may use.
register_field("details")
register_field("place")
register_field("error")
register_field("distance_left_km", as_km)
register_field("time_left_minutes", as_minutes)
register_field("eta", as_time)
