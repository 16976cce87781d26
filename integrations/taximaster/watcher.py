"""One Taxi-Master poll cycle: the watched orders' states -> alerts and new snapshots.

The watched orders are the subjects of the injected :class:`~integrations.base.SnapshotReader`
(the bot stores a first snapshot when it creates an order — :func:`initial_snapshot` — or when a
chat asks about one — :func:`snapshot_from_state`). Each cycle reads their states within a cap
of ``max_calls`` requests:

* where the server has ``get_current_orders`` (newer TMWeb), ONE call gives every current
  order; a watched order missing from it has ended, and one ``get_order_state`` says how;
* otherwise one ``get_order_state`` per order that is due by its state
  (:mod:`~integrations.taximaster.schedule`), the most overdue first, as many as the cap lets;
* on a change of state (or of crew) an alert: ``taxi.assigned`` … ``taxi.aborted``, or
  :data:`GENERIC_KIND` for a state with no kind of its own;
* a new crew is named by its call sign, car and driver (:mod:`~integrations.taximaster.crews`:
  up to three calls once per crew, then kept); a change whose crew cannot be named within the
  cap waits for the next cycle rather than going out half-told;
* a cycle with alerts about crews on the way makes ONE ``get_crews_coords`` for their places;
* an order still without a crew ``no_crew_after`` past its pickup time (``source_time``, which
  the bot keeps from the order it created; get_order_state does not document one) is told once
  as ``taxi.no_crew`` (urgent: it escalates); the crew's assignment then ends that.

Every alert names the order (``№`` and route in its subject) and carries the passenger's phone
when it is known. A finished or aborted order is polled no more; its snapshot is kept, marked
``final_at``, until the dispatch service's day is over (the bot lists today's finished
orders), then forgotten. The cursor is unused (always ``None``).

Snapshot keys the watcher owns: ``order_id``, ``state_kind``, ``state_id``, ``crew_id``,
``driver_id``, ``car_id``, ``crew`` (a :class:`~integrations.taximaster.crews.CrewIdentity`),
``final_at``, ``no_crew_told`` (the pickup time a ``taxi.no_crew`` was told for). The bot's
keys (``phone``, ``source``, ``dest``, ``source_time``, ``title``,
``tags``) are kept; missing ones are filled from what a newer server tells about the order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from integrations.base import (
    Alert,
    FieldValue,
    Location,
    Snapshot,
    SnapshotReader,
    Subject,
    WatchResult,
)
from integrations.errors import IntegrationDisabled, IntegrationError
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.crews import CrewIdentity
from integrations.taximaster.errors import TaxiMasterOrderNotFound, TaxiMasterUnsupported
from integrations.taximaster.models import FINAL_STATES, CrewCoords, OrderState, OrderStateKind
from integrations.taximaster.schedule import Schedule

log = logging.getLogger("integrations.taximaster")

SOURCE = "taximaster"
STATE_KINDS: dict[str, str] = {
    OrderStateKind.DRIVER_ASSIGNED: "taxi.assigned",
    OrderStateKind.CAR_AT_PLACE: "taxi.at_place",
    OrderStateKind.CLIENT_INSIDE: "taxi.client_inside",
    OrderStateKind.FINISHED: "taxi.finished",
    OrderStateKind.ABORTED: "taxi.aborted",
}
GENERIC_KIND = "taxi.state_changed"  # new_order again, or a state the dispatch service added
_PASSTHROUGH_FIELDS = ("source", "dest", "source_time")
DEFAULT_MAX_CALLS: Final = 150
# Kept out of the state reads for the one get_crews_coords of a cycle with crew alerts.
COORDS_RESERVE: Final = 1
# Kept out of the state reads for naming new crews (up to three calls a crew), so a busy
# cycle's reads do not starve the changes they find.
NAMING_SHARE: Final = 10  # a tenth of the cap, at least three calls


def initial_snapshot(
    order_id: int,
    *,
    phone: str = "",
    source: str = "",
    dest: str = "",
    source_time: datetime | None = None,
    title: str = "",
    tags: tuple[str, ...] = (),
) -> Snapshot:
    """What the bot stores for an order it just created: watched from ``new_order`` on, so
    every later state is announced."""
    snapshot: Snapshot = {"order_id": order_id, "state_kind": OrderStateKind.NEW_ORDER.value}
    extras: dict[str, Any] = {
        "phone": phone,
        "source": source,
        "dest": dest,
        "source_time": source_time.isoformat() if source_time else "",
        "title": title,
        "tags": list(tags),
    }
    snapshot.update({key: value for key, value in extras.items() if value})
    return snapshot


def snapshot_from_state(state: OrderState, base: Mapping[str, Any] | None = None) -> Snapshot:
    """What the bot stores for an order a chat asked about: the state it showed, so only
    later changes are announced. What the server adds about the order fills the gaps."""
    snapshot = dict(base or {})
    snapshot.update(
        order_id=state.order_id,
        state_kind=state.state_kind,
        state_id=state.state_id,
        crew_id=state.crew_id,
        driver_id=state.driver_id,
        car_id=state.car_id,
    )
    told = {
        "phone": state.phone,
        "source": state.source,
        "dest": state.destination,
        "source_time": state.source_time.isoformat() if state.source_time else "",
    }
    snapshot.update({k: v for k, v in told.items() if v and not snapshot.get(k)})
    return snapshot


@dataclass
class _Budget:
    """The cycle's requests, counted on the client's own call counter."""

    client: TaxiMasterClient
    cap: int

    def __post_init__(self) -> None:
        self._start = self._calls()

    def _calls(self) -> int:
        return sum(self.client.stats.calls.values())

    @property
    def left(self) -> int:
        return self.cap - (self._calls() - self._start)


class TaxiMasterWatcher:
    name = SOURCE

    def __init__(
        self,
        client: TaxiMasterClient,
        snapshots: SnapshotReader,
        *,
        poll_seconds: float = 15,
        max_calls: int = DEFAULT_MAX_CALLS,
        clock: Callable[[], datetime] | None = None,
        concurrency: int = 8,
        no_crew_after: timedelta = timedelta(minutes=10),
    ) -> None:
        self.client = client
        self.snapshots = snapshots
        self.max_calls = max(2, max_calls)
        self.schedule = Schedule(timedelta(seconds=poll_seconds))
        # The schedule's time, and an alert's: TMWeb dates no state change, so an alert is
        # dated when it is seen (the demo's clock in `make demo`).
        self._clock = clock or (lambda: datetime.now(UTC))
        self._concurrency = max(1, concurrency)
        self.no_crew_after = no_crew_after
        self.calls_last_cycle = 0

    def staleness(self) -> timedelta:
        """How old the oldest watched order's state is now."""
        return self.schedule.staleness(self._clock())

    async def poll(self, cursor: str | None) -> WatchResult:
        calls_before = sum(self.client.stats.calls.values())
        try:
            return await self._cycle()
        finally:
            self.calls_last_cycle = sum(self.client.stats.calls.values()) - calls_before

    async def _cycle(self) -> WatchResult:
        now = self._clock()
        watched = await self.snapshots(None)
        result = WatchResult()
        live: dict[str, Snapshot] = {}
        today = now.astimezone(self.client.tz).date()
        for order_id, snapshot in watched.items():
            if not order_id.isdigit():
                result.snapshots[order_id] = None  # nothing to watch: forget without a call
            elif snapshot.get("state_kind") in FINAL_STATES:
                if _final_day(snapshot, self.client.tz, today) < today:
                    result.snapshots[order_id] = None  # yesterday's: no longer listed
            else:
                live[order_id] = snapshot
        self.schedule.keep_only(live, now)
        if not live:
            return result

        budget = _Budget(self.client, self.max_calls)
        states = await self._states(live, now, budget)
        changed: list[tuple[str, Snapshot, OrderState]] = []
        for order_id, outcome in states.items():
            snapshot = live[order_id]
            if isinstance(outcome, TaxiMasterOrderNotFound):
                log.info("taximaster: order %s not found any more, watch ends", order_id)
                result.alerts.append(_lost_alert(order_id, snapshot, now))
                result.snapshots[order_id] = None
            elif isinstance(outcome, OrderState):
                self.schedule.was_read(order_id, now, outcome.state_kind, _source_time(snapshot))
                if _changed(snapshot, outcome):
                    changed.append((order_id, snapshot, outcome))
                elif self._late_without_crew(snapshot, outcome, now):
                    told = {**snapshot, "no_crew_told": snapshot.get("source_time")}
                    result.alerts.append(_no_crew_alert(order_id, told, now))
                    result.snapshots[order_id] = told

        named = await self._name_crews(changed, now, budget)
        ready = [item for item in changed if item[0] in named]
        coords = await self._coords(ready, budget)
        for order_id, old, state in ready:
            new = _merge(old, state, named[order_id], now)
            crew = named[order_id]
            place = coords.get(state.crew_id or 0)
            result.alerts.append(_alert(order_id, old, new, state, crew, place, now))
            result.snapshots[order_id] = new
        return result

    def _late_without_crew(self, snapshot: Snapshot, state: OrderState, now: datetime) -> bool:
        """No crew yet, ``no_crew_after`` past the pickup time, not told for that time yet."""
        pickup = _source_time(snapshot)
        if pickup is None or state.crew_id or state.is_final:
            return False
        if snapshot.get("no_crew_told") == snapshot.get("source_time"):
            return False
        return now >= pickup + self.no_crew_after

    # --- reading states ---------------------------------------------------------------------

    async def _states(
        self, live: Mapping[str, Snapshot], now: datetime, budget: _Budget
    ) -> dict[str, OrderState | Exception]:
        states: dict[str, OrderState | Exception] = {}
        listed = await self._current_orders(live)
        if listed is not None:
            states.update({i: listed[i] for i in live if i in listed})
            # Not among current orders: ended (or a server that lists only some) — ask.
            wanted = self.schedule.most_needed([i for i in live if i not in listed], now)
            wanted += [i for i in live if i not in listed and i not in wanted]
        else:
            wanted = self.schedule.most_needed(live, now)
        reserve = COORDS_RESERVE + max(3, self.max_calls // NAMING_SHARE)
        room = max(1, budget.left - reserve) if wanted else 0
        skipped = len(wanted) - room
        if skipped > 0:
            log.info("taximaster: %d due orders wait for the next cycle (cap)", skipped)
        states.update(await self._poll_each(wanted[:room], fail_all=listed is None))
        return states

    async def _current_orders(self, live: Mapping[str, Snapshot]) -> dict[str, OrderState] | None:
        """Every current order in one call, or None where the server does not have it."""
        if self.client.current_orders_supported is False:
            return None
        try:
            rows = await self.client.get_current_orders()
        except TaxiMasterUnsupported:
            return None
        return {str(row.id): row.state for row in rows}

    async def _poll_each(
        self, ids: list[str], *, fail_all: bool
    ) -> dict[str, OrderState | Exception]:
        """One get_order_state per order. If every call failed below the API (or the client is
        locked) and nothing else was read, raise: the bot reports the integration down."""
        gate = asyncio.Semaphore(self._concurrency)

        async def one(order_id: str) -> OrderState | Exception:
            async with gate:
                try:
                    return await self.client.get_order_state(int(order_id))
                except IntegrationError as exc:
                    return exc

        outcomes = dict(zip(ids, await asyncio.gather(*(one(i) for i in ids)), strict=True))
        failures = [
            o
            for o in outcomes.values()
            if isinstance(o, Exception) and not isinstance(o, TaxiMasterOrderNotFound)
        ]
        if fail_all and failures and len(failures) == len(outcomes):
            raise failures[0]
        for order_id, outcome in outcomes.items():
            if isinstance(outcome, IntegrationDisabled):
                raise outcome
            if isinstance(outcome, Exception) and not isinstance(outcome, TaxiMasterOrderNotFound):
                log.warning(
                    "taximaster: order %s not polled this cycle: %s",
                    order_id,
                    outcome.detail if isinstance(outcome, IntegrationError) else outcome,
                )
        return outcomes

    # --- naming crews, placing them -----------------------------------------------------------

    async def _name_crews(
        self, changed: list[tuple[str, Snapshot, OrderState]], now: datetime, budget: _Budget
    ) -> dict[str, CrewIdentity | None]:
        """The crew of each changed order (None: no crew). An order whose crew cannot be named
        within the cap is left out, and due again at once."""
        named: dict[str, CrewIdentity | None] = {}
        directory = self.client.crews
        for order_id, old, state in changed:
            if not state.crew_id:
                named[order_id] = None
                continue
            known = CrewIdentity.from_dict(old.get("crew") or {})
            if known is not None and known.crew_id == state.crew_id:
                named[order_id] = known  # the call sign of an order's crew never changes
                continue
            cost = directory.calls_needed(
                state.crew_id, driver_id=state.driver_id, car_id=state.car_id
            )
            if cost > budget.left - COORDS_RESERVE:
                self.schedule.due_now(order_id, now)
                log.info("taximaster: order %s: its new crew is named next cycle (cap)", order_id)
                continue
            named[order_id] = await directory.identity(
                state.crew_id, driver_id=state.driver_id, car_id=state.car_id
            )
        return named

    async def _coords(
        self, changed: list[tuple[str, Snapshot, OrderState]], budget: _Budget
    ) -> dict[int, CrewCoords]:
        wanted = {state.crew_id for _, _, state in changed if state.crew_id and not state.is_final}
        if not wanted or budget.left < 1:
            return {}
        try:
            rows = await self.client.get_crews_coords()
        except IntegrationError as exc:
            log.warning("taximaster: crew positions: %s", exc.detail)
            return {}
        return {row.crew_id: row for row in rows if row.crew_id in wanted and row.has_fix}


def _source_time(snapshot: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(snapshot["source_time"]))
    except (KeyError, ValueError):
        return None


def _final_day(snapshot: Mapping[str, Any], tz: Any, today: date) -> date:
    """The dispatch service's day the order ended (today when the snapshot does not say)."""
    try:
        return datetime.fromisoformat(str(snapshot["final_at"])).astimezone(tz).date()
    except (KeyError, ValueError):
        return today


def _changed(snapshot: Mapping[str, Any], state: OrderState) -> bool:
    """A new state kind, a new crew, or a new state id (when both ids are known)."""
    if snapshot.get("state_kind") != state.state_kind:
        return True
    if state.crew_id and state.crew_id != snapshot.get("crew_id"):
        return True
    old_id = snapshot.get("state_id")
    return old_id is not None and state.state_id is not None and old_id != state.state_id


def _merge(
    old: Mapping[str, Any], state: OrderState, crew: CrewIdentity | None, now: datetime
) -> Snapshot:
    new = snapshot_from_state(state, old)
    for key in ("car", "driver", "crew_code", "crew"):  # (the first three: older snapshots)
        new.pop(key, None)
    if crew is not None:
        new["crew"] = crew.to_dict()
    if state.is_final:
        new["final_at"] = now.isoformat()
    return new


def _subject(order_id: str, snapshot: Mapping[str, Any]) -> Subject:
    """«№5001 · улица Малышева, 51 → Аэропорт Кольцово»: the order number on every alert."""
    route = str(snapshot.get("title") or "")
    if not route and snapshot.get("source"):
        route = str(snapshot["source"]) + (f" → {snapshot['dest']}" if snapshot.get("dest") else "")
    tags = tuple(str(tag) for tag in snapshot.get("tags") or ())
    title = f"№{order_id}" + (f" · {route}" if route else "")
    return Subject("order", order_id, title, tags)


def _alert(
    order_id: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    state: OrderState,
    crew: CrewIdentity | None,
    coords: CrewCoords | None,
    now: datetime,
) -> Alert:
    kind = STATE_KINDS.get(state.state_kind, GENERIC_KIND)
    if kind == GENERIC_KIND and state.crew_id and state.crew_id != old.get("crew_id"):
        kind = STATE_KINDS[OrderStateKind.DRIVER_ASSIGNED]
    fields: dict[str, FieldValue] = {"state": state.state_kind or None}
    if kind == GENERIC_KIND:
        fields["state_id"] = state.state_id
    fields["phone"] = new.get("phone") or None
    if crew is not None:
        fields.update(crew=crew.label, driver_phone=crew.driver_phone or None)
    for key in _PASSTHROUGH_FIELDS:
        if new.get(key):
            fields[key] = new[key]
    location = (
        Location(coords.lat, coords.lon)
        if coords and coords.lat is not None and coords.lon is not None
        else None
    )
    return Alert(
        kind=kind,
        source=SOURCE,
        subject=_subject(order_id, new),
        occurred_at=now,
        dedupe_key=f"{SOURCE}:{order_id}:{state.state_kind}:{state.state_id}:{state.crew_id or 0}",
        fields={key: value for key, value in fields.items() if value is not None},
        location=location,
    )


def _no_crew_alert(order_id: str, snapshot: Mapping[str, Any], now: datetime) -> Alert:
    """Nobody took the order: its pickup time passed by the grace without a crew."""
    fields: dict[str, FieldValue] = {
        "state": str(snapshot.get("state_kind") or "") or None,
        "phone": snapshot.get("phone") or None,
    }
    for key in _PASSTHROUGH_FIELDS:
        if snapshot.get(key):
            fields[key] = snapshot[key]
    return Alert(
        kind="taxi.no_crew",
        source=SOURCE,
        subject=_subject(order_id, snapshot),
        occurred_at=now,
        dedupe_key=f"{SOURCE}:{order_id}:no_crew:{snapshot.get('source_time')}",
        fields={key: value for key, value in fields.items() if value is not None},
    )


def _lost_alert(order_id: str, snapshot: Mapping[str, Any], now: datetime) -> Alert:
    """TMWeb no longer knows the order: said as that, not as "cancelled" (it may not be)."""
    fields: dict[str, FieldValue] = {
        "state": "not_found",
        "reason": "order_not_found",
        "phone": snapshot.get("phone") or None,
    }
    return Alert(
        kind=GENERIC_KIND,
        source=SOURCE,
        subject=_subject(order_id, snapshot),
        occurred_at=now,
        dedupe_key=f"{SOURCE}:{order_id}:not_found",
        fields={key: value for key, value in fields.items() if value is not None},
    )
