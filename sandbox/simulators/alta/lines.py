"""Real Russian rail lines for the simulator: stations in order with ESR codes and kilometres.

The codes are 5-digit ESR codes (the form ``stop_station`` takes) written from memory, as best
known: good enough to look real in a demo and to test "arrived at the stop station" logic,
NOT a reference. Check against Тарифное руководство №4 before relying on a code. Kilometres
are approximate distances from the first station of the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Station:
    name: str
    esr: str
    km: float


@dataclass(frozen=True)
class Line:
    name: str
    stations: tuple[Station, ...]

    def station(self, esr_or_name: str) -> int:
        """Index of a station by ESR code or name."""
        for index, station in enumerate(self.stations):
            if esr_or_name in (station.esr, station.name):
                return index
        raise KeyError(f"{esr_or_name!r} is not on the line {self.name}")


def _line(name: str, *stations: tuple[str, str, float]) -> Line:
    return Line(name, tuple(Station(n, esr, km) for n, esr, km in stations))


LINES: Final[dict[str, Line]] = {
    "moscow_ekaterinburg": _line(
        "Москва — Казань — Екатеринбург",
        ("Москва-Товарная-Рязанская", "19400", 0),
        ("Люберцы I", "19390", 20),
        ("Куровская", "23070", 88),
        ("Черусти", "23300", 150),
        ("Муром I", "24200", 300),
        ("Арзамас II", "24650", 410),
        ("Сергач", "24750", 520),
        ("Канаш", "24820", 660),
        ("Свияжск", "24990", 780),
        ("Казань", "25030", 810),
        ("Юдино", "25280", 820),
        ("Агрыз", "25600", 1090),
        ("Янаул", "65680", 1230),
        ("Красноуфимск", "76800", 1480),
        ("Дружинино", "76400", 1620),
        ("Екатеринбург-Сортировочный", "78000", 1690),
    ),
    "novorossiysk_moscow": _line(
        "Новороссийск — Ростов — Москва",
        ("Новороссийск", "52370", 0),
        ("Крымская", "52310", 65),
        ("Краснодар I", "52000", 150),
        ("Тихорецкая", "51870", 290),
        ("Батайск", "51700", 440),
        ("Ростов-Товарный", "51050", 450),
        ("Лихая", "58000", 600),
        ("Россошь", "58960", 880),
        ("Лиски", "59000", 1000),
        ("Грязи-Воронежские", "59200", 1190),
        ("Мичуринск-Уральский", "60090", 1250),
        ("Рязань-1", "22000", 1440),
        ("Москва-Товарная-Павелецкая", "19350", 1630),
    ),
    "spb_moscow": _line(
        "Санкт-Петербург — Москва",
        ("Санкт-Петербург-Сортировочный-Московский", "03150", 0),
        ("Тосно", "03120", 55),
        ("Чудово", "04220", 115),
        ("Малая Вишера", "04300", 160),
        ("Бологое-Московское", "05200", 330),
        ("Вышний Волочёк", "05280", 400),
        ("Тверь", "06190", 520),
        ("Клин", "06130", 600),
        ("Ховрино", "06050", 680),
        ("Москва-Товарная", "06020", 685),
    ),
}

STATION_BY_ESR: Final[dict[str, Station]] = {
    station.esr: station for line in LINES.values() for station in line.stations
}

# Operations a dislocation report names (the words dispatchers see in Alta's reports).
DEPARTURE: Final = "Отправление со станции"
PASSING: Final = "Проследование станции"
ARRIVAL: Final = "Прибытие на станцию"
ARRIVAL_DESTINATION: Final = "Прибытие на станцию назначения"
