"""The digests' settings (bot/settings registry): the chat's hour, what an empty day says, and
how long the history is kept."""

from __future__ import annotations

from datetime import time

from bot.settings.registry import (
    Choice,
    Number,
    OptionalKind,
    Scope,
    Setting,
    TimeOfDay,
    declare,
)

# At what local time (the chat's zone) the chat gets its digest; None: no digest (the default).
DIGEST_HOUR: Setting[time | None] = declare(
    Setting(
        "digest.hour",
        OptionalKind(TimeOfDay(), none_key="setting.value.off"),
        default=None,
        scope=Scope.CHAT,
        service=None,
        area="digest",
        live=True,
    )
)

# A day when nothing happened: one short line, or no message at all.
EMPTY_LINE, EMPTY_SILENT = "line", "nothing"
DIGEST_EMPTY_DAY: Setting[str] = declare(
    Setting(
        "digest.empty_day",
        Choice((EMPTY_LINE, EMPTY_SILENT), label_prefix="setting.digest.empty_day"),
        default=EMPTY_LINE,
        scope=Scope.CHAT,
        service=None,
        area="digest",
        live=True,
    )
)

# History (digests, /report) is kept this many days; /report reaches no further back.
HISTORY_DAYS: Setting[float] = declare(
    Setting(
        "history.days",
        Number(min=1, max=3650, unit="days"),
        default=90,
        scope=Scope.GLOBAL,
        service=None,
        area="retention",
        live=True,
        env="HISTORY_DAYS",
    )
)
