"""Mobiforce's own alert field keys, in words (see bot/alerts/fields.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.alerts.fields import as_text, as_time, register_field
from integrations.base import FieldValue

SOURCE = "mobiforce"


def changes_in_words(value: FieldValue, tz: ZoneInfo) -> str:
    """``sent,assigned`` -> «отправлена исполнителю, назначен исполнитель»."""
    words = []
    for token in str(value or "").split(","):
        key = f"mobiforce.change.{token.strip()}"
        text = _(key)
        words.append(token.strip() if text == key else text)
    return ", ".join(word for word in words if word)


def draft_in_words(value: FieldValue, tz: ZoneInfo) -> str:
    return _("tasks.state.draft") if value else _("tasks.state.sent")


def hidden(value: FieldValue, tz: ZoneInfo) -> str:
    """An internal id the alert carries for the bot, not for people."""
    return ""


for key, fmt in (
    ("task_number", as_text),
    ("client", as_text),
    ("template", as_text),
    ("address", as_text),
    ("executor", as_text),
    ("previous_executor", as_text),
    ("planned_start", as_time),
    ("planned_end", as_time),
    ("previous_planned_start", as_time),
    ("draft", draft_in_words),
    ("status", as_text),
    ("previous_status", as_text),
    ("checklist", as_text),
    ("checklist_filled", as_text),
    ("checklist_total", as_text),
    ("photos_added", as_text),
    ("result_status", as_text),
    ("result", as_text),
    ("closed_at", as_time),
    ("props", as_text),
    ("changes", changes_in_words),
    ("task_id", hidden),
    # system.events_skipped: tasks the feed moved past without reading them
    ("skipped_task_ids", as_text),
    ("skipped_total", as_text),
):
    register_field(key, fmt, source=SOURCE, label_key=f"mobiforce.field.{key}")
