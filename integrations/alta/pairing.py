"""Which row of a ``show`` report belongs to which wagon or container.

The document does not show ``show``'s body; Alta's wiki confirms only ``station`` and
``station_name``. So a row's number is looked for where it is likely
(:meth:`Dislocation.from_raw` reads the usual field names), then in ANY value of the row that is
one of the request's numbers (written with spaces or in lower case too). What is left:

* a request of ONE number pairs with its one row, whatever the row calls itself;
* a row naming a valid number we do not watch is another number of the request: not ours;
* a row with no recognisable number at all is **unpaired**: the caller logs it and says so
  (the watcher raises a notice for admins and /status) — it is never dropped silently.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from integrations.alta.models import Dislocation
from integrations.alta.numbers import NumberKind, check_number, normalize


@dataclass
class Pairing:
    rows: dict[str, Dislocation] = field(default_factory=dict)  # number -> its row
    unpaired: list[Dislocation] = field(default_factory=list)  # rows with no number we know


def _values(raw: Mapping[str, Any]) -> list[str]:
    return [normalize(str(v)) for v in raw.values() if isinstance(v, str | int) and v != ""]


def number_of(row: Dislocation, expected: Collection[str]) -> str | None:
    """The number a row is about: one of ``expected`` if the row names it anywhere, else any
    valid wagon/container number it names, else None."""
    named = normalize(row.number) if row.number else ""
    if named in expected:
        return named
    values = _values(row.raw)
    for value in values:
        if value in expected:
            return value
    if named and isinstance(check_number(named), NumberKind):
        return named
    return next((v for v in values if isinstance(check_number(v), NumberKind)), None)


def pair_rows(
    reports: list[Dislocation], numbers: Collection[str], *, request_size: int | None = None
) -> Pairing:
    """Pair ``reports`` (one ``show``) with ``numbers`` (those of the request we care about).
    ``request_size``: how many numbers the request holds (``vagon_count``), if known — a
    one-number request pairs with its one row."""
    expected = {normalize(n) for n in numbers}
    pairing = Pairing()
    for row in reports:
        number = number_of(row, expected)
        if number is None:
            pairing.unpaired.append(row)
        elif number in expected:
            pairing.rows.setdefault(number, row)
    one_number = (request_size or len(expected)) == 1 and len(expected) == 1
    if one_number and len(reports) == 1 and not pairing.rows:
        pairing.rows[next(iter(expected))] = reports[0]
        pairing.unpaired = []
    return pairing
