"""The seven methods ("actions") of Alta's JSON-API and how each one is sent.

Reads go out as GET (and may be retried after a network error), writes as POST with every
parameter in the form body (never retried: ``add`` costs money, a repeat could put a wagon on
tracking twice). ``show`` is a read but is never retried either: Alta asks for at most one
``show`` a minute and may block clients that poll faster.
"""

from __future__ import annotations

from enum import Enum
from typing import Final


class Kind(Enum):
    READ = "read"
    WRITE = "write"


ACTIONS: Final[dict[str, Kind]] = {
    "test_secret": Kind.READ,
    "add": Kind.WRITE,
    "show": Kind.READ,
    "cancel_track": Kind.WRITE,
    "track_list": Kind.READ,
    "carr_list": Kind.READ,
    "balance": Kind.READ,
}

READ_ACTIONS: Final = frozenset(name for name, kind in ACTIONS.items() if kind is Kind.READ)
WRITE_ACTIONS: Final = frozenset(name for name, kind in ACTIONS.items() if kind is Kind.WRITE)
# Reads a network failure may repeat at once; show waits for the next minute instead.
RETRYABLE_ACTIONS: Final = READ_ACTIONS - {"show"}

SERVICE: Final = "rail_tracking"
DEFAULT_BASE_URL: Final = "https://www.alta.ru/rail_tracking/api_v2.php"
# The documented test account and numbers (tests/data/alta/ keeps them as data too).
TEST_LOGIN: Final = "alta@alta.ru"
TEST_SA: Final = "sa000000"
TEST_PASSWORD: Final = "alta_test"
TEST_SECRET: Final = "bb92dcee8bf2b49287e1038b65a72b79"
TEST_WAGON: Final = "54676515"
TEST_CONTAINER: Final = "AMFU8899067"
TEST_WAGON_HASH: Final = "ebc356dfa5beee7d3844ccacf535410c"
TEST_CONTAINER_HASH: Final = "931700e35d7ff88a10bd5d680da50f02"
