"""The README's table of alert kinds says what bot/alerts/kinds.py says: every kind, its
colour and how the sender treats it."""

import re
from pathlib import Path

from bot.alerts.kinds import KINDS, behaviour, icon
from integrations.base import Severity

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_kinds() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\| `([a-z_]+\.[a-z_]+)` \| [^|]+ \| (\S+) \| ([^|]+) \|", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3).strip())
    return rows


def test_the_readme_lists_every_kind_with_its_severity_and_behaviour():
    listed = readme_kinds()
    expected = {
        name: (icon(name, spec.severity), ", ".join(behaviour(spec)) or "—")
        for name, spec in KINDS.items()
    }
    missing = sorted(set(expected) - set(listed))
    assert not missing, f"kinds missing from README's kinds table: {missing}"
    assert listed == expected


def test_severity_means_one_thing():
    """Red for what needs a person now, green for good news, routine kinds are quiet."""
    urgent = {"driver.left_route", "driver.late", "driver.unreachable", "taxi.aborted"}
    assert all(KINDS[k].severity is Severity.HIGH for k in urgent)
    successes = {"task.closed", "driver.arrived", "taxi.finished", "wagon.arrived"}
    assert all(icon(k, KINDS[k].severity) == "🟢" for k in successes)
    assert all(spec.severity < Severity.HIGH for spec in KINDS.values() if spec.success)
    assert all(spec.severity < Severity.HIGH for spec in KINDS.values() if spec.routine)
    assert all(spec.area == "system" for spec in KINDS.values() if spec.name.startswith("system."))
