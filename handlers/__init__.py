"""One aiogram Router per area, each built by its module's ``make_router()``, and the services.

Routers are built per application (not at import) so that several bots can live in one process,
as they do in the tests and the benchmark. Order matters: the fallback router comes last.

A service is registered by importing its ``handlers/<service>/service.py`` below (one line per
service); its router is included from the registry (bot/services.py).
"""

from __future__ import annotations

from aiogram import Router

import handlers.alta.service  # registers Alta
import handlers.mobiforce.service  # registers Mobiforce
import handlers.movizor.service  # registers Movizor
import handlers.taximaster.service  # noqa: F401  (registers Taxi-Master)
from bot.services import REGISTRY
from handlers import (
    admin,
    alert_actions,
    alert_lists,
    common,
    confirmations,
    digests,
    errors,
    groups,
    status,
    subscriptions,
)
from handlers.escalation import router as escalation_router
from handlers.find import router as find_router
from handlers.settings import router as settings_router


def build_root_router() -> Router:
    root = Router(name="root")
    root.include_routers(
        errors.make_router(),
        groups.make_router(),
        common.make_router(),
        admin.make_router(),
        status.make_router(),
        subscriptions.make_router(),
        settings_router.make_router(),
        alert_actions.make_router(),
        alert_lists.make_router(),
        digests.make_router(),
        escalation_router.make_router(),
        find_router.make_router(),
        *(spec.make_router() for spec in REGISTRY.values()),
        confirmations.make_router(),
        common.make_fallback_router(),
    )
    return root
