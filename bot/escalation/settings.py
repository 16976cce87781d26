"""The escalation's settings, per chat (and forum topic), in the settings registry (issue 18).

The chain's steps and the on-call rota are more than one value each: they live in their own
tables and open from a row of the chat's /settings screen (``/escalation``, ``/oncall``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.utils.i18n import I18n

from bot.alerts.kinds import ESCALATING, KINDS
from bot.alerts.render import kind_title
from bot.settings.kinds import SettingError
from bot.settings.registry import (
    Duration,
    Flag,
    Number,
    Scope,
    Setting,
    TextList,
    declare,
    register_chat_section,
)
from integrations.base import Severity

AREA = "escalation"
SECTION_CALLBACK = "esc:open"


@dataclass(frozen=True)
class AlertKindList(TextList):
    """Alert kinds, typed as their codes; shown by their names in the reader's language with
    the code beside each (what to type to change the list)."""

    def render(self, value: tuple[str, ...]) -> str:
        current = I18n.get_current(no_error=True)
        locale = current.current_locale if current is not None else "ru"
        return ", ".join(f"{kind_title(code, locale)} ({code})" for code in value)


def _urgent_kinds_only(value: tuple[str, ...]) -> None:
    for name in value:
        spec = KINDS.get(name)
        if spec is None or spec.area == "system" or spec.severity < Severity.HIGH:
            raise SettingError("esc.rule.kinds", name=name)


ENABLED: Setting[bool] = declare(
    Setting("escalation.enabled", Flag(), True, Scope.CHAT, None, AREA, live=True)
)
KINDS_SETTING: Setting[tuple[str, ...]] = declare(
    Setting(
        "escalation.kinds",
        AlertKindList(
            item_pattern=r"[a-z]+\.[a-z_]+", rule_key="esc.rule.kinds_list", max_count=30
        ),
        ESCALATING,
        Scope.CHAT,
        None,
        AREA,
        live=True,
        rules=(_urgent_kinds_only,),
    )
)
WAIT: Setting[int] = declare(
    Setting(
        "escalation.wait",
        Duration(min_minutes=1, max_minutes=24 * 60),
        10,
        Scope.CHAT,
        None,
        AREA,
        live=True,
    )
)
ROUNDS: Setting[float] = declare(
    Setting("escalation.rounds", Number(min=1, max=10), 2, Scope.CHAT, None, AREA, live=True)
)
SECTION = register_chat_section(AREA, "esc.section", SECTION_CALLBACK)
