"""One Taxi-Master poll cycle: the watched orders' states -> alerts and new snapshots.

The watched orders are the subjects of the injected :class:`~integrations.base.SnapshotReader`
(the bot stores a first snapshot when it creates an order — :func:`initial_snapshot` — or when a
chat asks about one — :func:`snapshot_from_state`). Each cycle:

* ONE ``get_order_state`` per live order (bounded concurrency), none for finished/aborted ones;
* on a change of state (or of crew) an alert: ``taxi.assigned`` … ``taxi.aborted``, or
  :data:`GENERIC_KIND` for a state with no kind of its own;
* a new crew costs ``get_car_info`` + ``get_driver_info`` once (kept in the snapshot), and a
  cycle with alerts about crews makes ONE ``get_crews_coords`` for their positions.

So a cycle costs ``live + 2 × new crews + (1 if any crew alert)`` calls. Finished and aborted
orders get ``None`` in ``snapshots``: the bot forgets them and the watch ends. The cursor is
unused (always ``None``).

Snapshot keys the watcher owns: ``order_id``, ``state_kind``, ``state_id``, ``crew_id``,
``driver_id``, ``car_id``, ``crew_code``, ``car`` ({mark, model, color, plate}), ``driver``
({name, phone}). Any other key the bot stored (``title``, ``source``, ``dest``,
``source_time``, ``tags``) is kept and used for the alert's subject and fields.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

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
from integrations.taximaster.errors import TaxiMasterOrderNotFound
from integrations.taximaster.models import FINAL_STATES, CrewCoords, OrderState, OrderStateKind

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


def initial_snapshot(
    order_id: int,
    *,
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
    later changes are announced."""
    snapshot = dict(base or {})
    snapshot.update(
        order_id=state.order_id,
        state_kind=state.state_kind,
        state_id=state.state_id,
        crew_id=state.crew_id,
        driver_id=state.driver_id,
        car_id=state.car_id,
    )
    return snapshot


class TaxiMasterWatcher:
    name = SOURCE

    def __init__(
        self,
        client: TaxiMasterClient,
        snapshots: SnapshotReader,
        *,
        concurrency: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.snapshots = snapshots
        self.clock = clock  # TMWeb dates no state change: an alert is dated when it is seen
        self._concurrency = max(1, concurrency)
        self.calls_last_cycle = 0

    async def poll(self, cursor: str | None) -> WatchResult:
        calls_before = sum(self.client.stats.calls.values())
        try:
            return await self._cycle()
        finally:
            self.calls_last_cycle = sum(self.client.stats.calls.values()) - calls_before

    async def _cycle(self) -> WatchResult:
        watched = await self.snapshots(None)
        result = WatchResult()
        live: dict[str, Snapshot] = {}
        for order_id, snapshot in watched.items():
            if not order_id.isdigit() or snapshot.get("state_kind") in FINAL_STATES:
                result.snapshots[order_id] = None  # nothing to watch: forget without a call
            else:
                live[order_id] = snapshot
        if not live:
            return result

        states = await self._states(live)
        changed: list[tuple[str, Snapshot, OrderState]] = []
        for order_id, outcome in states.items():
            snapshot = live[order_id]
            if isinstance(outcome, TaxiMasterOrderNotFound):
                log.info("taximaster: order %s not found any more, watch ends", order_id)
                result.alerts.append(_lost_alert(order_id, snapshot, self.clock()))
                result.snapshots[order_id] = None
            elif isinstance(outcome, OrderState) and _changed(snapshot, outcome):
                changed.append((order_id, snapshot, outcome))

        crew_changes = [
            item
            for item in changed
            if item[2].crew_id and item[2].crew_id != item[1].get("crew_id")
        ]
        crew_details = {
            order_id: await self._crew_details(state) for order_id, _, state in crew_changes
        }
        coords = await self._coords(changed)
        for order_id, old, state in changed:
            new = _merge(old, state, crew_details.get(order_id))
            crew_coords = coords.get(state.crew_id or 0)
            result.alerts.append(_alert(order_id, old, new, state, crew_coords, self.clock()))
            result.snapshots[order_id] = None if state.state_kind in FINAL_STATES else new
        return result

    async def _states(self, live: Mapping[str, Snapshot]) -> dict[str, OrderState | Exception]:
        """One get_order_state per live order. If every call failed below the API (or the
        client is locked), raise: the bot then reports the integration down."""
        gate = asyncio.Semaphore(self._concurrency)

        async def one(order_id: str) -> OrderState | Exception:
            async with gate:
                try:
                    return await self.client.get_order_state(int(order_id))
                except IntegrationError as exc:
                    return exc

        ids = list(live)
        outcomes = dict(zip(ids, await asyncio.gather(*(one(i) for i in ids)), strict=True))
        failures = [
            o
            for o in outcomes.values()
            if isinstance(o, Exception) and not isinstance(o, TaxiMasterOrderNotFound)
        ]
        if failures and len(failures) == len(outcomes):
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

    async def _crew_details(self, state: OrderState) -> dict[str, Any]:
        """Car and driver of a newly assigned crew (2 calls, once per crew change)."""
        details: dict[str, Any] = {}
        try:
            if state.car_id:
                car = await self.client.get_car_info(state.car_id)
                details["car"] = {
                    "mark": car.mark,
                    "model": car.model or car.name,
                    "color": car.color,
                    "plate": car.gos_number,
                }
                details["crew_code"] = car.code
            if state.driver_id:
                driver = await self.client.get_driver_info(state.driver_id)
                details["driver"] = {"name": driver.name, "phone": driver.mobile_phone}
        except IntegrationError as exc:
            log.warning("taximaster: crew details of order %s: %s", state.order_id, exc.detail)
        return details

    async def _coords(
        self, changed: list[tuple[str, Snapshot, OrderState]]
    ) -> dict[int, CrewCoords]:
        wanted = {state.crew_id for _, _, state in changed if state.crew_id and not state.is_final}
        if not wanted:
            return {}
        try:
            rows = await self.client.get_crews_coords()
        except IntegrationError as exc:
            log.warning("taximaster: crew positions: %s", exc.detail)
            return {}
        return {row.crew_id: row for row in rows if row.crew_id in wanted and row.has_fix}


def _changed(snapshot: Mapping[str, Any], state: OrderState) -> bool:
    """A new state kind, a new crew, or a new state id (when both ids are known)."""
    if snapshot.get("state_kind") != state.state_kind:
        return True
    if state.crew_id and state.crew_id != snapshot.get("crew_id"):
        return True
    old_id = snapshot.get("state_id")
    return old_id is not None and state.state_id is not None and old_id != state.state_id


def _merge(
    old: Mapping[str, Any], state: OrderState, details: Mapping[str, Any] | None
) -> Snapshot:
    new = snapshot_from_state(state, old)
    if state.crew_id != old.get("crew_id"):
        for key in ("car", "driver", "crew_code"):
            new.pop(key, None)
    new.update(details or {})
    return new


def _subject(order_id: str, snapshot: Mapping[str, Any]) -> Subject:
    title = str(snapshot.get("title") or "")
    if not title and snapshot.get("source"):
        title = str(snapshot["source"]) + (f" → {snapshot['dest']}" if snapshot.get("dest") else "")
    tags = tuple(str(tag) for tag in snapshot.get("tags") or ())
    return Subject("order", order_id, title or order_id, tags)


def _alert(
    order_id: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    state: OrderState,
    coords: CrewCoords | None,
    now: datetime,
) -> Alert:
    kind = STATE_KINDS.get(state.state_kind, GENERIC_KIND)
    if kind == GENERIC_KIND and state.crew_id and state.crew_id != old.get("crew_id"):
        kind = STATE_KINDS[OrderStateKind.DRIVER_ASSIGNED]
    fields: dict[str, FieldValue] = {"state": state.state_kind or None}
    if kind == GENERIC_KIND:
        fields["state_id"] = state.state_id
    car = new.get("car") or {}
    driver = new.get("driver") or {}
    if state.crew_id:
        fields.update(
            car_mark=car.get("mark") or None,
            car_model=car.get("model") or None,
            car_color=car.get("color") or None,
            car_plate=car.get("plate") or None,
            driver_name=driver.get("name") or None,
            driver_phone=driver.get("phone") or None,
            crew_code=new.get("crew_code") or None,
        )
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


def _lost_alert(order_id: str, snapshot: Mapping[str, Any], now: datetime) -> Alert:
    return Alert(
        kind=STATE_KINDS[OrderStateKind.ABORTED],
        source=SOURCE,
        subject=_subject(order_id, snapshot),
        occurred_at=now,
        dedupe_key=f"{SOURCE}:{order_id}:not_found",
        fields={"state": "not_found", "reason": "order_not_found"},
    )
