"""Percentiles of latency samples.

p50/p95 rather than the mean: one garbage-collection pause or a scheduler hiccup on a 2-core
machine moves a mean a lot and a median hardly at all, and p95 shows the tail on its own.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], pct: int) -> float:
    """The ``pct``-th percentile (1..99), interpolating between the closest samples."""
    if not 1 <= pct <= 99:
        raise ValueError("pct must be within 1..99")
    if len(samples) < 2:
        raise ValueError("need at least two samples")
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def p50_p95(samples: Sequence[float]) -> tuple[float, float]:
    return percentile(samples, 50), percentile(samples, 95)
