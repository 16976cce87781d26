"""One Movizor poll cycle: new events since the cursor -> normalized alerts.

- The cursor is the last event id. On the very first start it is set to the newest event id,
  so history is never replayed into chats.
- Pages of up to 1,000 events are read until drained (bounded per cycle). The service lists
  events newest first and does not say WHICH 1,000 it returns when more follow ``afterid``: the
  oldest (paging forward from the largest id then drains the feed) or the newest (the older ones
  cannot be reached at all: ``afterid`` is the only way to ask). Each page is sorted here, and a
  full page is checked with a small probe (the 10 events right after the same ``afterid``): if
  they are the page's own 10 oldest, the page starts right after it and nothing was skipped;
  otherwise events between the cursor and the page may be lost, and the cycle says so with a
  ``system.events_skipped`` alert for the admins instead of losing them quietly.
- The cursor only moves to the largest id of what was routed (or reported as a gap), so a cycle
  stopped by the page bound continues next time where it stopped.
- Every event is enriched with the driver's title (the bot's own directory, filled when a
  dispatcher tracks a driver) and last position from ONE ``pos_objects`` call per cycle, never a
  call per event. Phones the directory does not know are looked up with ``object_get``, at most
  a few per cycle and once per process, so the calls per cycle do not grow with the events.
  Positions are an extra: when ``pos_objects`` fails, the alerts go without them (the event's
  own coordinates, if any) rather than wait for the next cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from integrations.base import Alert, FieldValue, Location, Subject, WatchResult
from integrations.errors import IntegrationError
from integrations.movizor.client import MovizorClient
from integrations.movizor.models import Event, EventType, ObjectPosition

log = logging.getLogger("integrations.movizor")

PAGE_SIZE = 1000
PROBE_SIZE = 10  # the document's smallest ``limit``
MAX_PAGES_PER_CYCLE = 20
MAX_TITLE_LOOKUPS_PER_CYCLE = 3

# Every documented event type -> an alert kind (bot/alerts/kinds.py).
EVENT_KINDS: dict[str, str] = {
    EventType.ADD: "driver.added",
    EventType.AUTO_OFF: "driver.off",
    EventType.OFF: "driver.off",
    EventType.CONFIRM: "driver.confirmed",
    EventType.REJECT: "driver.rejected",
    EventType.REQUEST: "driver.info",
    EventType.REQUEST_ERROR: "driver.request_failed",
    EventType.REQUEST_OFFLINE: "driver.unreachable",
    EventType.REQUEST_ROAMING: "driver.roaming",
    EventType.REACTIVATE: "driver.added",
    EventType.TARIFF_AUTO: "driver.info",
    EventType.POS_OK: "driver.on_time",
    EventType.POS_LATE: "driver.late",
    EventType.POS_FINISHED: "driver.arriving",
    EventType.AUTOINFORM: "driver.info",
    EventType.NO_CONFIRM: "driver.no_confirm",
    EventType.LIMIT: "driver.limit",
    EventType.ONROUTE: "driver.on_route",
    EventType.RETURNROUTE: "driver.returned_route",
    EventType.LEFTROUTE: "driver.left_route",
    EventType.NOTROUTE: "driver.not_on_route",
    EventType.ONPARKING: "driver.parked",
    EventType.OFFPARKING: "driver.moving",
    EventType.MSTART: "driver.app_started",
    EventType.MSTOP: "driver.app_stopped",
}

# Kinds several event types share: only for these does the event itself tell which happened.
SHARED_KINDS: frozenset[str] = frozenset(
    kind for kind in EVENT_KINDS.values() if list(EVENT_KINDS.values()).count(kind) > 1
) | {"driver.info"}


@dataclass(frozen=True)
class EventsGap:
    """Events with ids in (after_id, before_id) may exist that the service would not give."""

    after_id: int
    before_id: int


@dataclass(frozen=True)
class DriverInfo:
    title: str
    tags: tuple[str, ...] = ()


# phones -> what the bot knows of them (the drivers table, in the app)
DriverDirectory = Callable[[set[str]], Awaitable[dict[str, DriverInfo]]]
# remember a title learnt from Movizor
DriverRemember = Callable[[str, DriverInfo], Awaitable[None]]


class MovizorWatcher:
    name = "movizor"

    def __init__(
        self,
        client: MovizorClient,
        directory: DriverDirectory,
        remember: DriverRemember,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.directory = directory
        self.remember = remember
        self.clock = clock  # "now" for what Movizor does not date
        self._looked_up: set[str] = set()
        self.calls_last_cycle = 0

    async def poll(self, cursor: str | None) -> WatchResult:
        calls_before = sum(self.client.stats.calls.values())
        try:
            if cursor is None:
                return WatchResult([], str(await self._newest_event_id()))
            events, gaps = await self._new_events(int(cursor))
            if not events:
                return WatchResult([], cursor)
            alerts = [self._gap_alert(gap) for gap in gaps] + await self._to_alerts(events)
            return WatchResult(alerts, str(events[-1].id))
        finally:
            self.calls_last_cycle = sum(self.client.stats.calls.values()) - calls_before

    async def _newest_event_id(self) -> int:
        events = await self.client.events(limit=PAGE_SIZE)
        newest = max((event.id for event in events), default=0)
        log.info("movizor: first start, events from id %s on (history is not replayed)", newest)
        return newest

    async def _new_events(self, after_id: int) -> tuple[list[Event], list[EventsGap]]:
        """Events after ``after_id``, oldest first, and the gaps the service may have left."""
        events: list[Event] = []
        gaps: list[EventsGap] = []
        for _ in range(MAX_PAGES_PER_CYCLE):
            answer = await self.client.events(after_id=after_id, limit=PAGE_SIZE)
            page = _after(answer, after_id)
            if not page:
                break
            full = len(answer) >= PAGE_SIZE
            if full and not await self._starts_right_after(after_id, page):
                gaps.append(EventsGap(after_id, page[0].id))
                log.error(
                    "movizor: more than %s events followed id %s and the service gave the newest;"
                    " events between %s and %s may be lost",
                    PAGE_SIZE,
                    after_id,
                    after_id,
                    page[0].id,
                )
            events += page
            if not full:
                break
            after_id = page[-1].id
        return events, gaps

    async def _starts_right_after(self, after_id: int, page: list[Event]) -> bool:
        """Whether ``page`` holds the events right after ``after_id`` (not only the newest)."""
        probe = _after(await self.client.events(after_id=after_id, limit=PROBE_SIZE), after_id)
        return [e.id for e in probe] == [e.id for e in page[: len(probe)]]

    def _gap_alert(self, gap: EventsGap) -> Alert:
        return Alert(
            kind="system.events_skipped",
            source="movizor",
            subject=Subject("integration", "movizor", "Movizor"),
            occurred_at=self.clock(),
            dedupe_key=f"movizor:gap:{gap.after_id}:{gap.before_id}",
            fields={"after_id": gap.after_id, "before_id": gap.before_id, "page_size": PAGE_SIZE},
        )

    async def _to_alerts(self, events: list[Event]) -> list[Alert]:
        positions = await self._positions()
        phones = {event.phone for event in events if event.phone}
        known = await self.directory(phones)
        await self._learn_titles(phones - set(known), known)
        return [
            self._alert(event, known.get(event.phone), positions.get(event.phone))
            for event in events
        ]

    async def _positions(self) -> dict[str, ObjectPosition]:
        """The last positions by phone; empty when Movizor will not say this cycle."""
        try:
            return {p.phone: p for p in await self.client.pos_objects()}
        except IntegrationError as exc:
            log.warning("movizor: alerts go without positions this cycle: %s", type(exc).__name__)
            return {}

    async def _learn_titles(self, unknown: set[str], known: dict[str, DriverInfo]) -> None:
        for phone in sorted(unknown - self._looked_up)[:MAX_TITLE_LOOKUPS_PER_CYCLE]:
            self._looked_up.add(phone)
            try:
                info = await self.client.object_get(phone)
            except IntegrationError as exc:
                log.info("movizor: no title for a phone: %s", type(exc).__name__)
                continue
            if info.title:
                known[phone] = DriverInfo(info.title)
                await self.remember(phone, known[phone])

    def _alert(
        self, event: Event, driver: DriverInfo | None, position: ObjectPosition | None
    ) -> Alert:
        kind = EVENT_KINDS.get(str(event.type), "driver.info")
        # No title: the bot names the driver by the phone, in the one way it writes phones.
        title = (driver.title if driver else "") or (event.title or "")
        fields: dict[str, FieldValue] = {}
        if kind in SHARED_KINDS:  # otherwise the kind's own title already says what happened
            fields["event"] = str(event.type)
        if event.text:
            fields["details"] = event.text
        location = None
        lat, lon = event.lat, event.lon
        place = ""
        if position is not None:
            place = position.place or ""
            if lat is None and position.has_fix:
                lat, lon = position.lat, position.lon
            if position.distance is not None:
                fields["distance_left_km"] = round(float(position.distance), 1)
            if position.eta is not None:
                fields["time_left_minutes"] = int(position.eta.total_seconds() // 60)
        if lat is not None and lon is not None:
            location = Location(lat, lon, place)
        elif place:
            fields["place"] = place  # with coordinates the place shows on the location line
        return Alert(
            kind=kind,
            source="movizor",
            subject=Subject("driver", event.phone, title, driver.tags if driver else ()),
            occurred_at=event.timestamp or self.clock(),
            dedupe_key=f"movizor:{event.id}",
            fields=fields,
            location=location,
        )


def _after(answer: list[Event], after_id: int) -> list[Event]:
    """The events of an answer after ``after_id``, oldest first, each once, whatever order
    the service listed them in."""
    unique = {event.id: event for event in answer if event.id > after_id}
    return [unique[event_id] for event_id in sorted(unique)]
