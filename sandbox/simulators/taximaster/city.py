"""The simulator's city: real streets and places of Yekaterinburg (approximate geometry).

A street is a straight segment between two real points with houses numbered along it (odd and
even sides a few metres apart); points are well-known places, some of them out of town so a
trip there has country kilometres. Districts are the city's real ones, chosen by bearing from
the centre (a simplification good enough for zone ids).
"""

from __future__ import annotations

from dataclasses import dataclass

CITY_NAME = "Екатеринбург"
CENTER = (56.8380, 60.6050)
CITY_RADIUS_KM = 12.0
ROAD_FACTOR = 1.3  # roads are longer than the straight line


@dataclass(frozen=True)
class Street:
    name: str
    start: tuple[float, float]
    end: tuple[float, float]
    houses: int  # numbered 1…houses along the street


@dataclass(frozen=True)
class Point:
    name: str
    lat: float
    lon: float
    comment: str


STREETS: tuple[Street, ...] = (
    Street("проспект Ленина", (56.8387, 60.5800), (56.8420, 60.6730), 104),
    Street("улица Малышева", (56.8330, 60.5700), (56.8378, 60.6700), 145),
    Street("улица Куйбышева", (56.8270, 60.5900), (56.8320, 60.6650), 139),
    Street("улица 8 Марта", (56.8380, 60.5990), (56.7900, 60.6080), 204),
    Street("улица Луначарского", (56.8500, 60.6280), (56.8250, 60.6350), 240),
    Street("улица Челюскинцев", (56.8560, 60.5900), (56.8510, 60.6300), 106),
    Street("улица Вайнера", (56.8380, 60.6000), (56.8250, 60.6010), 60),
    Street("проспект Космонавтов", (56.8560, 60.6120), (56.9000, 60.6130), 110),
    Street("улица Белинского", (56.8370, 60.6150), (56.7950, 60.6250), 250),
    Street("улица Мамина-Сибиряка", (56.8500, 60.6150), (56.8280, 60.6180), 145),
    Street("улица Радищева", (56.8290, 60.5850), (56.8300, 60.6050), 33),
    Street("улица Репина", (56.8340, 60.5500), (56.8350, 60.5850), 105),
    Street("улица Свердлова", (56.8570, 60.6040), (56.8420, 60.6060), 60),
    Street("Сибирский тракт", (56.8300, 60.6500), (56.8200, 60.7200), 100),
    Street("улица Щорса", (56.8100, 60.5900), (56.8130, 60.6350), 130),
    Street("улица Малопрудная", (56.8050, 60.6100), (56.8040, 60.6250), 12),
)

POINTS: tuple[Point, ...] = (
    Point("Аэропорт Кольцово", 56.7431, 60.8027, "улица Бахчиванджи, 1"),
    Point("Железнодорожный вокзал", 56.8580, 60.6010, "улица Вокзальная, 22"),
    Point("Автовокзал Южный", 56.8010, 60.6070, "улица 8 Марта, 145"),
    Point("ТЦ Гринвич", 56.8265, 60.6040, "улица 8 Марта, 46"),
    Point("Ельцин Центр", 56.8447, 60.5915, "улица Бориса Ельцина, 3"),
    Point("Екатеринбург-Арена", 56.8325, 60.5736, "улица Репина, 5"),
    Point("Площадь 1905 года", 56.8380, 60.5975, "проспект Ленина, 24"),
    Point("Театр оперы и балета", 56.8395, 60.6165, "проспект Ленина, 46а"),
    Point("Верхняя Пышма, площадь Победы", 56.9760, 60.5650, "за городом"),
    Point("Берёзовский, центр", 56.9090, 60.8000, "за городом"),
    Point("Арамиль, центр", 56.6950, 60.8340, "за городом"),
)

# (zone id, district) by bearing sector from the centre; zone 8 is everything out of town.
DISTRICTS: tuple[tuple[int, str], ...] = (
    (1, "Кировский"),  # north-east
    (2, "Октябрьский"),  # east / south-east
    (3, "Чкаловский"),  # south
    (4, "Ленинский"),  # south-west
    (5, "Верх-Исетский"),  # west
    (6, "Железнодорожный"),  # north-west
    (7, "Орджоникидзевский"),  # north
)
OUT_OF_TOWN_ZONE = (8, "Пригород")
