"""History events in a chat's words: the event's name and a short line of its facts, shared
by the digest's lists and the report (both call these inside the chat's i18n context)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.alerts.kinds import KINDS
from storage.history import HistoryEvent

# Facts worth a column in a list or a report, in this order; the rest stay in the database.
SHOWN_FIELDS = (
    "distance_left_km",
    "time_left_minutes",
    "place",
    "status",
    "result_status",
    "executor",
    "client",
    "crew",
    "source",
    "dest",
    "station_name",
    "operation",
    "destination_name",
    "hours_without_data",
    "reason",
    "request_hash",
)


def event_name(kind: str, locale: str) -> str:
    spec = KINDS.get(kind)
    if spec is not None:
        return spec.title(locale)
    return _(f"history.kind.{kind}")


def subject_text(event: HistoryEvent) -> str:
    return event.subject_title or event.subject_key.partition(":")[2]


def details(event: HistoryEvent) -> str:
    facts = [
        f"{key}: {event.fields[key]}"
        for key in SHOWN_FIELDS
        if event.fields.get(key) not in (None, "")
    ]
    return "; ".join(facts)
