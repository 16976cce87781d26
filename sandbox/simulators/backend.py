"""What a vendor simulator brings to `make demo`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import Repos

# The demo's one clock, which a simulator runs on (and the bot too: sandbox/demo.py).
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class DemoBackend:
    """A service's simulator running for `make demo`: the settings that point the bot at it."""

    settings: dict[str, Any]
    stop: Callable[[], Awaitable[None]]
    secrets: tuple[str, ...] = ()  # kept out of the demo's log
    # What the demo stores in the bot's database once it runs (the subjects its watcher
    # follows, when the watcher follows only what the bot put on watch).
    seed: Callable[[Repos], Awaitable[None]] | None = None
