"""The simulator's crews (driver + car + crew group) and where they are at any moment.

Positions are a pure function of time: a free crew circles slowly around where its last trip
ended (or its home), a crew on an order drives to the pickup, waits there, then drives the
passenger to the destination (see :class:`Job`). So ``advance`` needs no stepping and any past
moment can be asked about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from sandbox.simulators.taximaster.geo import LatLon, interpolate

IDLE_RADIUS_DEG = 0.004  # ~400 m: free crews drift around their stand
IDLE_PERIOD_S = 30 * 60.0


@dataclass(frozen=True)
class SimDriver:
    id: int
    name: str
    birthday: date
    license: str
    home_phone: str
    mobile_phone: str
    car_id: int
    is_locked: bool = False
    is_dismissed: bool = False


@dataclass(frozen=True)
class SimCar:
    id: int
    code: str
    mark: str
    model: str
    color: str
    gos_number: str
    production_year: int

    @property
    def name(self) -> str:
        return f"{self.mark} {self.model}"

    @property
    def short_name(self) -> str:
        return f"{self.model} {self.gos_number[1:4]}"


@dataclass
class Job:
    """One order's trip for a crew: drive to ``source`` in [start_at, at_place_at), wait until
    ``inside_at``, drive to ``dest`` until ``finish_at``."""

    order_id: int
    start_at: datetime
    start_pos: LatLon
    source: LatLon
    at_place_at: datetime
    inside_at: datetime
    dest: LatLon
    finish_at: datetime

    def position(self, at: datetime) -> LatLon:
        if at < self.at_place_at:
            return interpolate(
                self.start_pos, self.source, _fraction(self.start_at, self.at_place_at, at)
            )
        if at < self.inside_at:
            return self.source
        return interpolate(self.source, self.dest, _fraction(self.inside_at, self.finish_at, at))

    def stop_at(self, at: datetime) -> None:
        """The order is aborted at ``at``: the crew stays where it is and is free again."""
        here = self.position(at)
        if at < self.at_place_at:
            self.source = here
            self.at_place_at = at
        if at < self.inside_at:
            self.inside_at = at
        self.dest = here
        self.finish_at = min(self.finish_at, at)


@dataclass
class SimCrew:
    id: int
    code: str  # the call sign
    driver_id: int
    car_id: int
    crew_group_id: int
    home: LatLon
    base_state: str = "waiting"  # waiting | on_break | not_available when not on an order
    jobs: list[Job] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"Экипаж {self.code}"

    def job_at(self, at: datetime) -> Job | None:
        return next((j for j in self.jobs if j.start_at <= at < j.finish_at), None)

    def free_at(self, at: datetime) -> bool:
        return self.base_state == "waiting" and all(j.finish_at <= at for j in self.jobs)

    def state_kind(self, at: datetime) -> str:
        return "on_order" if self.job_at(at) is not None else self.base_state

    def position(self, at: datetime) -> LatLon:
        job = self.job_at(at)
        if job is not None:
            return job.position(at)
        done = [j for j in self.jobs if j.finish_at <= at]
        anchor = max(done, key=lambda j: j.finish_at).dest if done else self.home
        if self.base_state != "waiting":
            return anchor
        angle = 2 * math.pi * (at.timestamp() / IDLE_PERIOD_S + self.id / 7)
        return (
            anchor[0] + IDLE_RADIUS_DEG * math.sin(angle) / 2,
            anchor[1] + IDLE_RADIUS_DEG * (math.cos(angle) - 1),
        )


def _fraction(start: datetime, end: datetime, at: datetime) -> float:
    span = (end - start).total_seconds()
    return 1.0 if span <= 0 else (at - start).total_seconds() / span


# --- the seeded fleet: (driver, car, crew group, home stand) ------------------------------------

_FLEET = (
    ("Иванов Сергей Петрович", "Kia", "Rio", "белый", "А123ВС196", 1, (56.8380, 60.5975)),
    ("Петров Алексей Николаевич", "Hyundai", "Solaris", "серый", "В456ОР66", 1, (56.8580, 60.6010)),
    ("Сидоров Дмитрий Иванович", "Volkswagen", "Polo", "синий", "Е789КМ96", 1, (56.8265, 60.6040)),
    ("Кузнецов Андрей Викторович", "Lada", "Vesta", "белый", "К234НТ196", 1, (56.8447, 60.5915)),
    ("Смирнов Игорь Олегович", "Renault", "Logan", "жёлтый", "М567ХА66", 1, (56.8010, 60.6070)),
    ("Попов Максим Андреевич", "Kia", "Rio", "чёрный", "О890СЕ96", 1, (56.8320, 60.6400)),
    (
        "Васильев Артём Сергеевич",
        "Skoda",
        "Octavia",
        "серебристый",
        "Р321УК196",
        2,
        (56.8395, 60.6165),
    ),
    ("Соколов Павел Юрьевич", "Toyota", "Camry", "чёрный", "С654ТМ66", 2, (56.8500, 60.6280)),
    ("Михайлов Роман Игоревич", "Kia", "Optima", "белый", "Т987АВ96", 2, (56.8130, 60.6100)),
    (
        "Новиков Евгений Александрович",
        "Hyundai",
        "Sonata",
        "серый",
        "У135ВЕ196",
        2,
        (56.8700, 60.6120),
    ),
    (
        "Фёдоров Константин Львович",
        "Volkswagen",
        "Caravelle",
        "белый",
        "Х246ЕН66",
        3,
        (56.8300, 60.5800),
    ),
    (
        "Морозов Виктор Степанович",
        "Mercedes-Benz",
        "Vito",
        "чёрный",
        "Н579РС96",
        3,
        (56.8420, 60.6600),
    ),
)


def seed_fleet(
    size: int | None = None,
) -> tuple[dict[int, SimCrew], dict[int, SimDriver], dict[int, SimCar]]:
    """The twelve crews above; ``size`` more for a big city (the benchmark's 500 orders need a
    fleet to match): the same cars and drivers again, under other plates and call signs, their
    stands scattered around the first twelve's."""
    crews: dict[int, SimCrew] = {}
    drivers: dict[int, SimDriver] = {}
    cars: dict[int, SimCar] = {}
    for n in range(1, (size or len(_FLEET)) + 1):
        name, mark, model, color, plate, group, home = _FLEET[(n - 1) % len(_FLEET)]
        if n > len(_FLEET):
            plate = f"{plate[0]}{n % 1000:03d}{plate[4:]}"
            home = (home[0] + 0.01 * math.sin(n), home[1] + 0.02 * math.cos(n))
        code = f"{n * 11:03d}" if n <= len(_FLEET) else str(1000 + n)
        car = SimCar(100 + n, str(100 + n), mark, model, color, plate, 2015 + n % 9)
        driver = SimDriver(
            id=200 + n,
            name=name,
            birthday=date(1970 + n % 12 * 2, 1 + n % 12, 10 + n % 12),
            license=f"66{n:02d} {400000 + n * 1373}",
            home_phone=f"343{2000000 + n * 1111}",
            mobile_phone=f"+7912{6000000 + n * 12345:07d}",
            car_id=car.id,
        )
        crews[n] = SimCrew(n, code, driver.id, car.id, group, home)
        drivers[driver.id], cars[car.id] = driver, car
    crews[10].base_state = "on_break"  # a Comfort crew on a break
    return crews, drivers, cars
