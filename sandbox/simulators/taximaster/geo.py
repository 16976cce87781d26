"""Geometry of the simulator's city: addresses to coordinates, zones, routes in kilometres."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sandbox.simulators.taximaster.city import (
    CENTER,
    CITY_RADIUS_KM,
    DISTRICTS,
    OUT_OF_TOWN_ZONE,
    POINTS,
    ROAD_FACTOR,
    STREETS,
    Point,
    Street,
)

LatLon = tuple[float, float]

_HOUSE_RE = re.compile(r"^(?P<street>.+?)[,\s]+(?:д\.?\s*|дом\s*)?(?P<house>\d+[^\s,]*)\s*$", re.I)


def distance_km(a: LatLon, b: LatLon) -> float:
    """Great-circle distance."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, h)))


def interpolate(a: LatLon, b: LatLon, fraction: float) -> LatLon:
    fraction = min(1.0, max(0.0, fraction))
    return (a[0] + (b[0] - a[0]) * fraction, a[1] + (b[1] - a[1]) * fraction)


def in_city(point: LatLon) -> bool:
    return distance_km(CENTER, point) <= CITY_RADIUS_KM


def zone_of(point: LatLon) -> tuple[int, str]:
    if not in_city(point):
        return OUT_OF_TOWN_ZONE
    d_lat = point[0] - CENTER[0]
    d_lon = (point[1] - CENTER[1]) * math.cos(math.radians(CENTER[0]))
    bearing = (math.degrees(math.atan2(d_lon, d_lat)) + 360) % 360  # 0 = north
    sector = int(((bearing - 22.5) % 360) // (360 / len(DISTRICTS)))
    return DISTRICTS[sector]


def house_numbers(street: Street) -> list[str]:
    """1…N, with an "а" building after every tenth house (``10а``)."""
    numbers: list[str] = []
    for n in range(1, street.houses + 1):
        numbers.append(str(n))
        if n % 10 == 0:
            numbers.append(f"{n}а")
    return numbers


def house_position(street: Street, house: str) -> LatLon | None:
    digits = re.match(r"\d+", house)
    if digits is None or house not in house_numbers(street):
        return None
    n = int(digits.group())
    lat, lon = interpolate(street.start, street.end, (n - 1) / max(1, street.houses - 1))
    side = 0.00012 if n % 2 else -0.00012  # odd and even sides of the street
    return (lat + side, lon)


def find_street(name: str) -> Street | None:
    wanted = _norm(name)
    return next((s for s in STREETS if _norm(s.name) == wanted), None)


def find_point(name: str) -> Point | None:
    wanted = _norm(name)
    return next((p for p in POINTS if _norm(p.name) == wanted), None)


def locate(address: str) -> LatLon | None:
    """ "улица Малышева, 36", "улица Малышева 36", "Аэропорт Кольцово" -> coordinates."""
    text = address.strip()
    point = find_point(text)
    if point is not None:
        return (point.lat, point.lon)
    match = _HOUSE_RE.match(text)
    if match:
        street = find_street(match["street"])
        if street is not None:
            return house_position(street, match["house"].lower())
    street = find_street(text)
    if street is not None:  # a street without a house: its middle
        return interpolate(street.start, street.end, 0.5)
    return None


@dataclass(frozen=True)
class Route:
    source: LatLon
    dest: LatLon
    city_km: float
    country_km: float
    source_country_km: float  # from the city edge to a pickup out of town

    @property
    def total_km(self) -> float:
        return self.city_km + self.country_km


def route(source: LatLon, dest: LatLon, samples: int = 60) -> Route:
    """Kilometres by road, split into city and country by sampling the straight line."""
    total = distance_km(source, dest) * ROAD_FACTOR
    outside = sum(
        1 for i in range(samples) if not in_city(interpolate(source, dest, (i + 0.5) / samples))
    )
    country = total * outside / samples
    source_country = 0.0
    if not in_city(source):
        source_country = (distance_km(CENTER, source) - CITY_RADIUS_KM) * ROAD_FACTOR
    return Route(
        source, dest, round(total - country, 2), round(country, 2), round(source_country, 2)
    )


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())
