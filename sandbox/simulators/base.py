"""What every vendor simulator shares, whatever the vendor: a small aiohttp server on a free
loopback port, a simulated clock, a log of the calls it got, and faults queued for the next
calls of a function (a gateway error, no answer, a dropped connection, a garbled answer —
before the call reaches the service, or after it has been carried out, when only the answer is
lost) or held until the test releases them.

Each vendor's simulator subclasses :class:`VendorSimulator` and keeps only its vendor's rules:
its URLs, how it reads a call and checks the key, its envelope and error codes, its limits.

Time: ``now = clock() + advanced`` with a ``clock`` given, otherwise
``start + real elapsed × speed + advanced``; :meth:`VendorSimulator.advance` jumps ahead and
runs what is due meanwhile (the subclass's :meth:`VendorSimulator._tick`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Generic, Protocol, TypeVar

from aiohttp import web

from sandbox.loopback import serve

__all__ = ["Fault", "NextCalls", "VendorSimulator", "php_request_pairs"]

T = TypeVar("T")


class Seen(Protocol):
    """One entry of a simulator's request log: whatever the vendor records, and the call's name."""

    @property
    def name(self) -> str: ...


SeenT = TypeVar("SeenT", bound=Seen)


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one call.

    ``kind``: an HTTP status (an int, or its digits), ``"timeout"`` (no answer for
    ``fault_delay`` s), ``"drop"`` (the connection closes without an answer), ``"bad_json"``
    (an answer cut short), ``"html"`` (a gateway's page instead of JSON), or a kind of the
    vendor's own. ``after``: the service carries the call out first and only its answer is
    lost (a create that happened, which the caller cannot know).
    """

    kind: int | str
    after: bool = False


class NextCalls(Generic[T]):
    """Per function name, what its next calls meet (faults, forced errors), in order."""

    def __init__(self, known: Collection[str] = (), what: str = "function") -> None:
        self._known = known
        self._what = what
        self._queues: dict[str, deque[T]] = {}

    def add(self, name: str, item: T, times: int = 1) -> None:
        if self._known and name not in self._known:
            raise ValueError(f"unknown {self._what} {name!r}")
        self._queues.setdefault(name, deque()).extend([item] * times)

    def pop(self, name: str) -> T | None:
        queue = self._queues.get(name)
        return queue.popleft() if queue else None


class VendorSimulator(Generic[SeenT]):
    """An in-process vendor service on loopback with a control API for tests and demos.

    A subclass sets :attr:`CALLS` (the documented functions, by name), :attr:`CALL_KIND`
    (what the vendor calls one) and :attr:`CUT_SHORT` (its answer broken off midway, for the
    ``"bad_json"`` fault); it routes requests on :attr:`app` to a handler that calls
    :meth:`_serve`, and implements :meth:`_tick` and :meth:`_api_url`.
    """

    CALLS: ClassVar[Collection[str]]
    CALL_KIND: ClassVar[str]
    CUT_SHORT: ClassVar[str]

    def __init__(self, *, clock: Callable[[], datetime] | None = None, speed: float = 1.0) -> None:
        self.speed = speed
        self.fault_delay = 5.0  # seconds a "timeout" fault holds the answer back
        self.requests: list[SeenT] = []
        self.base_url: str | None = None
        self.app = web.Application()

        self._clock = clock
        self._started_wall = datetime.now(UTC)
        self._started_mono = time.monotonic()
        self._advanced = timedelta(0)
        self._faults: NextCalls[Fault] = NextCalls(self.CALLS, self.CALL_KIND)
        self._holds: NextCalls[bool] = NextCalls(self.CALLS, self.CALL_KIND)
        self._released = asyncio.Event()
        self.held = asyncio.Event()  # set when a held call has arrived (hold_next)
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, ssl_context: ssl.SSLContext | None = None
    ) -> str:
        """Serve on ``host:port`` (0 = any free port), over TLS with ``ssl_context``; return
        the URL the client is given (:attr:`base_url`)."""
        self._stopping.clear()
        self._runner, origin = await serve(self.app, host, port, ssl_context=ssl_context)
        self.base_url = self._api_url(origin)
        return self.base_url

    async def stop(self) -> None:
        self._stopping.set()
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _api_url(self, origin: str) -> str:
        """The client's base URL on a server at ``origin`` (``http://127.0.0.1:PORT``)."""
        raise NotImplementedError

    # --- simulated time -----------------------------------------------------------------------

    def now(self) -> datetime:
        if self._clock is not None:
            base = self._clock()
            base = base if base.tzinfo else base.replace(tzinfo=UTC)
        else:
            elapsed = (time.monotonic() - self._started_mono) * self.speed
            base = self._started_wall + timedelta(seconds=elapsed)
        return base + self._advanced

    def advance(self, delta: timedelta | float) -> None:
        """Move simulated time forward (a timedelta or seconds); what is due happens."""
        self._advanced += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self._tick(self.now())

    def _tick(self, now: datetime) -> None:
        """Run everything due up to ``now``."""
        raise NotImplementedError

    # --- calls and faults ---------------------------------------------------------------------

    def calls_of(self, name: str) -> int:
        """How many calls of ``name`` came in (faulted ones too)."""
        return sum(1 for seen in self.requests if seen.name == name)

    def fail_next(
        self, name: str, fault: int | str = 500, *, times: int = 1, after: bool = False
    ) -> None:
        """The next ``times`` calls of ``name`` fail below the API (see :class:`Fault`)."""
        self._faults.add(name, Fault(fault, after), times)

    def hold_next(self, name: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``name`` arrive (:attr:`held` is set) and wait, not yet
        carried out, until :meth:`release`; then they are carried out even if the caller has
        gone meanwhile (killed with the call in flight)."""
        self._holds.add(name, True, times)
        self._released.clear()
        self.held.clear()

    def release(self) -> None:
        self._released.set()

    async def _serve(
        self, request: web.Request, seen: SeenT, answer: Callable[[], web.Response]
    ) -> web.StreamResponse:
        """Log the call, then answer it as the service would (``answer``) unless a fault queued
        for it says otherwise."""
        self.requests.append(seen)
        fault = self._faults.pop(seen.name)
        if fault is not None and not fault.after:
            return await self._fail(request, fault.kind)
        if self._holds.pop(seen.name):
            # Carried out in a task of its own: a caller that dies meanwhile does not stop it.
            response = await asyncio.shield(asyncio.ensure_future(self._when_released(answer)))
        else:
            response = answer()
        if fault is not None:
            return await self._fail(request, fault.kind)
        return response

    async def _when_released(self, answer: Callable[[], web.Response]) -> web.Response:
        self.held.set()
        await self._released.wait()
        return answer()

    async def _fail(self, request: web.Request, kind: int | str) -> web.StreamResponse:
        """What the caller gets instead of an answer. A subclass adds kinds of its own."""
        if kind == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.fault_delay)
            return web.Response(status=504, text="Gateway Timeout")
        if kind == "drop":
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp's way to end a handler without an answer
        if kind == "bad_json":
            return web.Response(text=self.CUT_SHORT, content_type="application/json")
        if kind == "html":
            return _page("502 Bad Gateway")
        status = int(kind)
        return _page(str(status), status)


def _page(text: str, status: int = 200) -> web.Response:
    """A web server's or gateway's own HTML page."""
    return web.Response(
        status=status, text=f"<html><body>{text}</body></html>", content_type="text/html"
    )


async def php_request_pairs(request: web.Request) -> list[tuple[str, str]]:
    """The query's parameters, then the POST form's (text fields): PHP's ``$_REQUEST``."""
    pairs = list(request.query.items())
    if request.method == "POST":
        form = await request.post()
        pairs += [(name, value) for name, value in form.items() if isinstance(value, str)]
    return pairs
