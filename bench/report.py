"""What a bench section hands back, and how ``python -m bench`` prints it.

Sections return plain :class:`Row` values instead of printing, so the runner can put every
figure in one table with its target next to it, and a new section needs no printing code.
There are no assertions: a missed target is reported (``met? = NO``), never raised, because the
numbers depend on the machine and are for people to read.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Comparison = Literal["<=", ">=", "=="]


@dataclass(frozen=True)
class Target:
    """A goal for one figure, e.g. ``Target("<=", 1.5)``."""

    op: Comparison
    limit: float

    def met_by(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        return value == self.limit

    def __str__(self) -> str:
        return f"{self.op} {self.limit:g}"


def at_most(limit: float) -> Target:
    return Target("<=", limit)


def exactly(limit: float) -> Target:
    return Target("==", limit)


@dataclass(frozen=True)
class Row:
    """One measured figure. ``decimals`` only affects printing."""

    name: str
    value: float
    unit: str = ""
    target: Target | None = None
    decimals: int = 2

    @property
    def met(self) -> bool | None:
        """None when the figure is informational (no target)."""
        return None if self.target is None else self.target.met_by(self.value)


def header() -> str:
    """One line saying where the numbers come from: they mean little without it."""
    cores = os.cpu_count() or 0
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return (
        f"logibot bench: {cores} cores, {python}, {platform.system()} {platform.machine()}, "
        f"load average {load}, {sys.executable}"
    )


def _met_text(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def format_table(rows: Sequence[Row]) -> str:
    """A fixed-width table: name, value, unit, target, met?"""
    titles = ("name", "value", "unit", "target", "met?")
    cells = [
        (
            row.name,
            f"{row.value:.{row.decimals}f}",
            row.unit,
            "-" if row.target is None else str(row.target),
            _met_text(row.met),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [titles, *cells]) for i in range(len(titles))]

    def line(values: Sequence[str]) -> str:
        name, value, unit, target, met = values
        return (
            f"{name:<{widths[0]}}  {value:>{widths[1]}}  {unit:<{widths[2]}}  "
            f"{target:<{widths[3]}}  {met}"
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(titles), rule, *(line(values) for values in cells)])
