"""One Alta poll cycle: which requests changed -> their latest report -> alerts.

Calls per cycle: ONE ``track_list``, then ``show`` only for the watched requests whose
``modify_date`` differs from the one remembered in the cursor (never a call per number), at
most ``show_budget`` of them (oldest change first); the rest stay "changed" and go next cycle,
so nothing is lost. A request whose ``vagon_count`` dropped below the numbers we watch in it
gets one ``carr_list`` (inside the same budget) to learn which numbers were taken off.

What is remembered:

* **cursor** (JSON): ``{"v": 1, "modified": {hash: modify_date as Alta wrote it}}`` — only for
  requests whose report was actually read, so a skipped or failed ``show`` is retried.
* **snapshots**, one per NUMBER (subject id = the wagon/container number), written by the bot
  when a number is put on tracking (see :func:`initial_snapshot`) and updated here:
  ``hash``, ``type``, ``added_at``, ``stop_station``, ``title``, ``tags`` and the last
  dislocation ``station``, ``station_name``, ``operation``, ``operation_at``, ``destination``,
  ``destination_name``, ``distance_left_km``, ``report_at``, plus the flags ``arrived``,
  ``no_data_alerted``, ``ended``. Ended numbers keep their snapshot (the last place) with
  ``ended: true`` and are not watched further.

Alert kinds: ``wagon.moved`` (new station or operation, including the first report),
``wagon.arrived`` (at the destination or the stop station), ``wagon.no_data`` (still nothing
``no_data_after`` after add), ``wagon.tracking_ended`` (cancelled, or taken off after arrival).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from integrations.alta.client import AltaClient
from integrations.alta.errors import (
    AltaDisabled,
    AltaError,
    AltaRateLimited,
    AltaRequestNotFound,
)
from integrations.alta.models import Dislocation, TrackRequest, esr5, parse_alta_date
from integrations.alta.numbers import NumberKind, number_kind
from integrations.base import Alert, FieldValue, Snapshot, SnapshotReader, Subject, WatchResult

log = logging.getLogger("integrations.alta")

SOURCE: Final = "alta"
KINDS: Final = ("wagon.moved", "wagon.arrived", "wagon.no_data", "wagon.tracking_ended")


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
        show_budget: int = 10,
        no_data_after: timedelta = timedelta(hours=6),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.snapshots = snapshots
        self.show_budget = max(1, show_budget)
        self.no_data_after = no_data_after
        self.clock = clock
        self.calls_last_cycle = 0
        self.deferred_last_cycle = 0  # changed requests left for the next cycle

    async def poll(self, cursor: str | None) -> WatchResult:
        calls_before = sum(self.client.stats.calls.values())
        try:
            return await self._cycle(_read_cursor(cursor))
        finally:
            self.calls_last_cycle = sum(self.client.stats.calls.values()) - calls_before

    async def _cycle(self, modified: dict[str, str]) -> WatchResult:
        requests = {r.hash: r for r in await self.client.track_list()}
        stored = await self.snapshots(None)
        watched: dict[str, dict[str, Snapshot]] = defaultdict(dict)
        for number, snapshot in stored.items():
            if not snapshot.get("ended") and snapshot.get("hash"):
                watched[str(snapshot["hash"])][number] = snapshot
        result = WatchResult(cursor=None)
        new_modified = {h: m for h, m in modified.items() if h in requests}
        changed = sorted(
            (
                r
                for h, r in requests.items()
                if h in watched and modified.get(h) != r.modify_date_raw
            ),
            key=lambda r: r.modify_date or datetime.min.replace(tzinfo=UTC),
        )
        budget = self.show_budget
        shown: set[str] = set()
        gone: set[str] = {h for h in watched if h not in requests}
        for request in changed:
            if budget <= 0:
                break
            budget -= 1
            try:
                report = await self.client.show(request.hash)
            except AltaRequestNotFound:
                gone.add(request.hash)
                continue
            except AltaRateLimited:
                continue  # asked less than a minute ago: next cycle
            except AltaDisabled:
                raise
            except AltaError as exc:
                log.warning("alta: show failed (%s); the rest waits for the next cycle", exc)
                break
            new_modified[request.hash] = request.modify_date_raw
            shown.add(request.hash)
            rows = report.by_number()
            for number, snapshot in watched[request.hash].items():
                row = rows.get(number)
                if row is not None and not row.no_data:
                    self._diff(number, snapshot, row, result)
        budget = await self._check_removed(requests, watched, result, budget)
        for request_hash in gone | {h for h, r in requests.items() if not r.on_track}:
            for number, snapshot in watched.get(request_hash, {}).items():
                self._ended(number, result.snapshots.get(number) or snapshot, result)
        # A request whose new report was not read this cycle is not judged "no data" yet.
        unread = {r.hash for r in changed} - shown
        self._no_data({h: n for h, n in watched.items() if h not in unread}, result)
        self.deferred_last_cycle = len(unread)
        result.cursor = json.dumps({"v": 1, "modified": new_modified}, sort_keys=True)
        return result

    async def _check_removed(
        self,
        requests: dict[str, TrackRequest],
        watched: dict[str, dict[str, Snapshot]],
        result: WatchResult,
        budget: int,
    ) -> int:
        """One ``carr_list`` for an on-track request that now holds fewer numbers than we
        watch in it: the numbers no longer listed were taken off tracking."""
        for request_hash, numbers in watched.items():
            request = requests.get(request_hash)
            if request is None or not request.on_track or request.vagon_count is None:
                continue
            active = {n for n in numbers if not (result.snapshots.get(n) or {}).get("ended")}
            if request.vagon_count >= len(active) or budget <= 0:
                continue
            budget -= 1
            try:
                listed = set(await self.client.carr_list(request_hash))
            except AltaDisabled:
                raise
            except AltaError as exc:
                log.warning("alta: carr_list failed (%s)", exc)
                continue
            for number in sorted(active - listed):
                self._ended(number, result.snapshots.get(number) or numbers[number], result)
        return budget

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
        stop = old.get("stop_station")
        arrived = row.arrived_at_destination or bool(stop and esr5(row.station) == esr5(stop))
        moved = old.get("station") != row.station or old.get("operation") != row.operation
        result.snapshots[number] = new
        if arrived and not old.get("arrived"):
            new["arrived"] = True
            kind = "wagon.arrived"
            dedupe = f"alta:{number}:arrived:{esr5(row.station)}"
        elif moved:
            kind = "wagon.moved"
            dedupe = f"alta:{number}:moved:{row.station}:{row.operation}:{_iso(row.operation_at)}"
        else:
            return
        fields: dict[str, FieldValue] = {
            "station_name": row.station_name or None,
            "station_code": row.station,
            "operation": row.operation or None,
            "operation_at": _iso(row.operation_at),
            "destination_name": new["destination_name"] or None,
            "destination_code": new["destination"] or None,
            "distance_left_km": row.distance_left_km,
            "previous_station_name": old.get("station_name") or None,
            "report_at": _iso(row.report_at),
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
