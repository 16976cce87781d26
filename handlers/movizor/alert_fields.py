"""Movizor's own alert field keys, in words (see bot/alerts/fields.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.alerts.fields import register_field
from integrations.base import FieldValue


def event_in_words(value: FieldValue, tz: ZoneInfo) -> str:
    """An event type code (``pos_late``) as the document describes it; an unknown type as sent."""
    code = str(value)
    key = f"movizor.event.{code}"
    text = _(key)
    return code if text == key else text


register_field("event", event_in_words, source="movizor")
# system.events_skipped: events with ids between these may be lost
register_field("after_id", source="movizor", label_key="movizor.field.after_id")
register_field("before_id", source="movizor", label_key="movizor.field.before_id")
register_field("page_size", source="movizor", label_key="movizor.field.page_size")
