"""The 20 functions of the Movizor API and whether each one reads or writes.

One table, used by the client (reads go out as GET and may be retried; writes go out as POST and
are never retried, because a timed-out write may still have happened on the server and a repeat
could add, charge or delete twice), by the error table, and by the simulator.
"""

from __future__ import annotations

from enum import Enum
from typing import Final


class Kind(Enum):
    READ = "read"
    WRITE = "write"


FUNCTIONS: Final[dict[str, Kind]] = {
    "balance": Kind.READ,
    "object_add": Kind.WRITE,
    "object_get": Kind.READ,
    "object_edit": Kind.WRITE,
    "object_list": Kind.READ,
    "object_delete": Kind.WRITE,
    "object_reactivate": Kind.WRITE,
    "object_cancel_tariff": Kind.WRITE,
    "pos_last": Kind.READ,
    # pos_request costs money and starts a locate on the operator's side: a write.
    "pos_request": Kind.WRITE,
    "pos_get": Kind.READ,
    "pos_objects": Kind.READ,
    "pos_list": Kind.READ,
    "distance_search": Kind.READ,
    "get_operator": Kind.READ,
    "tariff_calculator": Kind.READ,
    "events": Kind.READ,
    "share_list": Kind.READ,
    "share_add": Kind.WRITE,
    "share_delete": Kind.WRITE,
}

READ_FUNCTIONS: Final = frozenset(name for name, kind in FUNCTIONS.items() if kind is Kind.READ)
WRITE_FUNCTIONS: Final = frozenset(name for name, kind in FUNCTIONS.items() if kind is Kind.WRITE)
