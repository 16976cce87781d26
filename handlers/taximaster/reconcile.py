"""At start: creates that were in flight when the process died, or whose answer was lost.

A ``sending`` row means the process stopped with ``create_order`` on its way (killed, crashed,
the machine lost power): the order may exist, and nobody was told. Such a row becomes
``unknown``, its chat is told — "may have been created: check" — and it is never sent again.
Where TMWeb can list current orders, every unsettled create of the last day is looked for and
exactly one match is adopted: its card appears in the chat and it is watched from then on.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n
from handlers.taximaster.pending import adopt, look_for, order_line, post_prompt
from integrations.taximaster.client import TaxiMasterClient
from storage import Repos
from storage.db import utcnow
from storage.taximaster import UNSETTLED, CreateState

log = logging.getLogger(__name__)

# Older unsettled creates are past helping: the pickup time has long gone.
RECONCILE_WINDOW: Final = timedelta(days=1)


async def reconcile_creates(
    bot: Bot,
    repos: Repos,
    taximaster: TaxiMasterClient,
    i18n: PoI18n,
    default_tz: ZoneInfo,
) -> None:
    records = await repos.taximaster.in_states(UNSETTLED, since=utcnow() - RECONCILE_WINDOW)
    for record in records:
        crashed = record.state is CreateState.SENDING
        if crashed and not await repos.taximaster.move(
            record.create_id, CreateState.UNKNOWN, expected=(CreateState.SENDING,)
        ):
            continue  # settled meanwhile
        log.warning(
            "taxi order %s: %s at start, looking for it",
            record.create_id,
            "in flight at the last stop" if crashed else "unknown",
        )
        lookup = await look_for(taximaster, repos, record)
        tz = await repos.subscriptions.zone(record.chat_id, record.thread_id, default_tz)
        with i18n.context(), i18n.use_locale(record.locale):
            found = lookup.found
            if found is not None and await adopt(
                bot, repos, tz, record, found.id, by=record.user_id
            ):
                await bot.send_message(
                    record.chat_id,
                    _("taximaster.pending.adopted_at_start").format(
                        id=found.id, order=order_line(record.payload, tz)
                    ),
                    message_thread_id=record.thread_id or None,
                )
            elif crashed:
                await post_prompt(bot, repos, taximaster, record, tz, lookup, crashed=True)
