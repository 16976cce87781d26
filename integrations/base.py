"""The integration contract: what a watcher returns and how it is called.

Both sides import this module: ``integrations/<service>/watcher.py`` builds :class:`Alert` objects
and the bot's alert pipeline routes, stores and words them. It knows nothing of Telegram, storage
or a language: an alert carries structured fields by key (``distance_left_km``, ``eta``,
``event``) and the bot's renderer turns them into the chat's language. The common error base is
:mod:`integrations.errors`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol


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
    fields: dict[str, str] = field(default_factory=dict)  # label -> value, shown in order
    location: Location | None = None
    severity: Severity | None = None  # None: the kind's default

    def to_json(self) -> str:
        data = asdict(self)
        data["occurred_at"] = self.occurred_at.isoformat()
        data["severity"] = int(self.severity) if self.severity is not None else None
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


@dataclass
class WatchResult:
    """One poll cycle's outcome: the alerts to route and where the feed now stands."""

    alerts: list[Alert] = field(default_factory=list)
    cursor: str | None = None  # None: keep the stored cursor


class Watcher(Protocol):
    """Anything with a ``name`` and ``async poll(cursor) -> WatchResult``: it fetches what
    happened since ``cursor`` and turns it into alerts."""

    name: str

    async def poll(self, cursor: str | None) -> WatchResult: ...
