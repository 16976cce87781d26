"""The modules that declare settings, imported once so `all_settings()` is complete.

A feature that declares settings adds its module here (one line): the app, `logibot check`
and the configuration's validation all go through `load_declarations`.
"""

from __future__ import annotations

import importlib
from typing import Any

from bot.settings.registry import Setting, all_settings

DECLARING_MODULES: tuple[str, ...] = (
    "bot.settings.general",
    "bot.settings.chat",
    "handlers.movizor.settings",
    "handlers.mobiforce.settings",
    "handlers.taximaster.settings",
    "handlers.alta.settings",
    "bot.digests.settings",
    "bot.escalation.settings",
)


def load_declarations() -> list[Setting[Any]]:
    for module in DECLARING_MODULES:
        importlib.import_module(module)
    return all_settings()
