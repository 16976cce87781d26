"""Which current order is the one a lost ``create_order`` made? The adoption rule.

TMWeb gives an order no marker of ours (``create_order`` takes none), so a create whose answer
was lost is looked for among ``get_current_orders(phone=…)`` by what it was sent with. An order
matches when ALL of these hold (a field the server leaves out is not held against it):

* the same phone (the last ten digits: ``8912…`` and ``+7912…`` are one number);
* the pickup time within :data:`PICKUP_TOLERANCE` of the one sent;
* created (``start_time``) no earlier than :data:`CLOCK_SKEW` before the send and no later
  than :data:`CREATED_WITHIN` after it;
* the same pickup address and, when one was sent, the same destination — compared by their
  words without street-type words and punctuation (``улица Малышева, 51`` is
  ``Малышева ул., д. 51``);
* made through the API (``creation_way``), not by an operator over the phone;
* not an order already known to the bot as made by another create.

Exactly one match is adopted. Several are not guessed between: the person chooses.

When TMWeb itself answered 100 ("an order with these parameters already exists"), the order
need not be ours: the creation time and the way it was made are not checked
(``made_by_us=False``), the rest is.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Final

from integrations.taximaster.models import CurrentOrder
from integrations.taximaster.orders import NewOrder

PICKUP_TOLERANCE: Final = timedelta(minutes=1)
CLOCK_SKEW: Final = timedelta(minutes=2)  # the bot's clock and TMWeb's may differ a little
CREATED_WITHIN: Final = timedelta(minutes=15)
# creation_way values of orders that did not come through an API
NOT_BY_API: Final = frozenset(
    {"operator", "sms", "market", "driver", "daily_order", "taxophone", "taxophone_web"}
)
# Street-type words and house markers, full and short, that do not tell two places apart
TYPE_WORDS: Final = frozenset(
    {
        "улица",
        "ул",
        "проспект",
        "пр",
        "пр-т",
        "просп",
        "переулок",
        "пер",
        "бульвар",
        "б-р",
        "бул",
        "шоссе",
        "ш",
        "площадь",
        "пл",
        "набережная",
        "наб",
        "проезд",
        "пр-д",
        "тракт",
        "дом",
        "д",
        "г",
        "город",
    }
)
_WORD = re.compile(r"[0-9a-zа-яё]+(?:[-/][0-9a-zа-яё]+)*", re.IGNORECASE)


def place_words(text: str) -> frozenset[str]:
    """The words that name a place: lower case, ё as е, without type words and punctuation."""
    words = (w.casefold().replace("ё", "е") for w in _WORD.findall(text))
    return frozenset(w for w in words if w not in TYPE_WORDS)


def same_place(sent: str, listed: str) -> bool:
    """Equal words, or one side's words all in the other's (a place with its street added)."""
    ours, theirs = place_words(sent), place_words(listed)
    return bool(ours) and bool(theirs) and (ours <= theirs or theirs <= ours)


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())[-10:]


def matches(
    order: NewOrder, sent_at: datetime, row: CurrentOrder, *, made_by_us: bool = True
) -> bool:
    """Whether ``row`` may be the order ``order`` made when sent at ``sent_at``."""
    if phone_digits(row.phone) != phone_digits(order.phone):
        return False
    if row.source_time is not None and abs(row.source_time - order.source_time) > (
        PICKUP_TOLERANCE
    ):
        return False
    if (
        made_by_us
        and row.start_time is not None
        and not (sent_at - CLOCK_SKEW <= row.start_time <= sent_at + CREATED_WITHIN)
    ):
        return False
    if row.source and not same_place(order.source, row.source):
        return False
    if order.dest and row.destination and not same_place(order.dest, row.destination):
        return False
    return not made_by_us or row.creation_way.strip().lower() not in NOT_BY_API


def find_created(
    order: NewOrder,
    sent_at: datetime,
    rows: Sequence[CurrentOrder],
    *,
    known_ids: Collection[int] = (),
    made_by_us: bool = True,
) -> list[CurrentOrder]:
    """The current orders that may be the one this create made (adopt only if exactly one)."""
    return [
        row
        for row in rows
        if row.id not in known_ids and matches(order, sent_at, row, made_by_us=made_by_us)
    ]
