"""Alta ``add`` exactly once, whatever the network does.

``add`` costs money (a trip at once, daily tracking every day) and cannot be undone by sending
it again, so:

1. Every attempt is recorded in SQLite BEFORE it is sent (storage/alta.py), under a marker of
   ours — ``lb:<10 hex>`` — that goes to Alta at the head of the request's ``comment``, beside
   a readable part (the first numbers). The document's own example shows that ``add``'s
   comment comes back as the request's ``name`` in ``track_list`` (its ``comment`` is null
   there): the marker is looked for in both, and in any other text field.
2. A lost answer (timeout, dropped connection, 5xx, garbage) is *unknown*, not a failure: the
   bot looks for its marker in ONE ``track_list`` before it tells anything. Found: the request
   exists, it is watched and the chat hears "on tracking". When a service keeps no comment at
   all, a request on tracking that holds exactly the numbers sent (``carr_list``, a few calls)
   is taken instead.
3. Not found: the chat is told exactly that (nothing is said to have failed), nothing is sent
   again by itself; the person may ask to check again and send (the check comes first, and a
   second send goes under the same marker).
4. Unresolved attempts — a restart mid-add included — are looked for in the background
   (:meth:`AltaAdds.resolve_pending`) for a day: a request that appears late is watched and
   the chat is told, so nothing stays billed but unwatched.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from bot.history.recorder import ActionRecorder
from handlers.alta.lookup import SOURCE, AltaLookup, number_subject
from integrations.alta.client import AltaClient
from integrations.alta.errors import AltaError, AltaUnavailable
from integrations.alta.models import TrackRequest
from integrations.alta.numbers import NumberKind, number_kind
from integrations.alta.watcher import initial_snapshot
from storage import Repos
from storage.alta import AddAttempt
from storage.db import utcnow

log = logging.getLogger("handlers.alta")

MARKER: Final = re.compile(r"lb:([0-9a-f]{10})")
# How long an unresolved attempt is looked for, and how old a "sending" one must be before the
# background looks for it (a live add may still be waiting for its answer).
LOOK_FOR: Final = timedelta(days=1)
SETTLED_AFTER: Final = timedelta(minutes=2)
MATCH_CALLS: Final = 5  # carr_list calls spent looking for the numbers when no marker is kept
COMMENT_NUMBERS: Final = 2


def new_token() -> str:
    return secrets.token_hex(5)


def marked_comment(token: str, numbers: list[str]) -> str:
    """``lb:3f9a0c12de · 52345675, 52345683 +3``: our marker first (a service that cuts long
    comments keeps it), then what a person reading Alta's cabinet recognises."""
    shown = ", ".join(numbers[:COMMENT_NUMBERS])
    more = f" +{len(numbers) - COMMENT_NUMBERS}" if len(numbers) > COMMENT_NUMBERS else ""
    return f"lb:{token} · {shown}{more}"


def without_marker(text: str) -> str:
    """A request's name as people should read it (``/wagons``): our marker left out."""
    return MARKER.sub("", text).strip(" ·") or text


def carries(request: TrackRequest, token: str) -> bool:
    texts = [request.name, request.comment]
    texts += [str(v) for v in (request.model_extra or {}).values() if isinstance(v, str)]
    return any(f"lb:{token}" in text for text in texts)


@dataclass
class Outcome:
    """``added`` (with the request hashes; ``recovered`` when found after a lost answer),
    ``refused`` (Alta answered an error: nothing was created), ``unknown`` (no answer and not
    found; ``check_failed`` when even the look could not be made)."""

    state: str
    hashes: dict[str, str] = field(default_factory=dict)
    recovered: bool = False
    check_failed: bool = False
    error: AltaError | None = None


def numbers_of(payload: dict[str, Any]) -> list[str]:
    raw = payload.get("send")
    return [str(n) for n in raw] if isinstance(raw, list) else []


class AltaAdds:
    def __init__(self, client: AltaClient, lookup: AltaLookup, repos: Repos) -> None:
        self.client = client
        self.lookup = lookup
        self.repos = repos
        self._lock = asyncio.Lock()  # one resolution of an attempt at a time
        self._in_flight: set[str] = set()

    async def start(
        self, *, chat_id: int, thread_id: int, user_id: int, payload: dict[str, Any]
    ) -> AddAttempt:
        """A new attempt under a new marker, recorded (``sending``) before anything is sent."""
        token = new_token()
        await self.repos.alta_adds.sending(
            token, chat_id=chat_id, thread_id=thread_id, user_id=user_id, payload=payload
        )
        attempt = await self.repos.alta_adds.get(token)
        assert attempt is not None
        return attempt

    async def place(self, attempt: AddAttempt) -> Outcome:
        """Record the attempt as being sent, send it once, and settle what happened."""
        payload = attempt.payload
        numbers = numbers_of(payload)
        await self.repos.alta_adds.sending(
            attempt.token,
            chat_id=attempt.chat_id,
            thread_id=attempt.thread_id,
            user_id=attempt.user_id,
            payload=payload,
        )
        self._in_flight.add(attempt.token)
        try:
            result = await self.client.add(
                numbers,
                region=str(payload.get("region") or "ru"),
                mode=str(payload.get("mode") or "daily"),
                times=[str(t) for t in payload.get("times") or []],
                days=[int(str(d)) for d in payload.get("days") or []],
                stop_station=str(payload.get("stop") or "yes"),
                comment=marked_comment(attempt.token, numbers),
            )
        except AltaUnavailable as exc:
            log.warning("alta add %s: no answer (%s); looking for it", attempt.token, exc)
            return await self.resolve(attempt.token)
        except AltaError as exc:
            if type(exc) is AltaError:
                # An error Alta's words do not explain may come after the request was saved:
                # look before calling it refused.
                log.warning("alta add %s: unexplained error (%s); looking", attempt.token, exc)
                outcome = await self.resolve(attempt.token)
                if outcome.state != "unknown" or outcome.check_failed:
                    return outcome
            log.warning("alta add %s refused: %s", attempt.token, exc)
            await self.repos.alta_adds.set_state(attempt.token, "refused")
            return Outcome("refused", error=exc)
        finally:
            self._in_flight.discard(attempt.token)
        hashes = {k: v for k, v in (("hash", result.hash), ("cont_hash", result.cont_hash)) if v}
        async with self._lock:
            await self.repos.alta_adds.set_state(attempt.token, "added", hashes=hashes)
            await self.adopt(attempt, hashes)
        return Outcome("added", hashes)

    async def resolve(self, token: str) -> Outcome:
        """Look for the attempt's request in track_list (its marker, else its numbers)."""
        async with self._lock:
            attempt = await self.repos.alta_adds.get(token)
            if attempt is None:
                raise KeyError(token)
            if attempt.state == "added":  # found meanwhile (the background, another press)
                return Outcome("added", attempt.hashes, recovered=True)
            try:
                hashes = await self._find(attempt)
            except AltaError as exc:
                log.warning("alta add %s: could not look for it: %s", token, exc)
                await self._unresolved(attempt)
                return Outcome("unknown", check_failed=True, error=exc)
            if not hashes:
                log.info("alta add %s: not on Alta's list", token)
                await self._unresolved(attempt)
                return Outcome("unknown")
            log.info("alta add %s: found on Alta's list as %s", token, hashes)
            await self.repos.alta_adds.set_state(token, "added", hashes=hashes)
            await self.adopt(attempt, hashes)
            return Outcome("added", hashes, recovered=True)

    async def _unresolved(self, attempt: AddAttempt) -> None:
        if attempt.state == "sending":
            await self.repos.alta_adds.set_state(attempt.token, "unknown")

    async def _find(self, attempt: AddAttempt) -> dict[str, str]:
        requests = await self.client.track_list()
        found = [r for r in requests if carries(r, attempt.token)]
        if not found:
            found = await self._same_numbers(requests, numbers_of(attempt.payload))
        hashes: dict[str, str] = {}
        for request in found:
            listed = await self.lookup.numbers(request)
            kind = number_kind(listed[0]) if listed else None
            hashes["cont_hash" if kind is NumberKind.CONTAINER else "hash"] = request.hash
        return hashes

    async def _same_numbers(
        self, requests: list[TrackRequest], numbers: list[str]
    ) -> list[TrackRequest]:
        """For a service that keeps no comment: requests on tracking, not carrying any marker,
        whose numbers are exactly the wagons or the containers sent."""
        wagons = {n for n in numbers if number_kind(n) is NumberKind.WAGON}
        containers = set(numbers) - wagons
        groups = [group for group in (wagons, containers) if group]
        candidates = sorted(
            (
                r
                for r in requests
                if r.on_track
                and r.vagon_count in {len(g) for g in groups}
                and not MARKER.search(f"{r.name} {r.comment}")
            ),
            key=lambda r: r.modify_date_raw,
            reverse=True,
        )
        found = []
        for request in candidates[:MATCH_CALLS]:
            if set(await self.lookup.numbers(request)) in groups:
                found.append(request)
        return found

    async def adopt(self, attempt: AddAttempt, hashes: dict[str, str]) -> list[str]:
        """Watch what the attempt put on tracking: a snapshot per number (the watcher follows
        it) and this chat's subscription to it; the chat owns those numbers now (the latest
        add of a number owns it: bot/ownership.py). Returns the numbers placed."""
        numbers = numbers_of(attempt.payload)
        by_kind = {
            "hash": [n for n in numbers if number_kind(n) is not NumberKind.CONTAINER],
            "cont_hash": [n for n in numbers if number_kind(n) is NumberKind.CONTAINER],
        }
        stop = str(attempt.payload.get("stop") or "yes")
        placed: list[str] = []
        for key, request_hash in hashes.items():
            group = by_kind.get(key) or []
            self.lookup.learn(request_hash, group)
            for number in group:
                await self.repos.item_owners.record(
                    number_subject(number),
                    chat_id=attempt.chat_id,
                    thread_id=attempt.thread_id,
                    user_id=attempt.user_id,
                )
            await self.watch(
                attempt.chat_id,
                attempt.thread_id,
                attempt.user_id,
                {n: request_hash for n in group},
                stop=stop,
            )
            await ActionRecorder(self.repos).wagons_tracked(
                attempt.chat_id,
                attempt.thread_id,
                [number_subject(n) for n in group],
                request_hash,
                on=True,
            )
            placed += group
        await self.repos.audit.record(
            attempt.user_id,
            "alta.add",
            ",".join(hashes.values()),
            numbers=len(placed),
            region=str(attempt.payload.get("region")),
            mode=str(attempt.payload.get("mode")),
            marker=attempt.token,
        )
        return placed

    async def watch(
        self, chat_id: int, thread_id: int, user_id: int, numbers: dict[str, str], *, stop: str
    ) -> None:
        """The chat watches ``numbers`` (number -> request hash); a number whose snapshot
        already follows that request keeps it (and its last place)."""
        stored = await self.repos.snapshots.get(SOURCE, numbers)
        now = utcnow()
        for number, request_hash in numbers.items():
            snapshot = stored.get(number)
            if not snapshot or snapshot.get("hash") != request_hash or snapshot.get("ended"):
                snapshot = initial_snapshot(number, request_hash, now, stop_station=stop)
                await self.repos.snapshots.put(SOURCE, number, snapshot)
            await self.repos.subscriptions.add(
                chat_id, thread_id, "all", f"{snapshot['type']}:{number}", by=user_id
            )

    async def resolve_pending(self) -> list[tuple[AddAttempt, Outcome]]:
        """Look once for every unresolved attempt (a restart mid-add, a lost answer nobody
        checked again); the ones found are watched. Returns what was found and what a restart
        left unanswered, for the chats to hear."""
        await self.repos.alta_adds.expire(older_than=LOOK_FOR)
        settled = utcnow() - SETTLED_AFTER
        told: list[tuple[AddAttempt, Outcome]] = []
        for attempt in await self.repos.alta_adds.unresolved(younger_than=LOOK_FOR):
            if attempt.token in self._in_flight or attempt.updated_at > settled:
                continue
            outcome = await self.resolve(attempt.token)
            if outcome.check_failed:
                break  # Alta is not answering: the next round tries them all again
            if outcome.state == "added" or attempt.state == "sending":
                told.append((attempt, outcome))
        return told


def send_list(payload: dict[str, Any], numbers: Iterable[str]) -> dict[str, Any]:
    return {**payload, "send": list(numbers)}
