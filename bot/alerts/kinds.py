"""The registry of alert kinds: names in both languages, area, default severity, behaviour.

Commands offer these (/subscribe), the router uses areas and severities, the sender uses
``card`` (keep one status card per subject per chat, edited in place), ``buzz`` (this change
posts the card anew, as a new message, so phones ring) and ``routine`` (grouped per window).
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
    success: bool = False  # good news: shown green
    routine: bool = False  # progress: one line per subject per window (the sender groups)
    ends: bool = False  # the subject is over (its watch is pruned later)

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


H, N, L = Severity.HIGH, Severity.NORMAL, Severity.LOW
# Severity means one thing (the README lists every kind's):
#   🔴 HIGH   — needs a person now (left the route, late, unreachable, cancelled, at the door):
#               passes quiet hours, always rings;
#   🟡 NORMAL — a change worth reading; 🟢 when ``success`` (arrived, completed, finished);
#   ⚪ LOW    — routine progress: silent, waits out quiet hours (🟢 when ``success``).
# ``routine`` kinds are grouped per subject and window by the sender (one line per window);
# ``ends`` kinds end their subject (its subscriptions and cards are pruned a while later).
# Drivers (Movizor)
kind("driver.late", "Водитель опаздывает", "Driver is late", severity=H)
kind("driver.on_time", "Водитель успевает", "Driver is on time", severity=L, routine=True)
kind("driver.arriving", "Водитель подъезжает", "Driver is arriving", severity=N, routine=True)
kind("driver.arrived", "Водитель прибыл", "Driver has arrived", severity=N, success=True)
kind("driver.left_route", "Водитель ушёл с маршрута", "Driver left the route", severity=H)
kind(
    "driver.returned_route",
    "Водитель вернулся на маршрут",
    "Driver is back on route",
    severity=N,
    success=True,
)
kind("driver.on_route", "Водитель на маршруте", "Driver is on route", severity=L, routine=True)
kind(
    "driver.not_on_route", "Водитель не выехал на маршрут", "Driver is not on the route", severity=H
)
kind("driver.parked", "Водитель на стоянке", "Driver parked", severity=L, routine=True)
kind("driver.moving", "Водитель поехал", "Driver is moving", severity=L, routine=True)
kind(
    "driver.confirmed",
    "Водитель подтвердил отслеживание",
    "Driver confirmed tracking",
    severity=N,
    success=True,
)
kind(
    "driver.rejected", "Водитель отказался от отслеживания", "Driver rejected tracking", severity=H
)
kind(
    "driver.no_confirm",
    "Водитель не подтвердил отслеживание",
    "Driver has not confirmed",
    severity=H,
)
kind(
    "driver.unreachable",
    "Водитель недоступен",
    "Driver unreachable",
    severity=H,
    unreachable=True,
)
kind("driver.roaming", "Водитель в роуминге", "Driver is roaming", severity=N)
kind("driver.request_failed", "Не удалось определить место", "Location request failed", severity=N)
# Not "ends": a switched-off driver is often switched on again (/reactivate) for the same chats.
kind("driver.off", "Отслеживание выключено", "Tracking turned off", severity=N)
kind(
    "driver.app_started",
    "Приложение водителя запущено",
    "Driver app started",
    severity=L,
    routine=True,
)
kind("driver.app_stopped", "Приложение водителя остановлено", "Driver app stopped", severity=N)
kind("driver.limit", "Лимит запросов исчерпан", "Request limit reached", severity=N)
kind("driver.added", "Водитель поставлен на отслеживание", "Driver put on tracking", severity=L)
kind("driver.info", "Событие по водителю", "Driver event", severity=L, routine=True)
# Tasks (Mobiforce): one status card per task per chat. A buzzing change posts the card anew (a
# new message that rings); the others edit it in place.
kind(
    "task.closed",
    "Задача завершена",
    "Task closed",
    severity=N,
    success=True,
    card=True,
    ends=True,
)
kind("task.created", "Новая задача", "New task", severity=N, card=True)
kind("task.sent", "Задача отправлена исполнителю", "Task sent", severity=N, card=True, buzz=False)
kind(
    "task.assigned", "Назначен исполнитель", "Executor assigned", severity=N, card=True, buzz=False
)
kind("task.rescheduled", "Задача перенесена", "Task rescheduled", severity=N, card=True)
kind(
    "task.checklist",
    "Заполнен чек-лист",
    "Checklist filled",
    severity=L,
    card=True,
    buzz=False,
    routine=True,
)
kind(
    "task.changed",
    "Задача изменена",
    "Task changed",
    severity=L,
    card=True,
    buzz=False,
    routine=True,
)
# The planned start passed by a grace and the task has not started (escalates: bot/escalation).
kind("task.overdue", "Задача не начата в срок", "Task not started on time", severity=H)
# Someone acted on a task from another chat than the one that created it (closed it, commented):
# told to the owning chat only (bot/ownership.py), never routed to subscribers.
kind("task.acted", "Действие из другого чата", "Action from another chat", severity=N)
# Taxi (Taxi-Master): one status card per order per chat; "car assigned", "at the door" and
# "cancelled" post it anew (a new message rings), the rest edit it in place.
kind("taxi.assigned", "Назначена машина", "Car assigned", severity=N, card=True)
# No crew N minutes after the order's pickup time (escalates).
kind("taxi.no_crew", "Нет машины на заказ", "No car for the order", severity=H)
kind("taxi.at_place", "Такси на месте", "Taxi is at the door", severity=H, card=True)
kind(
    "taxi.client_inside",
    "Пассажир в машине",
    "Passenger on board",
    severity=L,
    card=True,
    buzz=False,
)
kind(
    "taxi.finished",
    "Поездка завершена",
    "Trip finished",
    severity=L,
    success=True,
    card=True,
    buzz=False,
    ends=True,
)
kind("taxi.aborted", "Заказ отменён", "Order cancelled", severity=H, card=True, ends=True)
kind(
    "taxi.state_changed",
    "Статус заказа изменился",
    "Order status changed",
    severity=L,
    card=True,
    buzz=False,
)
# Wagons (Alta): one status card per wagon/container per chat; a move edits it (routine), an
# arrival posts it anew.
kind(
    "wagon.moved",
    "Вагон в пути",
    "Wagon moved",
    severity=L,
    card=True,
    buzz=False,
    routine=True,
)
# No movement for N hours while on tracking (escalates).
kind("wagon.stuck", "Вагон стоит", "Wagon is stuck", severity=H)
kind("wagon.arrived", "Вагон прибыл", "Wagon arrived", severity=N, success=True, card=True)
kind("wagon.no_data", "Нет данных по вагону", "No data for wagon", severity=N, card=True)
kind(
    "wagon.tracking_ended",
    "Слежение снято",
    "Tracking ended",
    severity=N,
    card=True,
    buzz=False,
    ends=True,
)
# Wagons taken off tracking (or put on it anew) from another chat than the one that put them on it.
kind("wagon.acted", "Действие из другого чата", "Action from another chat", severity=N)
# System: admins only, in private (integration errors and event ids are internals).
kind("system.integration_down", "Интеграция недоступна", "Integration is down", severity=H)
kind(
    "system.integration_recovered",
    "Интеграция снова работает",
    "Integration recovered",
    severity=N,
    success=True,
)
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

# Escalation (bot/escalation): the urgent kinds a chat's chain follows unless the chat chooses
# otherwise, and the news that ends each one by itself (the chain stops and says so).
ESCALATING: tuple[str, ...] = (
    "driver.left_route",
    "driver.late",
    "taxi.no_crew",
    "task.overdue",
    "wagon.stuck",
)
RESOLVED_BY: dict[str, tuple[str, ...]] = {
    "driver.left_route": STATE_ENDED_BY["driver.left_route"],
    "driver.late": ("driver.on_time", "driver.arrived", "driver.off"),
    "taxi.no_crew": ("taxi.assigned", "taxi.at_place", "taxi.aborted", "taxi.finished"),
    # Started (the executor changed it), closed, or moved to another planned start.
    "task.overdue": ("task.checklist", "task.changed", "task.closed", "task.rescheduled"),
    "wagon.stuck": ("wagon.moved", "wagon.arrived", "wagon.tracking_ended"),
}


SEVERITY_ICONS = {Severity.HIGH: "🔴", Severity.NORMAL: "🟡", Severity.LOW: "⚪"}
SUCCESS_ICON = "🟢"


def icon(kind_name: str, severity: Severity) -> str:
    """The colour an alert is shown with: its severity's, green for good news."""
    spec = KINDS.get(kind_name)
    if spec is not None and spec.success and severity < Severity.HIGH:
        return SUCCESS_ICON
    return SEVERITY_ICONS[severity]


def behaviour(spec: AlertKind) -> list[str]:
    """How the sender treats a kind, in the README's words (its kinds table)."""
    words = []
    if spec.card:
        words.append("card, posted anew" if spec.buzz else "card, edited")
    if spec.routine:
        words.append("routine")
    if spec.ends:
        words.append("ends the subject")
    if spec.severity <= Severity.LOW:
        words.append("silent")
    if spec.severity >= Severity.HIGH:
        words.append("passes quiet hours")
    return words


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
