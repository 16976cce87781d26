"""The integrations the bot knows, by name, as people know them."""

from __future__ import annotations

from typing import Final

# integration name (watcher, settings prefix, /pause argument) -> the name users know
SERVICE_TITLES: Final[dict[str, str]] = {
    "movizor": "Movizor",
    "mobiforce": "Mobiforce",
    "taximaster": "Taxi-Master",
    "alta": "Alta",
}
