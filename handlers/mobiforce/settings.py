"""Mobiforce's settings: the poll period (the change feed and the tasks it names, within the
client's request budget), the directory sync and the status /close sends."""

from __future__ import annotations

import math

from bot.settings.registry import (
    Code,
    Number,
    OptionalKind,
    Rule,
    Scope,
    Setting,
    SettingError,
    declare,
    declare_poll,
)

POLL_SECONDS = declare_poll("mobiforce", 60, min=5)
SYNC_MINUTES = declare(
    Setting(
        "mobiforce.sync_minutes",
        Number(min=5, max=365 * 24 * 60, unit="minutes"),
        60,
        Scope.GLOBAL,
        "mobiforce",
        "polling",
        live=True,
        env="MOBIFORCE_SYNC_MINUTES",
    )
)
# task.overdue: a task unchanged this long after its planned start (it escalates).
OVERDUE_MINUTES = declare(
    Setting(
        "mobiforce.overdue_minutes",
        Number(min=1, max=7 * 24 * 60, unit="minutes"),
        30,
        Scope.GLOBAL,
        "mobiforce",
        "polling",
        live=True,
        env="MOBIFORCE_OVERDUE_MINUTES",
    )
)
# The id of the account's "done" result status that /close sends (close-task result_status).
CLOSE_STATUS = declare(
    Setting(
        "mobiforce.close_status",
        OptionalKind(Code(r"\d{1,12}", "setting.rule.mobiforce_status")),
        None,
        Scope.GLOBAL,
        "mobiforce",
        "tasks",
        live=True,
        env="MOBIFORCE_CLOSE_STATUS",
    )
)


def fastest_poll(max_tasks_per_cycle: int, per_minute: int) -> int:
    """A cycle reads the change feed (one call: up to 3000 changed tasks, the document's page)
    and up to ``max_tasks_per_cycle`` tasks (get-task each): the shortest period whose calls
    fit the client's budget of ``per_minute`` requests a minute."""
    return math.ceil(60 * (1 + max_tasks_per_cycle) / per_minute)


def feed_rule(max_tasks_per_cycle: int, per_minute: int) -> Rule:
    def rule(seconds: int) -> None:
        fastest = fastest_poll(max_tasks_per_cycle, per_minute)
        if seconds < fastest:
            raise SettingError(
                "setting.rule.mobiforce_feed",
                min=fastest,
                tasks=max_tasks_per_cycle,
                per_minute=per_minute,
            )

    return rule
