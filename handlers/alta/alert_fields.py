"""Alta's alert field keys, in words (see bot/alerts/fields.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.alerts.fields import as_km, as_text, as_time, register_field
from integrations.base import FieldValue


def reason_in_words(value: FieldValue, tz: ZoneInfo) -> str:
    key = f"alta.reason.{value}"
    text = _(key)
    return str(value) if text == key else text


def hours_in_words(value: FieldValue, tz: ZoneInfo) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _("alta.unit.hours").format(hours=int(value))
    return as_text(value, tz)


FORMATS = {
    "station_name": as_text,
    "station_code": as_text,
    "operation": as_text,
    "operation_at": as_time,
    "destination_name": as_text,
    "destination_code": as_text,
    "distance_left_km": as_km,
    "previous_station_name": as_text,
    "report_at": as_time,
    "request_hash": as_text,
    "added_at": as_time,
    "hours_without_data": hours_in_words,
    "hours_without_movement": hours_in_words,  # wagon.stuck
    "reason": reason_in_words,
    "unpaired_rows": as_text,
    "row_fields": as_text,
    "numbers": as_text,  # wagon.acted: the numbers another chat took off tracking
}

for key, fmt in FORMATS.items():
    register_field(key, fmt, source="alta", label_key=f"alta.field.{key}")
