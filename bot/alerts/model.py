"""The alert model, independent of the integration that produced it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any


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
