"""One Alta poll cycle: which requests changed -> their latest report -> alerts.

Calls per cycle: ONE ``track_list``, then ``show`` for the watched requests whose
``modify_date`` differs from the one remembered in the cursor AND whose ``status`` says the
report is done (3, 4; 1 = queued and 2 = processing are waited out: a report read then would
be the old one) — oldest change first, as many as Alta's once-a-minute pace for the account
allows (one a cycle at one cycle a minute); the rest stay "changed" and go next cycle, so
nothing is lost. ``carr_list`` (at most ``list_budget`` a cycle) confirms what ``track_list``
only suggests:

* a watched request missing from one ``track_list`` answer (or whose ``show`` says "not
  found") ends only when ``carr_list`` says it is gone too; when ``carr_list`` still lists it,
  the numbers it lists go on being watched;
* a request whose ``vagon_count`` dropped below the numbers we watch in it: the numbers no
  longer listed were taken off tracking.

Errors: a refused pace (ours or Alta's "too frequent") defers the rest to the next cycle; a
rejected login raises (the client locks); any other error fails the whole cycle — nothing is
committed, the cursor stays, and the bot's watch runner tells the admins once
(``system.integration_down`` after a few failed cycles, then ``…_recovered``).

What is remembered:

* **cursor** (JSON): ``{"v": 1, "modified": {hash: modify_date as Alta wrote it}}`` — only for
  requests whose report was actually read, so a skipped, waited-out or failed ``show`` is
  retried.
* **snapshots**, one per NUMBER (subject id = the wagon/container number), written by the bot
  when a number is put on tracking (see :func:`initial_snapshot`) and updated here:
  ``hash``, ``type``, ``added_at``, ``stop_station``, ``title``, ``tags`` and the last
  dislocation ``station``, ``station_name``, ``operation``, ``operation_at``, ``destination``,
  ``destination_name``, ``distance_left_km``, ``report_at``, plus the flags ``arrived`` (with
  ``arrived_station``: it resets when the wagon leaves that station, so the next trip's
  arrival is told too), ``no_data_alerted``, ``ended``. Ended numbers keep their snapshot (the
  last place) with ``ended: true`` and are not watched further.

``station_since`` (when it came to its station) and ``stuck_told`` (the ``station_since`` a
``wagon.stuck`` was told for) say how long a number has stood.

Alert kinds: ``wagon.moved`` (new station or operation, including the first report),
``wagon.stuck`` (on tracking, not arrived, at one station ``stuck_after`` or longer: once per
stay; urgent, so it escalates, and the next move ends that),
``wagon.arrived`` (at the destination or the stop station), ``wagon.no_data`` (still nothing
``no_data_after`` after add), ``wagon.tracking_ended`` (cancelled, or taken off after arrival),
and ``system.report_unpaired`` for the admins when a report row names no number we can
recognise (see :mod:`integrations.alta.pairing`).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from integrations.alta.client import AltaClient
from integrations.alta.errors import AltaRateLimited, AltaRequestNotFound
from integrations.alta.models import Dislocation, TrackRequest, esr5, parse_alta_date
from integrations.alta.numbers import NumberKind, number_kind
from integrations.alta.pairing import pair_rows
from integrations.base import Alert, FieldValue, Snapshot, SnapshotReader, Subject, WatchResult

log = logging.getLogger("integrations.alta")

SOURCE: Final = "alta"
KINDS: Final = (
    "wagon.moved",
    "wagon.arrived",
    "wagon.no_data",
    "wagon.stuck",
    "wagon.tracking_ended",
)


def initial_snapshot(
    number: str,
    request_hash: str,
    added_at: datetime,
    *,
    stop_station: str | None = None,
    title: str = "",
    tags: Iterable[str] = (),
) -> Snapshot:
    """What the bot stores for a number it just put on tracking, so the watcher follows it."""
    kind = number_kind(number)
    return {
        "hash": request_hash,
        "type": (kind or NumberKind.WAGON).value,
        "added_at": added_at.astimezone(UTC).isoformat(),
        "stop_station": stop_station if stop_station not in (None, "yes", "no") else None,
        "title": title,
        "tags": list(tags),
    }


class AltaWatcher:
    name = SOURCE

    def __init__(
        self,
        client: AltaClient,
        snapshots: SnapshotReader,
        *,
        list_budget: int = 10,
        no_data_after: timedelta = timedelta(hours=6),
        stuck_after: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.snapshots = snapshots
        self.list_budget = max(1, list_budget)
        self.no_data_after = no_data_after
        self.stuck_after = stuck_after
        self.clock = clock
        self.calls_last_cycle = 0
        self.deferred_last_cycle = 0  # changed requests left for the next cycle

    async def poll(self, cursor: str | None) -> WatchResult:
        calls_before = sum(self.client.stats.calls.values())
        try:
            return await _Cycle(self, _read_cursor(cursor)).run()
        finally:
            self.calls_last_cycle = sum(self.client.stats.calls.values()) - calls_before

    # --- diffs ----------------------------------------------------------------------------------

    def _diff(self, number: str, old: Snapshot, row: Dislocation, result: WatchResult) -> None:
        new: Snapshot = {
            **old,
            "station": row.station,
            "station_name": row.station_name,
            "operation": row.operation,
            "operation_at": _iso(row.operation_at),
            "destination": row.destination or old.get("destination"),
            "destination_name": row.destination_name or old.get("destination_name"),
            "distance_left_km": row.distance_left_km,
            "report_at": _iso(row.report_at),
        }
        if old.get("station") != row.station or not old.get("station_since"):
            new["station_since"] = _iso(row.operation_at or row.report_at or self.clock())
        stop = old.get("stop_station")
        arrived = row.arrived_at_destination or bool(stop and esr5(row.station) == esr5(stop))
        moved = old.get("station") != row.station or old.get("operation") != row.operation
        was_arrived = bool(old.get("arrived"))
        if was_arrived and esr5(row.station) != esr5(str(old.get("arrived_station") or "")):
            # It left the station it arrived at: the next arrival (the next trip) is news again.
            new["arrived"] = was_arrived = False
            new.pop("arrived_station", None)
        result.snapshots[number] = new
        if arrived and not was_arrived:
            new["arrived"], new["arrived_station"] = True, row.station
            kind = "wagon.arrived"
            dedupe = f"alta:{number}:arrived:{esr5(row.station)}:{_iso(row.operation_at)}"
        elif moved:
            kind = "wagon.moved"
            dedupe = f"alta:{number}:moved:{row.station}:{row.operation}:{_iso(row.operation_at)}"
        else:
            return
        at_destination = bool(new["destination"]) and esr5(str(new["destination"])) == esr5(
            row.station
        )
        previous = old.get("station_name") or None
        report_at = _iso(row.report_at)
        # No fact twice: the destination when the wagon stands there, the previous station when
        # it did not change, the report time when it is the operation's.
        fields: dict[str, FieldValue] = {
            "station_name": row.station_name or None,
            "station_code": row.station,
            "operation": row.operation or None,
            "operation_at": _iso(row.operation_at),
            "destination_name": None if at_destination else new["destination_name"] or None,
            "destination_code": None if at_destination else new["destination"] or None,
            "distance_left_km": row.distance_left_km,
            "previous_station_name": None if previous == row.station_name else previous,
            "report_at": None if report_at == _iso(row.operation_at) else report_at,
            "request_hash": str(old.get("hash") or ""),
        }
        occurred = row.operation_at or row.report_at or self.clock()
        result.alerts.append(self._alert(kind, number, new, occurred, dedupe, fields))

    def _ended(self, number: str, snapshot: Snapshot, result: WatchResult) -> None:
        if snapshot.get("ended"):
            return
        result.snapshots[number] = {**snapshot, "ended": True}
        fields: dict[str, FieldValue] = {
            "reason": "arrived" if snapshot.get("arrived") else "cancelled",
            "station_name": snapshot.get("station_name") or None,
            "station_code": snapshot.get("station") or None,
            "request_hash": str(snapshot.get("hash") or ""),
        }
        dedupe = f"alta:{number}:ended:{snapshot.get('hash')}"
        result.alerts.append(
            self._alert("wagon.tracking_ended", number, snapshot, self.clock(), dedupe, fields)
        )

    def _no_data(self, watched: dict[str, dict[str, Snapshot]], result: WatchResult) -> None:
        now = self.clock()
        for numbers in watched.values():
            for number, stored in numbers.items():
                snapshot = result.snapshots.get(number) or stored
                added = parse_alta_date(snapshot.get("added_at"))
                if (
                    snapshot.get("station")
                    or snapshot.get("ended")
                    or snapshot.get("no_data_alerted")
                    or added is None
                    or now - added < self.no_data_after
                ):
                    continue
                new = {**snapshot, "no_data_alerted": True}
                result.snapshots[number] = new
                fields: dict[str, FieldValue] = {
                    "added_at": _iso(added),
                    "hours_without_data": int((now - added).total_seconds() // 3600),
                    "request_hash": str(snapshot.get("hash") or ""),
                }
                dedupe = f"alta:{number}:no_data:{snapshot.get('added_at')}"
                result.alerts.append(self._alert("wagon.no_data", number, new, now, dedupe, fields))

    def _stuck(self, watched: dict[str, dict[str, Snapshot]], result: WatchResult) -> None:
        """Numbers on tracking that have stood at one station ``stuck_after``: told once."""
        now = self.clock()
        for numbers in watched.values():
            for number, stored in numbers.items():
                snapshot = result.snapshots.get(number) or stored
                since = parse_alta_date(snapshot.get("station_since"))
                if (
                    since is None
                    or snapshot.get("ended")
                    or snapshot.get("arrived")
                    or snapshot.get("stuck_told") == snapshot.get("station_since")
                    or now - since < self.stuck_after
                ):
                    continue
                new = {**snapshot, "stuck_told": snapshot.get("station_since")}
                result.snapshots[number] = new
                fields: dict[str, FieldValue] = {
                    "station_name": snapshot.get("station_name") or None,
                    "station_code": snapshot.get("station") or None,
                    "operation": snapshot.get("operation") or None,
                    "hours_without_movement": int((now - since).total_seconds() // 3600),
                    "request_hash": str(snapshot.get("hash") or ""),
                }
                dedupe = f"alta:{number}:stuck:{snapshot.get('station_since')}"
                result.alerts.append(self._alert("wagon.stuck", number, new, now, dedupe, fields))

    @staticmethod
    def _alert(
        kind: str,
        number: str,
        snapshot: Snapshot,
        occurred_at: datetime,
        dedupe_key: str,
        fields: dict[str, FieldValue],
    ) -> Alert:
        subject_type = str(snapshot.get("type") or (number_kind(number) or NumberKind.WAGON))
        return Alert(
            kind=kind,
            source=SOURCE,
            subject=Subject(
                subject_type,
                number,
                str(snapshot.get("title") or number),
                tuple(str(t) for t in snapshot.get("tags") or ()),
            ),
            occurred_at=occurred_at,
            dedupe_key=dedupe_key,
            fields={k: v for k, v in fields.items() if v is not None},
        )


class _Cycle:
    """One poll: its own state, so the steps read as the docstring above tells them."""

    def __init__(self, watcher: AltaWatcher, modified: dict[str, str]) -> None:
        self.w = watcher
        self.client = watcher.client
        self.modified = modified
        self.result = WatchResult(cursor=None)
        self.lists_left = watcher.list_budget
        self.requests: dict[str, TrackRequest] = {}
        self.watched: dict[str, dict[str, Snapshot]] = defaultdict(dict)

    async def run(self) -> WatchResult:
        self.requests = {r.hash: r for r in await self.client.track_list()}
        for number, snapshot in (await self.w.snapshots(None)).items():
            if not snapshot.get("ended") and snapshot.get("hash"):
                self.watched[str(snapshot["hash"])][number] = snapshot
        # Requests we watch that this answer does not list (or lists as the same request): the
        # cursor keeps what it knew of them until they are confirmed gone.
        new_modified = {h: m for h, m in self.modified.items() if h in self.requests}
        new_modified.update({h: m for h, m in self.modified.items() if h in self.watched})
        for request_hash in [h for h in self.watched if h not in self.requests]:
            await self._confirm_gone(request_hash)
        await self._check_removed()
        changed = sorted(
            (
                r
                for h, r in self.requests.items()
                if h in self.watched and self.modified.get(h) != r.modify_date_raw
            ),
            key=lambda r: r.modify_date or datetime.min.replace(tzinfo=UTC),
        )
        shown = await self._show(changed, new_modified)
        # A request whose new report was not read this cycle is not judged yet: not "no data",
        # and not ended before its last report (the arrival) is told.
        unread = {r.hash for r in changed} - shown
        for request_hash, numbers in self.watched.items():
            request = self.requests.get(request_hash)
            if request is not None and not request.on_track and request_hash not in unread:
                for number in numbers:
                    self._ended(number)
        settled = {h: n for h, n in self.watched.items() if h not in unread}
        self.w._no_data(settled, self.result)
        self.w._stuck(settled, self.result)
        self.w.deferred_last_cycle = len(unread)
        self.result.cursor = json.dumps({"v": 1, "modified": new_modified}, sort_keys=True)
        return self.result

    async def _show(self, changed: list[TrackRequest], new_modified: dict[str, str]) -> set[str]:
        shown: set[str] = set()
        for request in changed:
            if not request.report_ready:
                log.debug("alta: request %s is %s, its report waits", request.hash, request.status)
                continue  # 1 queued / 2 processing: the report there now is the old one
            try:
                report = await self.client.show(request.hash)
            except AltaRequestNotFound:
                await self._confirm_gone(request.hash)
                continue
            except AltaRateLimited:
                break  # the account asked for a report less than a minute ago: next cycle
            new_modified[request.hash] = request.modify_date_raw
            shown.add(request.hash)
            numbers = self.watched[request.hash]
            pairing = pair_rows(report.reports, numbers, request_size=request.vagon_count)
            if pairing.unpaired:
                self._unpaired(request.hash, pairing.unpaired)
            for number in numbers:
                row = pairing.rows.get(number)
                if row is not None and not row.no_data:
                    self.w._diff(number, self._current(number), row, self.result)
        return shown

    async def _carr_list(self, request_hash: str) -> list[str] | None:
        """The numbers of a request; None when it is gone (Alta: no such request) — raises for
        any other error, and AltaRateLimited when this cycle's list budget is spent."""
        if self.lists_left <= 0:
            raise AltaRateLimited("carr_list: this cycle's budget is spent", action="carr_list")
        self.lists_left -= 1
        try:
            return await self.client.carr_list(request_hash)
        except AltaRequestNotFound:
            return None

    async def _confirm_gone(self, request_hash: str) -> None:
        """A request one answer did not show: gone only if carr_list agrees."""
        numbers = self.watched.get(request_hash, {})
        try:
            listed = await self._carr_list(request_hash)
        except AltaRateLimited:
            log.info("alta: request %s unconfirmed, asked again next cycle", request_hash)
            return
        if listed is None:
            for number in numbers:
                self._ended(number)
            return
        log.warning(
            "alta: request %s was missing from track_list but carr_list lists it", request_hash
        )
        for number in sorted(set(numbers) - set(listed)):
            self._ended(number)

    async def _check_removed(self) -> None:
        """One ``carr_list`` for an on-track request that now holds fewer numbers than we
        watch in it: the numbers no longer listed were taken off tracking."""
        for request_hash, numbers in self.watched.items():
            request = self.requests.get(request_hash)
            if request is None or not request.on_track or request.vagon_count is None:
                continue
            active = {n for n in numbers if not self._current(n).get("ended")}
            if request.vagon_count >= len(active):
                continue
            try:
                listed = await self._carr_list(request_hash)
            except AltaRateLimited:
                return
            for number in sorted(active - set(listed or [])):
                self._ended(number)

    def _current(self, number: str) -> Snapshot:
        for numbers in self.watched.values():
            if number in numbers:
                return self.result.snapshots.get(number) or numbers[number]
        return self.result.snapshots.get(number) or {}

    def _ended(self, number: str) -> None:
        self.w._ended(number, self._current(number), self.result)

    def _unpaired(self, request_hash: str, rows: list[Dislocation]) -> None:
        keys = sorted({str(k) for row in rows for k in row.raw})
        log.warning(
            "alta: %s row(s) of request %s name no number we know (fields: %s)",
            len(rows),
            request_hash,
            ", ".join(keys) or "none",
        )
        self.result.alerts.append(
            Alert(
                kind="system.report_unpaired",
                source=SOURCE,
                subject=Subject("integration", SOURCE, "Alta"),
                occurred_at=self.w.clock(),
                dedupe_key=f"alta:unpaired:{request_hash}",
                fields={
                    "request_hash": request_hash,
                    "unpaired_rows": len(rows),
                    "row_fields": ", ".join(keys)[:200] or None,
                },
            )
        )


def _read_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        data: Any = json.loads(cursor)
    except ValueError:
        log.warning("alta: unreadable cursor, starting afresh")
        return {}
    modified = data.get("modified") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in modified.items()} if isinstance(modified, dict) else {}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
