"""Movizor's settings: the poll period (within the account's hourly budget) and the directory
sync. MOVIZOR_HOURLY_LIMIT stays an environment variable: it is the account's contract."""

from __future__ import annotations

import math

from bot.settings.registry import Number, Rule, Scope, Setting, SettingError, declare, declare_poll

# Calls one poll period costs at least: the watcher's events page and its positions
# (pos_objects), and the /follow live locations' positions (handlers/movizor/live_locations.py).
CALLS_PER_POLL = 3
# The directory sync leaves this share of the hourly budget to the watcher and the commands
# (handlers/movizor/directory_sync.py RESERVE_SHARE); polling may spend at most that share.
POLL_SHARE = 0.5

POLL_SECONDS = declare_poll("movizor", 60, min=5)
DIRECTORY_SYNC_HOURS = declare(
    Setting(
        "movizor.directory_sync_hours",
        Number(min=0, max=365 * 24, unit="hours", integer=False),
        6.0,
        Scope.GLOBAL,
        "movizor",
        "polling",
        live=True,
        env="MOVIZOR_DIRECTORY_SYNC_HOURS",
    )
)


def fastest_poll(hourly_limit: int) -> int:
    """The shortest poll period whose calls fit the polling share of the hourly budget."""
    return math.ceil(CALLS_PER_POLL * 3600 / (hourly_limit * POLL_SHARE))


def budget_rule(hourly_limit: int) -> Rule:
    """Movizor allows 5000 requests an hour per account (the bot keeps MOVIZOR_HOURLY_LIMIT);
    a poll period that would spend more than the polling share of it is refused."""

    def rule(seconds: int) -> None:
        fastest = fastest_poll(hourly_limit)
        if seconds < fastest:
            raise SettingError(
                "setting.rule.movizor_budget",
                min=fastest,
                calls=CALLS_PER_POLL,
                limit=hourly_limit,
            )

    return rule
