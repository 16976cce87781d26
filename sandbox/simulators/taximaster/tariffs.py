"""The simulator's price list: tariffs with a formula, services, discounts, crew groups, UDS.

Price of a trip (what ``calc_order_cost`` answers, line by line in ``info``)::

    boarding (includes the first ``included_km`` city kilometres)
  + city km beyond that × city rate + (country km + km to an out-of-town pickup) × country rate
  + country km again at half the rate for a return trip (``back_way``)
  + waiting minutes beyond 3 free ones × waiting rate
  (an hourly order instead: hourly minutes × hourly rate)
  + prior order surcharge, × 1.2 at night (22:00–06:00 of the pickup time)
  then at least the minimum; services add a sum or a percent; a discount takes one off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

FREE_WAITING_MINUTES = 3
PRIOR_SURCHARGE = 50.0
NIGHT_FACTOR = 1.2


@dataclass(frozen=True)
class Tariff:
    id: int
    name: str
    boarding: float
    included_km: float
    city_km: float
    country_km: float
    waiting_minute: float
    hourly_minute: float
    minimum: float


@dataclass(frozen=True)
class Extra:
    """A service (adds) or a discount (takes off): an absolute sum or a percent."""

    id: int
    name: str
    sum: float = 0.0
    percent: float = 0.0


TARIFFS: tuple[Tariff, ...] = (
    Tariff(1, "Эконом", 99, 2, 22, 28, 7, 9, 150),
    Tariff(2, "Комфорт", 149, 3, 28, 34, 10, 12, 250),
    Tariff(3, "Минивэн", 249, 3, 35, 40, 12, 15, 400),
)
SERVICES: tuple[Extra, ...] = (
    Extra(1, "Детское кресло", sum=100),
    Extra(2, "Перевозка багажа", sum=50),
    Extra(3, "Перевозка животного", percent=10),
)
DISCOUNTS: tuple[Extra, ...] = (
    Extra(1, "Постоянный клиент", percent=5),
    Extra(2, "Корпоративная", sum=50),
)
CREW_GROUPS: tuple[tuple[int, str], ...] = ((1, "Эконом"), (2, "Комфорт"), (3, "Минивэн"))
UDS: tuple[tuple[int, str], ...] = ((1, "Такси «Урал»"), (2, "Партнёр «Север»"))


class CostError(Exception):
    """The tariff cannot price this order (``calc_order_cost`` code 101)."""


@dataclass(frozen=True)
class CostInput:
    distance_city: float = 0.0
    distance_country: float = 0.0
    source_distance_country: float = 0.0
    waiting_minutes: int = 0
    is_hourly: bool = False
    hourly_minutes: int | None = None
    is_prior: bool = False
    back_way: bool = False
    source_time: datetime | None = None
    services: Sequence[int] = ()
    discount_id: int | None = None


def calc_cost(tariff: Tariff, order: CostInput) -> tuple[float, list[tuple[str, float]]]:
    """The total and the breakdown lines ``(comment, sum)``."""
    lines: list[tuple[str, float]] = [("Посадка", tariff.boarding)]
    if order.is_hourly:
        if not order.hourly_minutes:
            raise CostError("hourly order without hourly_minutes")
        lines.append(
            (
                f"Почасовой заказ, {order.hourly_minutes} мин",
                order.hourly_minutes * tariff.hourly_minute,
            )
        )
    else:
        city = max(0.0, order.distance_city - tariff.included_km)
        if city:
            lines.append((f"По городу {city:.1f} км", city * tariff.city_km))
        country = order.distance_country + order.source_distance_country
        if country:
            lines.append((f"За городом {country:.1f} км", country * tariff.country_km))
        if order.back_way and order.distance_country:
            lines.append(("Обратный путь", order.distance_country * tariff.country_km / 2))
    waiting = max(0, order.waiting_minutes - FREE_WAITING_MINUTES)
    if waiting:
        lines.append((f"Ожидание {waiting} мин", waiting * tariff.waiting_minute))
    if order.is_prior:
        lines.append(("Предварительный заказ", PRIOR_SURCHARGE))
    total = sum(amount for _, amount in lines)
    if order.source_time is not None and (
        order.source_time.hour >= 22 or order.source_time.hour < 6
    ):
        lines.append(("Ночной коэффициент 1,2", total * (NIGHT_FACTOR - 1)))
        total *= NIGHT_FACTOR
    if total < tariff.minimum:
        lines.append(("Доплата до минимальной стоимости", tariff.minimum - total))
        total = tariff.minimum
    for service_id in order.services:
        service = next((s for s in SERVICES if s.id == service_id), None)
        if service is None:
            raise CostError(f"unknown service {service_id}")
        amount = service.sum + total * service.percent / 100
        lines.append((service.name, amount))
        total += amount
    if order.discount_id is not None:
        discount = next((d for d in DISCOUNTS if d.id == order.discount_id), None)
        if discount is None:
            raise CostError(f"unknown discount {order.discount_id}")
        amount = min(total, discount.sum + total * discount.percent / 100)
        lines.append((f"Скидка «{discount.name}»", -amount))
        total -= amount
    return round(total, 2), [(comment, round(amount, 2)) for comment, amount in lines]
