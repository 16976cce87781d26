"""Finding a number's request and its latest report without wasting Alta's calls.

Alta has no "where is number N" call: a number's request (its ``hash``) is known from the bot's
own snapshot (numbers the bot put on tracking), or learnt from ``carr_list`` of the requests
``track_list`` names, and remembered here (in memory: it is learnt again after a restart).

``show`` may be asked once a minute per request; the client refuses sooner. The last report the
bot read itself is kept, so a second /wagon within the minute answers from it, and when neither
is at hand the card falls back to the watcher's snapshot (the last report it stored).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Final

from integrations.alta.client import AltaClient
from integrations.alta.errors import AltaError, AltaRateLimited, AltaRequestNotFound
from integrations.alta.models import ShowResult, TrackRequest
from integrations.alta.numbers import NumberKind, number_kind
from storage import Repos

log = logging.getLogger("handlers.alta")

SOURCE: Final = "alta"


def number_subject(number: str) -> str:
    """``wagon:54676515`` or ``container:TGHU1234567``: a number's alert subject, which names
    its owner and watchers too (bot/ownership.py)."""
    return f"{number_kind(number) or NumberKind.WAGON}:{number}"


# carr_list calls one lookup may spend on requests it does not know yet.
MAX_LEARN_CALLS: Final = 20


@dataclass(frozen=True)
class Tracked:
    """A number already on tracking: its request and, when the bot put it there, since when."""

    request_hash: str
    since: str | None = None  # ISO time of the add, if the bot knows it


@dataclass
class OnTracking:
    """What one check found: numbers already on tracking; ``unchecked`` requests on tracking
    whose numbers could not be listed this time; ``failed`` when track_list itself failed."""

    found: dict[str, Tracked] = field(default_factory=dict)
    unchecked: int = 0
    failed: bool = False


class AltaLookup:
    def __init__(self, client: AltaClient, repos: Repos) -> None:
        self.client = client
        self.repos = repos
        self.hash_of: dict[str, str] = {}  # number -> request hash
        self.numbers_of: dict[str, list[str]] = {}  # request hash -> numbers (as last listed)
        self.reports: dict[str, ShowResult] = {}  # request hash -> the last show the bot read

    def learn(self, request_hash: str, numbers: list[str]) -> None:
        self.numbers_of[request_hash] = list(numbers)
        for number in numbers:
            self.hash_of[number] = request_hash

    async def snapshot(self, number: str) -> dict[str, Any] | None:
        return (await self.repos.snapshots.get(SOURCE, [number])).get(number)

    async def numbers(self, request: TrackRequest) -> list[str]:
        """The numbers of a request: remembered when the count still matches, else carr_list."""
        known = self.numbers_of.get(request.hash)
        if known is not None and request.vagon_count == len(known):
            return known
        numbers = await self.client.carr_list(request.hash)
        self.learn(request.hash, numbers)
        return numbers

    async def on_tracking(self, numbers: Collection[str]) -> OnTracking:
        """Which of ``numbers`` are on tracking already, by this bot or anyone on the account:
        ONE track_list for the requests on tracking, then what the bot knows of their numbers
        (its snapshots, what it learnt), carr_list only for requests it has not listed yet
        (newest first, at most MAX_LEARN_CALLS). Never raises: a failed check says so."""
        wanted = set(numbers)
        check = OnTracking()
        try:
            live = {r.hash: r for r in await self.client.track_list() if r.on_track}
            stored = await self.repos.snapshots.get(SOURCE, wanted)
            for number, snapshot in stored.items():
                request_hash = str(snapshot.get("hash") or "")
                if request_hash in live and not snapshot.get("ended"):
                    check.found[number] = Tracked(request_hash, snapshot.get("added_at"))
            unknown = sorted(
                (r for r in live.values() if r.hash not in self.numbers_of),
                key=lambda r: r.modify_date_raw,
                reverse=True,
            )
            check.unchecked = max(0, len(unknown) - MAX_LEARN_CALLS)
            for index, request in enumerate(unknown[:MAX_LEARN_CALLS]):
                try:
                    await self.numbers(request)
                except AltaRequestNotFound:
                    continue  # taken off since track_list
                except AltaRateLimited:
                    check.unchecked += min(len(unknown), MAX_LEARN_CALLS) - index
                    break
        except AltaError as exc:
            log.warning("alta: could not check what is on tracking: %s", exc)
            check.failed = True
            return check
        for request_hash, listed in self.numbers_of.items():
            if request_hash in live:
                for number in wanted.intersection(listed):
                    check.found.setdefault(number, Tracked(request_hash))
        return check

    async def find_hash(self, number: str) -> str | None:
        """The request ``number`` is in: the bot's snapshot, what it learnt, or carr_list of the
        requests on tracking it has not listed yet (at most MAX_LEARN_CALLS of them)."""
        snapshot = await self.snapshot(number)
        if snapshot and snapshot.get("hash") and not snapshot.get("ended"):
            return str(snapshot["hash"])
        if number in self.hash_of:
            return self.hash_of[number]
        requests = await self.client.track_list()
        unknown = [r for r in requests if r.on_track and r.hash not in self.numbers_of]
        unknown.sort(key=lambda r: r.modify_date_raw, reverse=True)
        for request in unknown[:MAX_LEARN_CALLS]:
            if number in await self.numbers(request):
                return request.hash
        if snapshot and snapshot.get("hash"):
            return str(snapshot["hash"])  # taken off tracking: its last place is still known
        return None

    async def report(self, request_hash: str) -> ShowResult | None:
        """The latest report of a request, or None when Alta may not be asked yet and the bot
        has no copy of its own (the caller then shows the watcher's snapshot)."""
        try:
            result = await self.client.show(request_hash)
        except AltaRateLimited:
            return self.reports.get(request_hash)
        self.reports[request_hash] = result
        numbers = [r.number for r in result.reports if r.number]
        if numbers:
            for number in numbers:
                self.hash_of.setdefault(number, request_hash)
        return result
