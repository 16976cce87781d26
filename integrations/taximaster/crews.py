"""Who a crew is — one identity for every screen: call sign + car + driver.

A crew (экипаж) is a driver in a car under a call sign. The same crew must read the same on
/crews, an order's card, every alert and every map point, and the call sign shown for an order
must not change unless its crew does. So there is one source for each part:

* the call sign is the crew's own code (``get_crew_info.code``; the car's code only when the
  crew has none) — never the coordinates' ``crew_code`` of one screen and the car's of another;
* the car is ``get_car_info`` of the car the order names (else the crew's), the driver
  ``get_driver_info`` likewise.

Crews, cars and drivers change rarely, so :class:`CrewDirectory` keeps what it read for
:data:`KEEP_FOR`: a new crew on an order costs up to three calls once, not every cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from integrations.errors import IntegrationError
from integrations.taximaster.models import CarInfo, CrewInfo, DriverInfo

log = logging.getLogger("integrations.taximaster")

KEEP_FOR: Final = timedelta(hours=6)


class CrewRecords(Protocol):
    """The three TMWeb requests a crew's identity is read from (the client has them)."""

    async def get_crew_info(self, crew_id: int) -> CrewInfo: ...
    async def get_car_info(self, car_id: int, *, need_photo: bool = False) -> CarInfo: ...
    async def get_driver_info(self, driver_id: int, *, need_photo: bool = False) -> DriverInfo: ...


@dataclass(frozen=True)
class CrewIdentity:
    crew_id: int
    code: str = ""  # the call sign
    mark: str = ""
    model: str = ""
    color: str = ""
    plate: str = ""
    driver: str = ""  # the driver's full name
    driver_phone: str = ""

    @property
    def car(self) -> str:
        """«Kia Rio, белый, А123ВС196»."""
        parts = [" ".join(p for p in (self.mark, self.model) if p), self.color, self.plate]
        return ", ".join(p for p in parts if p)

    @property
    def label(self) -> str:
        """«011 · Kia Rio, белый, А123ВС196 · Иванов Сергей Петрович»: the one way a crew is
        named (no words of any language in it: a call sign, a car, a name)."""
        parts = [self.code or f"#{self.crew_id}", self.car, self.driver]
        return " · ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CrewIdentity | None:
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (TypeError, KeyError):
            return None


@dataclass
class _Kept:
    value: Any
    at: datetime


class CrewDirectory:
    """Crew, car and driver records read from TMWeb, kept for :data:`KEEP_FOR`."""

    def __init__(self, client: CrewRecords, *, clock: Callable[[], datetime] | None = None) -> None:
        self._client = client
        self._clock = clock or (lambda: datetime.now(UTC))
        self._kept: dict[tuple[str, int], _Kept] = {}

    def calls_needed(self, crew_id: int, *, driver_id: int | None, car_id: int | None) -> int:
        """At most how many requests :meth:`identity` would make now (0: all is kept)."""
        crew = self._fresh("crew", crew_id)
        if crew is None:  # its record, then its car and driver unless kept
            return 1 + (not self._has("car", car_id)) + (not self._has("driver", driver_id))
        car, driver = car_id or crew.car_id, driver_id or crew.driver_id
        return (bool(car) and not self._has("car", car)) + (
            bool(driver) and not self._has("driver", driver)
        )

    async def identity(
        self, crew_id: int, *, driver_id: int | None = None, car_id: int | None = None
    ) -> CrewIdentity:
        """The crew's call sign, car and driver. A part TMWeb cannot give is left empty (a
        card without the car is better than no card); the reason is logged."""
        crew = await self._get("crew", crew_id, self._client.get_crew_info)
        car_id = car_id or (crew.car_id if crew else None)
        driver_id = driver_id or (crew.driver_id if crew else None)
        car = await self._get("car", car_id, self._client.get_car_info) if car_id else None
        driver = (
            await self._get("driver", driver_id, self._client.get_driver_info)
            if driver_id
            else None
        )
        return compose(crew_id, crew, car, driver)

    def _has(self, kind: str, key: int | None) -> bool:
        return key is not None and self._fresh(kind, key) is not None

    def _fresh(self, kind: str, key: int) -> Any:
        kept = self._kept.get((kind, key))
        if kept is None or self._clock() - kept.at > KEEP_FOR:
            return None
        return kept.value

    async def _get(self, kind: str, key: int, fetch: Callable[[int], Any]) -> Any:
        kept = self._fresh(kind, key)
        if kept is not None:
            return kept
        try:
            value = await fetch(key)
        except IntegrationError as exc:
            log.warning("taximaster: %s %s not read: %s", kind, key, exc.detail)
            return None
        self._kept[(kind, key)] = _Kept(value, self._clock())
        return value


def compose(
    crew_id: int, crew: CrewInfo | None, car: CarInfo | None, driver: DriverInfo | None
) -> CrewIdentity:
    return CrewIdentity(
        crew_id=crew_id,
        code=(crew.code if crew else "") or (car.code if car else ""),
        mark=car.mark if car else "",
        model=(car.model or car.name) if car else "",
        color=car.color if car else "",
        plate=car.gos_number if car else "",
        driver=driver.name if driver else "",
        driver_phone=driver.phone if driver else "",
    )
