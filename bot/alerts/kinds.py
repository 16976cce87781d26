"""The registry of alert kinds: names in both languages, area, default severity, behaviour.

Commands offer these (/subscribe), the router uses areas and severities, the sender uses
``card`` (keep one status card per subject per chat, edited in place) and ``buzz`` (this
transition also posts a new message so phones buzz).
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.base import Severity

AREAS = ("drivers", "tasks", "taxi", "wagons", "system")


@dataclass(frozen=True)
class AlertKind:
    name: str
    area: str
    ru: str
    en: str
    severity: Severity = Severity.NORMAL
    card: bool = False
    buzz: bool = True
    # A "subject unreachable" kind: held back while its integration is down (one system alert
    # speaks for all of them instead).
    unreachable: bool = False

    def title(self, locale: str) -> str:
        return self.en if locale == "en" else self.ru


KINDS: dict[str, AlertKind] = {}


def kind(name: str, ru: str, en: str, **options: object) -> AlertKind:
    area = {"driver": "drivers", "task": "tasks", "taxi": "taxi", "wagon": "wagons"}.get(
        name.split(".")[0], "system"
    )
    spec = AlertKind(name, area, ru, en, **options)  # type: ignore[arg-type]
    KINDS[name] = spec
    return spec


H, L = Severity.HIGH, Severity.LOW
# Drivers (Movizor)
kind("driver.late", "Водитель опаздывает", "Driver is late", severity=H)
kind("driver.on_time", "Водитель успевает", "Driver is on time", severity=L)
kind("driver.arriving", "Водитель подъезжает", "Driver is arriving")
kind("driver.arrived", "Водитель прибыл", "Driver has arrived")
kind("driver.left_route", "Водитель ушёл с маршрута", "Driver left the route", severity=H)
kind("driver.returned_route", "Водитель вернулся на маршрут", "Driver is back on route")
kind("driver.on_route", "Водитель на маршруте", "Driver is on route", severity=L)
kind("driver.not_on_route", "Водитель не выехал на маршрут", "Driver is not on the route")
kind("driver.parked", "Водитель на стоянке", "Driver parked", severity=L)
kind("driver.moving", "Водитель поехал", "Driver is moving", severity=L)
kind("driver.confirmed", "Водитель подтвердил отслеживание", "Driver confirmed tracking")
kind(
    "driver.rejected", "Водитель отказался от отслеживания", "Driver rejected tracking", severity=H
)
kind("driver.no_confirm", "Водитель не подтвердил отслеживание", "Driver has not confirmed")
kind(
    "driver.unreachable",
    "Водитель недоступен",
    "Driver unreachable",
    severity=H,
    unreachable=True,
)
kind("driver.roaming", "Водитель в роуминге", "Driver is roaming")
kind("driver.request_failed", "Не удалось определить место", "Location request failed")
kind("driver.off", "Отслеживание выключено", "Tracking turned off")
kind("driver.app_started", "Приложение водителя запущено", "Driver app started", severity=L)
kind("driver.app_stopped", "Приложение водителя остановлено", "Driver app stopped")
kind("driver.limit", "Лимит запросов исчерпан", "Request limit reached")
kind("driver.added", "Водитель поставлен на отслеживание", "Driver put on tracking", severity=L)
kind("driver.info", "Событие по водителю", "Driver event", severity=L)
# Tasks (Mobiforce)
kind("task.closed", "Задача завершена", "Task closed", severity=H, card=True)
kind("task.created", "Новая задача", "New task", card=True)
kind("task.sent", "Задача отправлена исполнителю", "Task sent", card=True)
kind("task.assigned", "Назначен исполнитель", "Executor assigned", card=True)
kind("task.rescheduled", "Задача перенесена", "Task rescheduled", card=True)
kind("task.checklist", "Заполнен чек-лист", "Checklist filled", severity=L, card=True, buzz=False)
kind("task.changed", "Задача изменена", "Task changed", severity=L, card=True, buzz=False)
# Taxi (Taxi-Master)
# One status card per order per chat, edited at each change; "car assigned", "at the door" and
# "cancelled" also post a new message (buzz).
kind("taxi.assigned", "Назначена машина", "Car assigned", card=True)
kind("taxi.at_place", "Такси на месте", "Taxi is at the door", card=True, severity=H)
kind(
    "taxi.client_inside",
    "Пассажир в машине",
    "Passenger on board",
    card=True,
    buzz=False,
    severity=L,
)
kind("taxi.finished", "Поездка завершена", "Trip finished", card=True, buzz=False, severity=L)
kind("taxi.aborted", "Заказ отменён", "Order cancelled", card=True, severity=H)
kind(
    "taxi.state_changed",
    "Статус заказа изменился",
    "Order status changed",
    card=True,
    buzz=False,
    severity=L,
)
# Wagons (Alta)
# One status card per wagon/container per chat; a move edits it quietly, the rest also buzz.
kind("wagon.moved", "Вагон в пути", "Wagon moved", card=True, buzz=False, severity=L)
kind("wagon.arrived", "Вагон прибыл", "Wagon arrived", card=True, severity=H)
kind("wagon.no_data", "Нет данных по вагону", "No data for wagon", card=True)
kind("wagon.tracking_ended", "Слежение снято", "Tracking ended", card=True)
# System
kind("system.integration_down", "Интеграция недоступна", "Integration is down", severity=H)
kind("system.integration_recovered", "Интеграция снова работает", "Integration recovered")
# A watcher could not read every event of its feed (fields say which ids may be lost).
kind(
    "system.events_skipped",
    "События могли быть пропущены",
    "Events may have been skipped",
    severity=H,
)
# A report came with rows the bot could not pair with a number (fields say which request).
kind("system.report_unpaired", "Строки отчёта без номера", "Report rows without a number")
kind("system.test", "Проверочное оповещение", "Test alert", severity=L)

# While the key state is active for a subject, the inhibited kinds are not sent for it
# (Alertmanager's inhibition): a driver off route is not also "late" every poll.
INHIBITIONS: dict[str, tuple[str, ...]] = {"driver.left_route": ("driver.late",)}
# Which kinds end an inhibiting state.
STATE_ENDED_BY: dict[str, tuple[str, ...]] = {
    "driver.left_route": (
        "driver.returned_route",
        "driver.on_route",
        "driver.arrived",
        "driver.off",
    )
}


def resolve_selector(word: str) -> list[str] | None:
    """Map a /subscribe word to selectors: `all`, an area, or a kind. None if unknown."""
    word = word.strip().lower()
    if word in {"all", "все", "всё"}:
        return ["all"]
    if word in AREAS:
        return [f"area:{word}"]
    if word in KINDS:
        return [f"kind:{word}"]
    return None


def matches(selector: str, kind_name: str) -> bool:
    if selector == "all":
        return True
    if selector.startswith("area:"):
        spec = KINDS.get(kind_name)
        return spec is not None and spec.area == selector[5:]
    return selector == f"kind:{kind_name}"
