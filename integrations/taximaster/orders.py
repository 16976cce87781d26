"""A new order as it is sent.

TMWeb takes no client-supplied order id, so what identifies an order the bot sent is its
parameters. They are fixed ONCE — :class:`NewOrder` is frozen and ``source_time`` is a fixed
moment, never "now" evaluated again — so what is sent is exactly what the person confirmed, and
a lost create can later be recognised among TMWeb's orders by them
(:mod:`integrations.taximaster.matching`). :meth:`NewOrder.key` names the exact body.

Sending it twice is NOT harmless: the document's code 100 ("Заказ с такими параметрами уже
создан") does not say which parameters it compares, for how long, or that the check is on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from integrations.taximaster.wire import WireValue, encode_params

MAX_PHONE_LENGTH = 16


@dataclass(frozen=True)
class NewOrder:
    """The parameters of ``create_order``; build it once per confirmed order and reuse it."""

    phone: str  # as the dispatch service stores phones, e.g. "89123456789"; at most 16 chars
    source: str  # "Street, house" or a point name, as get_addresses_like returns them
    source_time: datetime  # aware; sent in the dispatch service's zone
    dest: str | None = None
    customer: str | None = None
    comment: str | None = None
    crew_group_id: int | None = None
    uds_id: int | None = None

    def __post_init__(self) -> None:
        if not self.phone.strip() or len(self.phone) > MAX_PHONE_LENGTH:
            raise ValueError(f"phone must be 1…{MAX_PHONE_LENGTH} characters")
        if not self.source.strip():
            raise ValueError("source (the pickup address) is required")
        if self.source_time.tzinfo is None:
            raise ValueError("source_time must be timezone-aware")

    def params(self) -> dict[str, WireValue]:
        """In the document's order; absent optional values are left out of the body."""
        return {
            "phone": self.phone,
            "source": self.source,
            "source_time": self.source_time,
            "dest": self.dest or None,
            "customer": self.customer or None,
            "comment": self.comment or None,
            "crew_group_id": self.crew_group_id,
            "uds_id": self.uds_id,
        }

    def body(self, tz: ZoneInfo) -> str:
        """The exact urlencoded body sent (and signed)."""
        return encode_params(self.params(), tz)

    def key(self, tz: ZoneInfo) -> str:
        """A short stable name of the body: equal keys mean TMWeb sees the same order."""
        return body_key(self.body(tz))


def body_key(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:24]
