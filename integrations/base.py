"""The integration contract: what a watcher returns and how it is called.

Both sides import this module: ``integrations/<service>/watcher.py`` builds :class:`Alert` objects
and the bot's alert pipeline routes, stores and words them. It knows nothing of Telegram, storage
or a language: an alert carries structured fields by key (``distance_left_km``, ``eta``,
``event``) and the bot's renderer turns them into the chat's language. The common error base is
:mod:`integrations.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol

FieldValue = str | int | float | bool | None


class Severity(IntEnum):
    LOW = 1  # goes out silently, waits out quiet hours
    NORMAL = 2
    HIGH = 3  # passes quiet hours, always buzzes


@dataclass(frozen=True)
class Subject:
    """What an alert is about: a driver (by phone), a task, a taxi order, a wagon…"""

    type: str  # "driver" | "task" | "order" | "wagon" | "container" | "integration" | "test"
    id: str
    title: str = ""
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.type}:{self.id}"


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    place: str = ""


@dataclass(frozen=True)
class Alert:
    kind: str  # dotted: "driver.late"
    source: str  # integration name: "movizor"
    subject: Subject
    occurred_at: datetime  # timezone-aware
    dedupe_key: str  # unique per source event: the same event never alerts a chat twice
    # Structured facts by domain key ("event", "distance_left_km", "eta"), in display order;
    # values are JSON scalars (times as ISO 8601). The bot words keys and values in the chat's
    # language (bot/alerts/fields.py); an integration never writes a label.
    fields: dict[str, FieldValue] = field(default_factory=dict)
    location: Location | None = None
    severity: Severity | None = None  # None: the kind's default

    def to_json(self) -> str:
        # Built by hand rather than by dataclasses.asdict, which deep-copies every field value:
        # this runs for every alert a watcher commits (the outbox row, an escalation's payload).
        subject, location = self.subject, self.location
        data = {
            "kind": self.kind,
            "source": self.source,
            "subject": {
                "type": subject.type,
                "id": subject.id,
                "title": subject.title,
                "tags": list(subject.tags),
            },
            "occurred_at": self.occurred_at.isoformat(),
            "dedupe_key": self.dedupe_key,
            "fields": self.fields,
            "location": None
            if location is None
            else {
                "latitude": location.latitude,
                "longitude": location.longitude,
                "place": location.place,
            },
            "severity": int(self.severity) if self.severity is not None else None,
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Alert:
        data: dict[str, Any] = json.loads(text)
        subject = data["subject"]
        location = data.get("location")
        return cls(
            kind=data["kind"],
            source=data["source"],
            subject=Subject(
                subject["type"], subject["id"], subject.get("title", ""), tuple(subject["tags"])
            ),
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            dedupe_key=data["dedupe_key"],
            fields=dict(data.get("fields") or {}),
            location=Location(**location) if location else None,
            severity=Severity(data["severity"]) if data.get("severity") else None,
        )


# What a watcher remembers of one subject between cycles (a task's last fields, a taxi order's
# last state, a wagon's last station): plain JSON, stored by the bot beside the cursor.
Snapshot = dict[str, Any]


@dataclass
class WatchResult:
    """One poll cycle's outcome: the alerts to route, where the feed now stands and what to
    remember. The bot commits all three in ONE transaction with the outbox rows, so a crash
    never leaves a snapshot ahead of the alerts it was diffed into."""

    alerts: list[Alert] = field(default_factory=list)
    cursor: str | None = None  # None: keep the stored cursor
    # subject id -> its new snapshot; None forgets the subject (a finished order stops being
    # watched). Subjects not named keep what they had.
    snapshots: dict[str, Snapshot | None] = field(default_factory=dict)


class SnapshotReader(Protocol):
    """What the bot remembers of one source's subjects: ``ids`` None means all of them.

    Handlers add subjects to watch (a taxi order just created) by storing a snapshot for them;
    the watcher reads them back each cycle and returns the changes in :class:`WatchResult`.
    """

    async def __call__(self, ids: Collection[str] | None = None) -> dict[str, Snapshot]: ...


class Watcher(Protocol):
    """Anything with a ``name`` and ``async poll(cursor) -> WatchResult``: it fetches what
    happened since ``cursor`` and turns it into alerts."""

    name: str

    async def poll(self, cursor: str | None) -> WatchResult: ...
