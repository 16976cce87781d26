"""The price of a trip before ordering: which tariff, and the price lines (/taxi, /taxi_cost).

The tariff, never one the server marks switched off (``is_active: false``, sent by servers
newer than the document):

1. for an order of a crew group, the group's own tariff: ``TAXIMASTER_GROUP_TARIFFS`` (group
   id -> tariff id), else the tariff named as the group («Комфорт» for the «Комфорт» crews —
   the document links groups and tariffs nowhere, so the name is the link unless set);
2. ``TAXIMASTER_TARIFF_ID``;
3. the dispatch service's first tariff.

The price always names the tariff it used.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n
from bot.settings.values import SettingsValues
from handlers.taximaster.parsing import error_text
from handlers.taximaster.render import render_cost
from handlers.taximaster.settings import TariffRules, tariff_rules
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.errors import TaxiMasterError
from integrations.taximaster.models import NamedItem, Tariff

log = logging.getLogger(__name__)


def default_tariff(tariffs: list[Tariff], rules: TariffRules) -> Tariff | None:
    """``TAXIMASTER_TARIFF_ID`` if it is active (or unknown to the list: the setting is
    trusted), else the first active tariff."""
    wanted = rules.tariff_id
    if wanted is not None:
        named = next((t for t in tariffs if t.id == wanted), None)
        if named is None:
            return Tariff(id=wanted, name=f"№{wanted}")
        if named.active:
            return named
        log.warning("TAXIMASTER_TARIFF_ID=%s is switched off in Taxi-Master: not used", wanted)
    return next((t for t in tariffs if t.active), None)


def group_tariff(
    tariffs: list[Tariff], rules: TariffRules, group: NamedItem | None
) -> Tariff | None:
    """The crew group's own tariff, if it has one (see the module's rule)."""
    if group is None:
        return None
    wanted = rules.group_tariffs.get(group.id)
    if wanted is not None:
        named = next((t for t in tariffs if t.id == wanted), None)
        if named is None:
            return Tariff(id=wanted, name=f"№{wanted}")
        return named if named.active else None
    same = group.name.strip().casefold()
    return next((t for t in tariffs if t.active and t.name.strip().casefold() == same), None)


async def pick_tariff(
    taximaster: TaxiMasterClient, rules: TariffRules, group: NamedItem | None = None
) -> Tariff | None:
    tariffs = await taximaster.get_tariffs_list()
    return group_tariff(tariffs, rules, group) or default_tariff(tariffs, rules)


async def price_lines(
    taximaster: TaxiMasterClient,
    settings_values: SettingsValues,
    i18n: PoI18n,
    source: str,
    dest: str,
    source_time: datetime | None,
    *,
    is_prior: bool,
    group: NamedItem | None = None,
) -> tuple[list[str], float | None]:
    """analyze_route + calc_order_cost with the tariff, as lines; a failure is a line too (the
    order can still be placed: the dispatch service prices it anyway)."""
    try:
        tariff = await pick_tariff(taximaster, await tariff_rules(settings_values), group)
        if tariff is None:
            return [_("taximaster.cost.no_tariff")], None
        if dest:
            route, cost = await taximaster.estimate_cost(
                source, dest, tariff.id, source_time=source_time
            )
        else:
            route = None
            cost = await taximaster.calc_order_cost(
                tariff.id, source_time=source_time, is_prior=is_prior
            )
    except TaxiMasterError as exc:
        log.debug("taxi price of %r -> %r failed: %s", source, dest, exc.detail)
        return [_("taximaster.cost.failed").format(error=error_text(exc, i18n))], None
    return render_cost(cost, tariff.name or str(tariff.id), route, with_dest=bool(dest)), cost.sum
