"""How the Movizor simulator writes its answers: loose types on purpose, like the real
service (a number comes as a number or as a string, money with or without its two decimals,
an empty dict as PHP's ``[]``), so the client is tested against all of them."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integrations.movizor.models import format_moscow
from sandbox.simulators.movizor.motion import forecast
from sandbox.simulators.movizor.state import Fix, SimObject


class Wire:
    """Renders the world's records as Movizor's JSON, choosing the loose types by ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def num(self, value: float) -> float | str:
        """Sometimes a number, sometimes a string: Movizor does both."""
        if self.rng.random() < 0.5:
            return f"{value:.10g}" if isinstance(value, float) else str(value)
        return int(value) if float(value).is_integer() else value

    def money(self, value: float) -> float | str:
        return f"{value:.2f}" if self.rng.random() < 0.8 else value

    def fix(self, fix: Fix | None) -> dict[str, Any]:
        if fix is None:
            return {}
        return {
            "lon": f"{fix.lon:.6f}",
            "lat": f"{fix.lat:.6f}",
            "timestamp": self.num(int(fix.at.timestamp())),
            "radius": self.num(fix.radius),
            "distance": None if fix.distance is None else self.num(round(fix.distance)),
            "distance_forecast_time": None if fix.eta_hours is None else self.num(fix.eta_hours),
            "distance_forecast_status": fix.forecast,
            "place": fix.place if fix.place is not None else self.rng.choice((None, "")),
        }

    def object(self, obj: SimObject, at: datetime) -> dict[str, Any]:
        fix = obj.last_fix
        forecast(obj, at)  # per-point statuses as of now
        return {
            "phone": obj.phone,
            "status": obj.status,
            "confirmed": obj.confirmed,
            "title": obj.title,
            "tariff": obj.tariff,
            "tariff_new": obj.tariff_new,
            "last_timestamp": int(fix.at.timestamp()) if fix else 0,
            "at_request": obj.pending is not None,
            "current_lon": f"{fix.lon:.6f}" if fix else None,
            "current_lat": f"{fix.lat:.6f}" if fix else None,
            "place": (fix.place or "") if fix else "",
            "distance": self.num(round(fix.distance)) if fix and fix.distance is not None else 0,
            "distance_forecast_time": fix.eta_hours if fix else None,
            "distance_forecast_status": fix.forecast if fix else None,
            "on_parking": obj.parked,
            "destination": [
                {
                    "text": point.text,
                    "lat": f"{point.lat:.6f}",
                    "lon": f"{point.lon:.6f}",
                    "time": format_moscow(point.planned_at) if point.planned_at else "",
                    "status": point.status,
                }
                for point in obj.route
            ],
            "offline_time": int(fix.at.timestamp()) if obj.pos_error and fix else 0,
            "pos_error": obj.pos_error,
            "timestamp_off": str(int(obj.timestamp_off.timestamp())) if obj.timestamp_off else "0",
            "timestamp_add": str(int(obj.added_at.timestamp())),
            # PHP encodes an empty array as [] instead of {}: keep that quirk.
            "metadata": dict(obj.metadata) if obj.metadata else [],
        }

    @staticmethod
    def event(event: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **event,
            "id": str(event["id"]),
            "timestamp": str(int(event["timestamp"].timestamp())),
        }
