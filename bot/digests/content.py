"""A chat's last 24 hours, counted from its history: what the digest says, per area.

Pure: history events in, numbers out (no database, no Telegram, no language), so the counting
is tested against a seeded history directly. Subjects are counted once per kind (a driver late
three times is one late driver); money and minutes come from the events' own numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bot.history.events import TASK_CLOSED, TASK_OPENED
from bot.history.recorder import ESCALATION_ACKED, TAXI_ORDERED, WAGON_OFF, WAGON_ON
from storage.history import HistoryEvent

ALERT_AREAS = ("drivers", "tasks", "taxi", "wagons")
AREAS = (*ALERT_AREAS, "escalations")  # the digest's order
WORST_DRIVERS = 5
# A driver's arrival: Movizor says "объект прибывает" (pos_finished -> driver.arriving) when the
# route's end is reached; a richer feed may say "arrived" itself.
ARRIVAL_KINDS = ("driver.arrived", "driver.arriving")


@dataclass(frozen=True)
class LateDriver:
    subject_key: str
    title: str
    minutes: int


@dataclass(frozen=True)
class Drivers:
    late: int = 0
    left_route: int = 0
    arrived: int = 0
    worst: tuple[LateDriver, ...] = ()  # the most late, most minutes first


@dataclass(frozen=True)
class Tasks:
    created: int = 0
    closed: int = 0
    overdue: int = 0
    median_close_minutes: int | None = None


@dataclass(frozen=True)
class Taxi:
    orders: int = 0
    done: int = 0
    cancelled: int = 0
    cost: Decimal = Decimal(0)


@dataclass(frozen=True)
class Wagons:
    arrived: int = 0
    moving: int = 0
    no_report: int = 0
    put_on: int = 0
    taken_off: int = 0


@dataclass(frozen=True)
class Escalations:
    acked: int = 0
    median_ack_minutes: int | None = None


@dataclass(frozen=True)
class Summary:
    start: datetime
    end: datetime
    areas: tuple[str, ...]  # the chat's areas, in the digest's order
    events: dict[str, int] = field(default_factory=dict)  # events per area in the window
    drivers: Drivers = Drivers()
    tasks: Tasks = Tasks()
    taxi: Taxi = Taxi()
    wagons: Wagons = Wagons()
    escalations: Escalations = Escalations()

    @property
    def empty(self) -> bool:
        return not any(self.events.get(area) for area in self.areas)


def subscribed_areas(selectors: Iterable[str], kind_areas: dict[str, str]) -> tuple[str, ...]:
    """The alert areas a chat's subscriptions reach (``all``, ``area:x``, ``kind:x.y``), in
    the digest's order; escalations go with any of them."""
    reached: set[str] = set()
    for selector in selectors:
        if selector == "all":
            reached.update(ALERT_AREAS)
        elif selector.startswith("area:"):
            reached.add(selector[5:])
        elif selector.startswith("kind:"):
            reached.add(kind_areas.get(selector[5:], ""))
    reached &= set(ALERT_AREAS)
    if reached:
        reached.add("escalations")
    return tuple(area for area in AREAS if area in reached)


def _subjects(events: Sequence[HistoryEvent], *kinds: str) -> set[str]:
    return {e.subject_key for e in events if e.kind in kinds}


def _median(values: list[int]) -> int | None:
    return round(statistics.median(values)) if values else None


def _drivers(events: Sequence[HistoryEvent], end: datetime) -> Drivers:
    late_at: dict[str, datetime] = {}
    recorded: dict[str, int] = {}
    arrived_at: dict[str, datetime] = {}
    titles: dict[str, str] = {}
    for e in events:
        titles[e.subject_key] = e.subject_title or titles.get(e.subject_key, "")
        if e.kind == "driver.late":
            late_at.setdefault(e.subject_key, e.at)
            if e.minutes is not None:
                recorded[e.subject_key] = max(e.minutes, recorded.get(e.subject_key, 0))
        elif e.kind in ARRIVAL_KINDS and e.subject_key in late_at:
            arrived_at.setdefault(e.subject_key, e.at)
    late = []
    for subject, since in late_at.items():
        # Where the feed says by how much, that; else from "late" until "arrived" (or now).
        minutes = recorded.get(subject)
        if minutes is None:
            minutes = int((arrived_at.get(subject, end) - since).total_seconds() // 60)
        late.append(LateDriver(subject, titles.get(subject, ""), max(0, minutes)))
    late.sort(key=lambda d: (-d.minutes, d.subject_key))
    return Drivers(
        late=len(late_at),
        left_route=len(_subjects(events, "driver.left_route")),
        arrived=len(_subjects(events, *ARRIVAL_KINDS)),
        worst=tuple(late[:WORST_DRIVERS]),
    )


def _planned_end(event: HistoryEvent) -> datetime | None:
    value = event.fields.get("planned_end")
    try:
        when = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def _tasks(events: Sequence[HistoryEvent], end: datetime) -> Tasks:
    closed_at: dict[str, datetime] = {}
    close_minutes: dict[str, int] = {}
    planned: dict[str, datetime] = {}
    for e in events:
        when = _planned_end(e)
        if when is not None:
            planned[e.subject_key] = when
        if e.kind in TASK_CLOSED:
            closed_at.setdefault(e.subject_key, e.at)
            if e.minutes is not None:
                close_minutes.setdefault(e.subject_key, e.minutes)
    # Overdue: its planned end passed before it closed (or before now, still open).
    overdue = sum(1 for s, due in planned.items() if due < closed_at.get(s, end))
    return Tasks(
        created=len(_subjects(events, *TASK_OPENED)),
        closed=len(closed_at),
        overdue=overdue,
        median_close_minutes=_median(list(close_minutes.values())),
    )


def _taxi(events: Sequence[HistoryEvent]) -> Taxi:
    orders = {e.subject_key: e.amount for e in events if e.kind == TAXI_ORDERED}
    return Taxi(
        orders=len(orders),
        done=len(_subjects(events, "taxi.finished")),
        cancelled=len(_subjects(events, "taxi.aborted")),
        cost=sum((amount for amount in orders.values() if amount is not None), Decimal(0)),
    )


def _wagons(events: Sequence[HistoryEvent]) -> Wagons:
    return Wagons(
        arrived=len(_subjects(events, "wagon.arrived")),
        moving=len(_subjects(events, "wagon.moved") - _subjects(events, "wagon.arrived")),
        no_report=len(_subjects(events, "wagon.no_data")),
        put_on=len(_subjects(events, WAGON_ON)),
        taken_off=len(_subjects(events, WAGON_OFF)),
    )


def _escalations(events: Sequence[HistoryEvent]) -> Escalations:
    acks = [e for e in events if e.kind == ESCALATION_ACKED]
    return Escalations(
        acked=len(acks),
        median_ack_minutes=_median([e.minutes for e in acks if e.minutes is not None]),
    )


def summarize(
    events: Sequence[HistoryEvent], areas: Sequence[str], start: datetime, end: datetime
) -> Summary:
    """The window ``[start, end)`` of one chat's history, for its ``areas``."""
    inside = [e for e in events if start <= e.at < end and e.area in areas]
    by_area: dict[str, list[HistoryEvent]] = {area: [] for area in areas}
    for e in inside:
        by_area[e.area].append(e)
    return Summary(
        start=start,
        end=end,
        areas=tuple(areas),
        events={area: len(found) for area, found in by_area.items()},
        drivers=_drivers(by_area.get("drivers", []), end),
        tasks=_tasks(by_area.get("tasks", []), end),
        taxi=_taxi(by_area.get("taxi", [])),
        wagons=_wagons(by_area.get("wagons", [])),
        escalations=_escalations(by_area.get("escalations", [])),
    )
