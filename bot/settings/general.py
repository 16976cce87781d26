"""The bot's own settings (not a service's): alert noise control and the audit log's keeping."""

from __future__ import annotations

from bot.settings.registry import Flag, Number, Scope, Setting, declare

ALERT_ROUTINE_MINUTES = declare(
    Setting(
        "alerts.routine_minutes",
        Number(min=0, max=24 * 60, unit="minutes"),
        10,
        Scope.GLOBAL,
        None,
        "alerts",
        live=True,
        env="ALERT_ROUTINE_MINUTES",
    )
)
ALERT_STORM_MODE = declare(
    Setting(
        "alerts.storm_mode",
        Flag(),
        True,
        Scope.GLOBAL,
        None,
        "alerts",
        live=True,
        env="ALERT_STORM_MODE",
    )
)
AUDIT_DAYS = declare(
    Setting(
        "audit.days",
        Number(min=1, max=36500, unit="days"),
        365,
        Scope.GLOBAL,
        None,
        "retention",
        live=True,
        env="AUDIT_DAYS",
    )
)
