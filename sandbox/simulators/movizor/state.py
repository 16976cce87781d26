"""State records of the Movizor simulator: tracked objects, positions, requests, shares.

Plain dataclasses, no behaviour beyond trivial accessors: the rules live in
:mod:`sandbox.simulators.movizor.world` and :mod:`sandbox.simulators.movizor.api`, the movement
in :mod:`sandbox.simulators.movizor.motion`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class SimError(Exception):
    """A documented error answer: ``code`` is looked up in the error table for the text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Reply:
    """A success answer: envelope ``code``/``message`` and optional ``data``."""

    code: str = "OK"
    message: str = ""
    data: Any = None


@dataclass
class Fix:
    """One located position with the forecast computed at that moment."""

    at: datetime
    lat: float
    lon: float
    radius: int
    place: str | None
    distance: float | None
    eta_hours: float | None
    forecast: str | None


@dataclass
class SimPoint:
    text: str
    lat: float
    lon: float
    planned_at: datetime | None
    status: str = "new"


@dataclass
class PosRequest:
    id: int
    phone: str
    created_at: datetime
    done_at: datetime
    state: str = "queued"  # queued | done | failed
    fix: Fix | None = None


@dataclass
class SimObject:
    """A tracked phone and, once confirmed, the driver carrying it."""

    phone: str
    title: str
    operator: str
    added_at: datetime
    tariff: str = "manual"
    tariff_new: str | None = None
    status: str = "new"
    confirmed: bool = False
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    timestamp_off: datetime | None = None
    route: list[SimPoint] = field(default_factory=list)
    home: tuple[float, float] = (55.755826, 37.6173)
    speed_kmh: float = 60.0
    depart_at: datetime | None = None
    parking: list[tuple[float, float]] = field(default_factory=list)
    detours: list[tuple[float, float]] = field(default_factory=list)
    detour_km: float = 8.0
    loop: bool = False  # drive the route back and forth (demo)
    unreachable: str | None = None  # None | "offline" | "roaming" | "error"
    confirmed_at: datetime | None = None
    fixes: list[Fix] = field(default_factory=list)
    last_request_at: datetime | None = None
    pending: PosRequest | None = None
    pos_error: bool = False
    timers: dict[str, datetime] = field(default_factory=dict)
    # what the last locate saw, to emit events on changes
    on_route: bool | None = None
    was_on_route: bool = False
    parked: bool | None = None
    forecast: str | None = None
    arriving_sent: bool = False

    @property
    def last_fix(self) -> Fix | None:
        return self.fixes[-1] if self.fixes else None


@dataclass
class Share:
    id: int
    key: str
    created_at: datetime
    phones: list[str]
    link: str
    req_limit: int
    timestamp_off: datetime | None
    client: str
    comments: str
    email: str
