"""An alert's JSON (outbox rows, escalation payloads) holds every field of the dataclass, as
dataclasses.asdict would give it, and reads back equal."""

import json
from dataclasses import asdict
from datetime import UTC, datetime

from integrations.base import Alert, Location, Severity, Subject


def test_to_json_is_asdict_and_reads_back_equal():
    alert = Alert(
        kind="driver.left_route",
        source="movizor",
        subject=Subject("driver", "+79120000001", "Иванов И.", ("рейс-7", "ночь")),
        occurred_at=datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
        dedupe_key="movizor:1",
        fields={"Отклонение": "3 км", "eta": "2026-12-02T03:00:00+00:00"},
        location=Location(56.8, 60.6, "Екатеринбург"),
        severity=Severity.HIGH,
    )
    expected = asdict(alert)
    expected["occurred_at"] = alert.occurred_at.isoformat()
    expected["severity"] = int(Severity.HIGH)
    expected["subject"]["tags"] = list(alert.subject.tags)
    assert json.loads(alert.to_json()) == expected
    assert Alert.from_json(alert.to_json()) == alert
    bare = Alert("task.changed", "mobiforce", Subject("task", "1"), alert.occurred_at, "m:1")
    assert Alert.from_json(bare.to_json()) == bare
