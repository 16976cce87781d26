"""Reference data for the Movizor simulator: places, operators, tariffs, demo drivers.

Kept apart from the simulator's logic so the rules read without a wall of numbers in between.
Nothing here is Movizor's real data; the shapes are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, NamedTuple


class City(NamedTuple):
    name: str
    lat: float
    lon: float
    region: str


CITIES: Final[tuple[City, ...]] = (
    City("Москва", 55.755826, 37.617300, "Москва"),
    City("Химки", 55.889361, 37.444994, "Московская область"),
    City("Санкт-Петербург", 59.939095, 30.315868, "Санкт-Петербург"),
    City("Великий Новгород", 58.522810, 31.269915, "Новгородская область"),
    City("Тверь", 56.859611, 35.911896, "Тверская область"),
    City("Владимир", 56.129057, 40.406635, "Владимирская область"),
    City("Нижний Новгород", 56.326797, 44.006516, "Нижегородская область"),
    City("Чебоксары", 56.146247, 47.250153, "Чувашская Республика"),
    City("Казань", 55.796127, 49.106405, "Республика Татарстан"),
    City("Самара", 53.195878, 50.100202, "Самарская область"),
    City("Уфа", 54.735152, 55.958736, "Республика Башкортостан"),
    City("Пермь", 58.010455, 56.229443, "Пермский край"),
    City("Екатеринбург", 56.838011, 60.597465, "Свердловская область"),
    City("Челябинск", 55.159902, 61.402554, "Челябинская область"),
    City("Тюмень", 57.152985, 65.541227, "Тюменская область"),
    City("Курган", 55.441004, 65.341118, "Курганская область"),
    City("Омск", 54.989342, 73.368212, "Омская область"),
    City("Барабинск", 55.351000, 78.341000, "Новосибирская область"),
    City("Новосибирск", 55.030199, 82.920430, "Новосибирская область"),
    City("Ярославль", 57.626559, 39.893813, "Ярославская область"),
    City("Рязань", 54.629565, 39.741917, "Рязанская область"),
    City("Воронеж", 51.660781, 39.200269, "Воронежская область"),
    City("Ростов-на-Дону", 47.222078, 39.720349, "Ростовская область"),
    City("Краснодар", 45.035470, 38.975313, "Краснодарский край"),
)

CITY_BY_NAME: Final = {city.name.casefold(): city for city in CITIES}


def search_cities(query: str) -> list[City]:
    """Cities named in ``query`` ("Москва, улица Первая" → Москва), best match first."""
    folded = query.casefold()
    first = re.split(r"[,;]", folded, maxsplit=1)[0].strip()
    exact = [city for name, city in CITY_BY_NAME.items() if name == first]
    if exact:
        return exact
    return [city for name, city in CITY_BY_NAME.items() if name in folded]


# --- operators ----------------------------------------------------------------------------------

OPERATOR_TITLES: Final = {
    "mts": "МТС",
    "megafon": "МегаФон",
    "beeline": "Билайн",
    "tele2": "Tele2",
    "yota": "Yota",
}

# The simulator decides the operator by the first two digits after "7" (a simplification of
# real DEF codes): 94x cannot be determined, 97x is an operator Movizor does not support.
_OPERATOR_BY_PREFIX: Final = {
    "90": "beeline",
    "91": "mts",
    "92": "megafon",
    "93": "megafon",
    "95": "tele2",
    "96": "beeline",
    "97": "yota",
    "98": "mts",
    "99": "tele2",
}
SUPPORTED_OPERATORS: Final = frozenset({"mts", "megafon", "beeline", "tele2"})

_REGION_BY_DEF: Final = {
    "916": "г. Москва и Московская область",
    "926": "г. Москва и Московская область",
    "903": "г. Москва и Московская область",
    "921": "г. Санкт-Петербург и Ленинградская область",
    "912": "Свердловская область",
    "913": "Новосибирская область",
    "917": "Республика Татарстан",
    "904": "Ростовская область",
    "905": "Нижегородская область",
}


def operator_of(msisdn: str) -> str | None:
    """Operator id for a ``79XXXXXXXXX`` number, ``None`` if it cannot be determined."""
    return _OPERATOR_BY_PREFIX.get(msisdn[1:3])


def region_of(msisdn: str) -> str:
    return _REGION_BY_DEF.get(msisdn[1:4], "Российская Федерация")


# --- tariffs ------------------------------------------------------------------------------------

TARIFF_TITLES: Final = {
    "0": "Вручную",
    "1": "Онлайн",
    "3": "Пакет на 1 месяц",
    "15": "Каждые 15 мин",
    "30": "Каждые 30 мин",
    "60": "Каждые 60 мин",
    "180": "Каждые 3 часа",
}
MANUAL_TARIFFS: Final = frozenset({"0", "manual"})
PACKAGE_TARIFF: Final = "3"
# Minutes between automatic locates of periodic tariffs.
PERIODIC_MINUTES: Final = {"1": 5, "15": 15, "30": 30, "60": 60, "180": 180}

# operator -> tariff id -> (daily fee, price of one request)
TARIFFS: Final[dict[str, dict[str, tuple[float, float]]]] = {
    "mts": {
        "0": (4.0, 3.0),
        "3": (90.0, 0.0),
        "15": (28.0, 0.0),
        "30": (25.0, 0.0),
        "60": (20.0, 0.0),
        "180": (12.0, 0.0),
    },
    "megafon": {
        "0": (3.0, 3.5),
        "1": (35.0, 0.0),
        "3": (90.0, 0.0),
        "15": (30.0, 0.0),
        "30": (28.0, 0.0),
        "60": (25.0, 0.0),
    },
    "beeline": {
        "0": (0.0, 3.5),
        "1": (35.0, 0.0),
        "3": (90.0, 0.0),
        "15": (30.0, 0.0),
        "30": (28.0, 0.0),
        "60": (20.0, 0.0),
    },
    "tele2": {
        "0": (0.5, 1.5),
        "1": (22.0, 0.0),
        "3": (90.0, 0.0),
        "15": (19.0, 0.0),
        "30": (16.0, 0.0),
        "60": (13.0, 0.0),
    },
}


def tariff_price(operator: str, tariff: str) -> tuple[float, float] | None:
    """(daily fee, request price) of ``tariff`` for ``operator``, ``None`` if not offered."""
    table = TARIFFS.get(operator, {})
    return table.get("0" if tariff in MANUAL_TARIFFS else tariff)


# --- demo drivers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDriver:
    """A seeded driver. Times are minutes relative to the moment the simulator starts."""

    phone: str
    title: str
    stops: tuple[tuple[str, float], ...]  # (city, planned arrival in minutes from start)
    departed_min: float  # minutes before start the driver left the first stop
    speed_kmh: float
    tags: tuple[str, ...] = ()
    parking: tuple[tuple[float, float], ...] = ()  # (minutes after departure, duration)
    detours: tuple[tuple[float, float], ...] = ()  # (minutes after departure, duration)
    confirmed: bool = True
    unreachable: bool = False
    tariff: str = "15"


def _every(
    start: float, period: float, duration: float, until: float
) -> tuple[tuple[float, float], ...]:
    count = int((until - start) // period) + 1
    return tuple((start + i * period, duration) for i in range(count))


DEMO_DRIVERS: Final[tuple[DemoDriver, ...]] = (
    # On time, stops for lunch in the second hour.
    DemoDriver(
        phone="79161234501",
        title="Петров И.И., Газель А123ВС77",
        stops=(("Москва", -60), ("Владимир", 120), ("Нижний Новгород", 330), ("Казань", 660)),
        departed_min=60,
        speed_kmh=85,
        tags=("Казань", "рефрижератор"),
        parking=((150, 30),),
    ),
    # Starts on time, a long stop makes him late: pos_late within the first simulated hour.
    DemoDriver(
        phone="79211234502",
        title="Сидоров А.В., Volvo FH Е456КХ78",
        stops=(
            ("Санкт-Петербург", -180),
            ("Великий Новгород", -30),
            ("Тверь", 200),
            ("Москва", 370),
        ),
        departed_min=180,
        speed_kmh=72,
        tags=("Москва",),
        parking=((200, 60),),
    ),
    # A few km before Челябинск: arrives (pos_finished) within minutes.
    DemoDriver(
        phone="79121234503",
        title="Кузнецов Д.С., КАМАЗ М789ОР96",
        stops=(("Екатеринбург", -150), ("Челябинск", 25)),
        departed_min=135,
        speed_kmh=80,
        tags=("Челябинск",),
    ),
    # Leaves the route now and then (leftroute / returnroute).
    DemoDriver(
        phone="79131234504",
        title="Иванов П.П., MAN Т321УХ54",
        stops=(("Новосибирск", -60), ("Барабинск", 200), ("Омск", 560)),
        departed_min=60,
        speed_kmh=75,
        tags=("Омск",),
        detours=_every(start=75, period=60, duration=15, until=24 * 60),
    ),
    # Local delivery on a 30-minute tariff.
    DemoDriver(
        phone="79171234505",
        title="Смирнова О.Н., Ford Transit К654НО116",
        stops=(("Казань", -20), ("Чебоксары", 160), ("Нижний Новгород", 420)),
        departed_min=20,
        speed_kmh=70,
        tags=("Нижний Новгород",),
        parking=((120, 20),),
        tariff="30",
    ),
    # Has not confirmed yet: demo mode confirms automatically a little later.
    DemoDriver(
        phone="79041234506",
        title="Волков С.А., ГАЗон Next Р987СТ61",
        stops=(("Ростов-на-Дону", 0), ("Краснодар", 240)),
        departed_min=0,
        speed_kmh=65,
        tags=("Краснодар",),
        confirmed=False,
    ),
    # Phone switched off: manual requests fail.
    DemoDriver(
        phone="79051234507",
        title="Лебедев К.М., Валдай Н222НН152",
        stops=(("Нижний Новгород", -30), ("Ярославль", 300)),
        departed_min=30,
        speed_kmh=60,
        unreachable=True,
        tariff="manual",
    ),
)
