"""The four vendor simulators (stand-ins for the real services), one package per vendor.

The product never imports them: they serve `make demo` (``DEMOS`` below, by service name —
the name a service registers in bot/services.py), the tests and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sandbox.simulators.alta.demo import demo as alta_demo
from sandbox.simulators.backend import Clock, DemoBackend
from sandbox.simulators.mobiforce.demo import demo as mobiforce_demo
from sandbox.simulators.movizor.demo import demo as movizor_demo
from sandbox.simulators.taximaster.demo import demo as taximaster_demo

# Each starts its simulator seeded, on the demo's clock.
DEMOS: dict[str, Callable[[Clock], Awaitable[DemoBackend]]] = {
    "movizor": movizor_demo,
    "mobiforce": mobiforce_demo,
    "taximaster": taximaster_demo,
    "alta": alta_demo,
}
