"""Taxi-Master's settings: the poll period and the tariffs /taxi prices with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings.registry import (
    Kind,
    Number,
    OptionalKind,
    Scope,
    Setting,
    SettingError,
    declare,
    declare_poll,
)
from bot.settings.values import SettingsValues

Pairs = tuple[tuple[int, int], ...]

POLL_SECONDS = declare_poll("taximaster", 15, min=5)
TARIFF_ID = declare(
    Setting(
        "taximaster.tariff_id",
        OptionalKind(Number(min=1, max=2**31 - 1), none_key="setting.value.first_tariff"),
        None,
        Scope.GLOBAL,
        "taximaster",
        "tariffs",
        live=True,
        env="TAXIMASTER_TARIFF_ID",
    )
)
# taxi.no_crew: no crew this long after the order's pickup time (it escalates).
NO_CREW_MINUTES = declare(
    Setting(
        "taximaster.no_crew_minutes",
        Number(min=1, max=24 * 60, unit="minutes"),
        10,
        Scope.GLOBAL,
        "taximaster",
        "polling",
        live=True,
        env="TAXIMASTER_NO_CREW_MINUTES",
    )
)


@dataclass(frozen=True)
class GroupTariffs(Kind[Pairs]):
    """A crew group's own tariff: `2:2, 3:5` (group:tariff), or `-` for none."""

    hint_key = "setting.hint.group_tariffs"

    def parse(self, text: str) -> Pairs:
        if text.strip().lower() in ("-", "—", "нет", "none", "off"):
            return ()
        pairs = []
        for part in (p for p in re.split(r"[,;\s]+", text.strip()) if p):
            found = re.fullmatch(r"(\d{1,9})[:=](\d{1,9})", part)
            if found is None:
                raise SettingError("setting.rule.group_tariffs")
            pairs.append((int(found[1]), int(found[2])))
        return self.check(pairs)

    def check(self, value: Any) -> Pairs:
        items = list(value.items()) if isinstance(value, Mapping) else list(value)
        try:
            pairs = {int(group): int(tariff) for group, tariff in items}
        except (TypeError, ValueError) as exc:
            raise SettingError("setting.rule.group_tariffs") from exc
        return tuple(sorted(pairs.items()))

    def render(self, value: Pairs) -> str:
        return ", ".join(f"{group}:{tariff}" for group, tariff in value) or "—"

    def dump(self, value: Pairs) -> Any:
        return [list(pair) for pair in value]


GROUP_TARIFFS = declare(
    Setting(
        "taximaster.group_tariffs",
        GroupTariffs(),
        (),
        Scope.GLOBAL,
        "taximaster",
        "tariffs",
        live=True,
        env="TAXIMASTER_GROUP_TARIFFS",
    )
)


@dataclass(frozen=True)
class TariffRules:
    """Which tariff /taxi prices with (handlers/taximaster/pricing.py), as set now."""

    tariff_id: int | None
    group_tariffs: dict[int, int]


async def tariff_rules(values: SettingsValues) -> TariffRules:
    tariff_id = await values.get(TARIFF_ID)
    groups = await values.get(GROUP_TARIFFS)
    return TariffRules(None if tariff_id is None else int(tariff_id), dict(groups))
