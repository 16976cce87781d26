"""One aiogram Router per area, each built by its module's ``make_router()``.

Routers are built per application (not at import) so that several bots can live in one process,
as they do in the tests and the benchmark. Order matters: the fallback router comes last.
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    alert_actions,
    common,
    confirmations,
    errors,
    groups,
    status,
    subscriptions,
)
from handlers.movizor import router as movizor


def build_root_router() -> Router:
    root = Router(name="root")
    root.include_routers(
        errors.make_router(),
        groups.make_router(),
        common.make_router(),
        admin.make_router(),
        status.make_router(),
        subscriptions.make_router(),
        alert_actions.make_router(),
        movizor.make_router(),
        confirmations.make_router(),
        common.make_fallback_router(),
    )
    return root
