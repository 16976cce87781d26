"""Where a simulated driver is: geometry and kinematics, as pure functions of the object.

A driver leaves the first route point at ``depart_at`` and follows the points in straight
lines at ``speed_kmh``; ``parking`` windows stop the clock of driving, ``detours`` windows move
the driver ``detour_km`` sideways off the line. Forecasts compare the time left at that speed
with each point's planned arrival.
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import datetime, timedelta
from typing import Final

from sandbox.simulators.movizor.data import CITIES
from sandbox.simulators.movizor.state import SimObject

LATE_GRACE: Final = timedelta(minutes=5)


# --- geometry -----------------------------------------------------------------------------------


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


class Path:
    """A polyline with cumulative distances, for "where is the driver after N km"."""

    def __init__(self, points: list[tuple[float, float]]) -> None:
        self.points = points
        self.cum = [0.0]
        for a, b in itertools.pairwise(points):
            self.cum.append(self.cum[-1] + haversine_km(a, b))

    @property
    def total(self) -> float:
        return self.cum[-1]

    def at(self, km: float) -> tuple[float, float, tuple[float, float]]:
        """Position after ``km`` and the unit direction (dlat, dlon) of the segment there."""
        if len(self.points) == 1:
            lat, lon = self.points[0]
            return lat, lon, (1.0, 0.0)
        km = min(max(km, 0.0), self.total)
        for i in range(1, len(self.points)):
            if km <= self.cum[i] or i == len(self.points) - 1:
                (lat1, lon1), (lat2, lon2) = self.points[i - 1], self.points[i]
                length = self.cum[i] - self.cum[i - 1]
                f = 0.0 if length == 0 else (km - self.cum[i - 1]) / length
                dlat, dlon = lat2 - lat1, lon2 - lon1
                norm = math.hypot(dlat, dlon) or 1.0
                return lat1 + f * dlat, lon1 + f * dlon, (dlat / norm, dlon / norm)
        raise AssertionError("unreachable")  # pragma: no cover


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def path_of(obj: SimObject) -> Path:
    """The line the driver follows: its route, or from its home town to a single point."""
    points = [(p.lat, p.lon) for p in obj.route]
    if len(points) < 2:
        points = [obj.home, *points]
    return Path(points)


def driving(obj: SimObject, at: datetime) -> tuple[float, bool, bool]:
    """(km driven, parked now, off route now) at ``at``."""
    if obj.depart_at is None or at <= obj.depart_at or not obj.route:
        return 0.0, False, False
    minutes = (at - obj.depart_at).total_seconds() / 60
    parked_min = sum(_overlap(0, minutes, s, s + d) for s, d in obj.parking)
    parked = any(s <= minutes < s + d for s, d in obj.parking)
    detour = any(s <= minutes < s + d for s, d in obj.detours)
    return obj.speed_kmh * (minutes - parked_min) / 60, parked, detour


def position_at(obj: SimObject, at: datetime, rng: random.Random) -> tuple[float, float]:
    """Where a locate at ``at`` finds the phone."""
    path = path_of(obj)
    km, _, detour = driving(obj, at)
    lat, lon, (dlat, dlon) = path.at(km)
    if not obj.route:
        # No route: stands in its town, with a little locate noise.
        return lat + rng.uniform(-0.01, 0.01), lon + rng.uniform(-0.01, 0.01)
    if detour:
        # Step aside perpendicular to the road by detour_km.
        cos_lat = max(math.cos(math.radians(lat)), 0.1)
        lat += -dlon * obj.detour_km / 111.0
        lon += dlat * obj.detour_km / (111.0 * cos_lat)
    return lat, lon


def forecast(obj: SimObject, at: datetime) -> tuple[float | None, float | None, str | None]:
    """Update per-point statuses; return (km left, hours left, ok/late) to the end point."""
    if not obj.route:
        return None, None, None
    path = path_of(obj)
    km, _, _ = driving(obj, at)
    offset = len(path.points) - len(obj.route)
    moving = obj.depart_at is not None and obj.status == "ok"
    for index, point in enumerate(obj.route):
        left = path.cum[index + offset] - km
        if left <= 0.5:
            point.status = "finished"
        elif not moving or point.planned_at is None:
            point.status = "new"
        else:
            eta = at + timedelta(hours=left / obj.speed_kmh)
            point.status = "late" if eta > point.planned_at + LATE_GRACE else "ok"
    remaining = max(path.total - km, 0.0)
    end = obj.route[-1]
    hours = remaining / obj.speed_kmh if moving else None
    if end.status == "finished":
        status: str | None = "ok"
    elif end.status in ("ok", "late"):
        status = end.status
    else:
        status = None
    return round(remaining, 1), None if hours is None else round(hours, 1), status


def place_name(lat: float, lon: float) -> str | None:
    """Movizor's ``place``: the town when near one, else its region; ``None`` far from both."""
    city = min(CITIES, key=lambda c: haversine_km((lat, lon), (c.lat, c.lon)))
    distance = haversine_km((lat, lon), (city.lat, city.lon))
    if distance < 20:
        return city.name
    if distance < 150:
        return city.region
    return None
