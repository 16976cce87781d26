"""Taxi-Master's own alert field keys, in words (see bot/alerts/fields.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.alerts.fields import as_phone, as_text, as_time, register_field
from integrations.base import FieldValue


def state_in_words(value: FieldValue, tz: ZoneInfo) -> str:
    """An order state kind (``car_at_place``) in words; an unknown one as TMWeb sent it."""
    code = str(value)
    key = f"taximaster.state.{code}"
    text = _(key)
    return code if text == key else text


def reason_in_words(value: FieldValue, tz: ZoneInfo) -> str:
    code = str(value)
    key = f"taximaster.reason.{code}"
    text = _(key)
    return code if text == key else text


# car_* / driver_name / crew_code: fields of alerts queued by an older version
for _key in (
    "crew",
    "car_mark",
    "car_model",
    "car_color",
    "car_plate",
    "driver_name",
    "crew_code",
    "source",
    "dest",
    "state_id",
):
    register_field(_key, as_text, source="taximaster", label_key=f"taximaster.field.{_key}")
register_field("phone", as_phone, source="taximaster", label_key="taximaster.field.phone")
register_field(
    "driver_phone", as_phone, source="taximaster", label_key="taximaster.field.driver_phone"
)
register_field("state", state_in_words, source="taximaster", label_key="taximaster.field.state")
register_field(
    "source_time", as_time, source="taximaster", label_key="taximaster.field.source_time"
)
register_field("reason", reason_in_words, source="taximaster", label_key="taximaster.field.reason")
