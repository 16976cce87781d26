"""Async client for TMWeb common_api 1.0: one method per documented request.

Every call goes through :meth:`TaxiMasterClient._send_once`, where the policies live:

* **URL and method.** ``{base_url}/common_api/1.0/<request>``; reads are ``GET`` with the
  parameters in the query string, ``create_order`` is a ``POST`` with an urlencoded body
  (:data:`~integrations.taximaster.requests.REQUESTS`).
* **Signature.** The parameters are encoded once; the very same string is sent and signed
  (``md5(params + secret)``, :func:`~integrations.taximaster.wire.sign`).
* **Outcome.** HTTP is always 200; ``code`` 0 is success, anything else a typed exception
  (:mod:`integrations.taximaster.errors`).
* **Timeouts** on every request; **retries** (tenacity) for reads only, after network errors,
  timeouts, HTTP errors and answers that are not TMWeb's JSON.
* **create_order is never retried blindly**: see :meth:`TaxiMasterClient.create_order`.
* **Signature lock.** After code 4 the client stops calling: later calls raise
  :class:`TaxiMasterDisabled` without a request until :meth:`reset_auth_lock`.
* **Budget.** ``requests_per_second`` for the dispatch service's server; a call that would wait
  longer than ``max_rate_wait`` raises :class:`TaxiMasterRateLimited`.
* **Secrets.** The secret never travels (only an md5 does) and never appears in an exception
  or a log line; httpx errors are not chained.
* **Metrics.** :attr:`stats` counts calls, errors and retries per request.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import httpx
from aiolimiter import AsyncLimiter
from pydantic import BaseModel, TypeAdapter, ValidationError

from integrations.http import ClientStats, VendorClient
from integrations.taximaster.errors import (
    TaxiMasterAddressesNotFound,
    TaxiMasterCoordsNotFound,
    TaxiMasterDisabled,
    TaxiMasterError,
    TaxiMasterOrderExists,
    TaxiMasterOrderUncertain,
    TaxiMasterRateLimited,
    TaxiMasterSignatureError,
    TaxiMasterUnavailable,
    error_from_response,
)
from integrations.taximaster.models import (
    MOSCOW,
    Address,
    CarInfo,
    CreatedOrder,
    CrewCoords,
    CrewInfo,
    DriverInfo,
    Envelope,
    NamedItem,
    OrderCost,
    OrderState,
    PricedItem,
    RouteAnalysis,
)
from integrations.taximaster.orders import NewOrder, body_key
from integrations.taximaster.requests import READ_REQUESTS, REQUESTS, Method
from integrations.taximaster.tls import build_ssl_context
from integrations.taximaster.wire import WireValue, encode_params, sign

__all__ = ["API_PATH", "NewOrder", "TaxiMasterClient", "TaxiMasterStats"]

logger = logging.getLogger("integrations.taximaster")

API_PATH: Final = "/common_api/1.0"
ORDER_JOURNAL_SIZE: Final = 1000

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass
class TaxiMasterStats(ClientStats):
    """:class:`ClientStats` plus ``resends`` (create_order sent again with the same bytes)."""

    resends: Counter[str] = field(default_factory=Counter)


class TaxiMasterClient(VendorClient):
    """One TMWeb server. Use ``async with`` or call :meth:`aclose`.

    ``tz`` is the dispatch service's zone: TMWeb times (``source_time``, ``coords_time``) are
    its local times. ``user_id`` is sent as ``X-User-Id`` when the server wants one.
    """

    service = "taximaster"
    stats: TaxiMasterStats

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        verify_tls: bool = True,
        ca_file: str | Path | None = None,
        legacy_tls: bool = False,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        create_resends: int = 2,
        requests_per_second: float = 20.0,
        max_rate_wait: float = 10.0,
        user_id: int | None = None,
        tz: ZoneInfo = MOSCOW,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not base_url or not secret:
            raise ValueError("Taxi-Master base URL and secret are required")
        self._base_url = base_url.rstrip("/")
        if self._base_url.endswith(API_PATH):
            self._base_url = self._base_url[: -len(API_PATH)]
        self._secret = secret
        self._timeout = timeout
        self._create_resends = max(0, create_resends)
        self._max_rate_wait = max_rate_wait
        self._rps = requests_per_second
        self._limiter = AsyncLimiter(requests_per_second, 1.0)
        self.tz = tz
        super().__init__(secret=self._secret, retries=retries, backoff=backoff)
        # order key -> order id, for orders this client created (see create_order)
        self._orders: OrderedDict[str, int] = OrderedDict()
        headers = {"User-Agent": "logibot-taximaster/1", "Accept": "application/json"}
        if user_id is not None:
            headers["X-User-Id"] = str(user_id)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=build_ssl_context(verify_tls=verify_tls, ca_file=ca_file, legacy_tls=legacy_tls),
            follow_redirects=False,
            headers=headers,
        )
        self.stats = TaxiMasterStats()

    def __repr__(self) -> str:
        return f"TaxiMasterClient({self._base_url!r}, secret=***)"

    # --- signature lock ---------------------------------------------------------------------

    # --- directories --------------------------------------------------------------------------

    async def ping(self) -> None:
        """Is TMWeb there? (It checks neither the secret nor the version for a ping.)"""
        await self._call("ping", {}, _ignore)

    async def get_crew_groups_list(self) -> list[NamedItem]:
        return await self._call("get_crew_groups_list", {}, _rows("crew_groups", NamedItem))

    async def get_uds_list(self) -> list[NamedItem]:
        return await self._call("get_uds_list", {}, _rows("uds", NamedItem))

    async def get_tariffs_list(self) -> list[NamedItem]:
        return await self._call("get_tariffs_list", {}, _rows("tariffs", NamedItem))

    async def get_services_list(self) -> list[PricedItem]:
        return await self._call("get_services_list", {}, _rows("services", PricedItem))

    async def get_discounts_list(self) -> list[PricedItem]:
        # The table names the list "services", the example "discounts": accept both.
        return await self._call(
            "get_discounts_list", {}, _rows(("discounts", "services"), PricedItem)
        )

    # --- orders -------------------------------------------------------------------------------

    async def create_order(self, order: NewOrder) -> CreatedOrder:
        """Create ``order`` — at most once, whatever the network does.

        The body is encoded once and every send is byte-identical (same signature too):

        1. A key this client already turned into an order id answers from memory, no request
           (a double-tapped confirm).
        2. After a network error, timeout or garbled answer the SAME body is re-sent, up to
           ``create_resends`` times. TMWeb's duplicate check makes that safe: either the first
           send never arrived and this one creates the order, or it did and TMWeb answers 100.
        3. Code 100 returns the existing order (``existing=True``) when its id is known — from
           this client's memory or from ``data.order_id`` if TMWeb sends it — and otherwise
           raises :class:`TaxiMasterOrderExists` (no second order; the id is unknown, since no
           documented request finds an order by its parameters).
        4. Still no answer: :class:`TaxiMasterOrderUncertain`. Calling again with the same
           ``order`` continues safely from 1.
        """
        request = "create_order"
        self.stats.calls[request] += 1
        body = order.body(self.tz)
        key = body_key(body)
        try:
            if key in self._orders:
                logger.info("taximaster create_order: already created as %s", self._orders[key])
                return CreatedOrder(order_id=self._orders[key], existing=True)
            uncertain = False
            for attempt in range(1 + self._create_resends):
                if attempt:
                    self.stats.resends[request] += 1
                    await asyncio.sleep(self._backoff * attempt)
                try:
                    envelope = await self._send_once(request, body)
                except TaxiMasterUnavailable as exc:
                    if not exc.retryable:
                        raise
                    uncertain = True
                    logger.warning(
                        "taximaster create_order: no clear answer (%s); re-sending the same body",
                        exc.detail,
                    )
                    continue
                return self._order_created(envelope, key, after_network_error=uncertain)
            raise TaxiMasterOrderUncertain(
                f"{request}: no answer after {1 + self._create_resends} identical sends",
                request=request,
                order_key=key,
            )
        except TaxiMasterError:
            self.stats.errors[request] += 1
            raise

    def _order_created(
        self, envelope: Envelope, key: str, *, after_network_error: bool
    ) -> CreatedOrder:
        data = envelope.data if isinstance(envelope.data, dict) else {}
        if envelope.code == 0:
            created = CreatedOrder.model_validate({**data, "existing": False})
            self._remember_order(key, created.order_id)
            return created
        error = self._vendor_error("create_order", envelope)
        if isinstance(error, TaxiMasterOrderExists):
            error.order_key = key
            known = self._orders.get(key) or _int_or_none(data.get("order_id"))
            logger.info(
                "taximaster create_order: already exists (after a network error: %s), id %s",
                after_network_error,
                known,
            )
            if known is not None:
                self._remember_order(key, known)
                return CreatedOrder(order_id=known, existing=True)
            error.order_id = None
        raise error

    def _remember_order(self, key: str, order_id: int) -> None:
        self._orders[key] = order_id
        self._orders.move_to_end(key)
        while len(self._orders) > ORDER_JOURNAL_SIZE:
            self._orders.popitem(last=False)

    def remember_order(self, order: NewOrder, order_id: int) -> None:
        """Tell the client an order it did not create in this process (the bot's records after
        a restart), so a repeated confirm answers with the id instead of code 100."""
        self._remember_order(order.key(self.tz), order_id)

    async def calc_order_cost(
        self,
        tariff_id: int,
        *,
        source_time: datetime | None = None,
        is_prior: bool | None = None,
        client_id: int | None = None,
        discount_id: int | None = None,
        disc_card_id: int | None = None,
        source_zone_id: int | None = None,
        dest_zone_id: int | None = None,
        distance_city: float | None = None,
        distance_country: float | None = None,
        source_distance_country: float | None = None,
        is_country: bool | None = None,
        waiting_minutes: int | None = None,
        is_hourly: bool | None = None,
        hourly_minutes: int | None = None,
        is_prize: bool | None = None,
        back_way: bool | None = None,
        services: Iterable[int] | None = None,
    ) -> OrderCost:
        """The price of an order with ``tariff_id`` and its breakdown (``info``)."""
        params: dict[str, WireValue] = {
            "tariff_id": tariff_id,
            "source_time": source_time,
            "is_prior": is_prior,
            "client_id": client_id,
            "discount_id": discount_id,
            "disc_card_id": disc_card_id,
            "source_zone_id": source_zone_id,
            "dest_zone_id": dest_zone_id,
            "distance_city": distance_city,
            "distance_country": distance_country,
            "source_distance_country": source_distance_country,
            "is_country": is_country,
            "waiting_minutes": waiting_minutes,
            "is_hourly": is_hourly,
            "hourly_minutes": hourly_minutes,
            "is_prize": is_prize,
            "back_way": back_way,
            "services": list(services) if services else None,
        }
        return await self._call("calc_order_cost", params, _model(OrderCost))

    async def estimate_cost(
        self,
        source: str,
        dest: str,
        tariff_id: int,
        *,
        source_time: datetime | None = None,
        services: Iterable[int] | None = None,
        discount_id: int | None = None,
    ) -> tuple[RouteAnalysis, OrderCost]:
        """``analyze_route`` then ``calc_order_cost`` with its kilometres and zones (2 calls)."""
        route = await self.analyze_route(source, dest)
        cost = await self.calc_order_cost(
            tariff_id,
            source_time=source_time,
            source_zone_id=route.source_zone_id,
            dest_zone_id=route.dest_zone_id,
            distance_city=round(route.city_dist, 3),
            distance_country=round(route.country_dist, 3),
            source_distance_country=round(route.source_country_dist, 3) or None,
            is_country=route.country_dist > 0,
            services=services,
            discount_id=discount_id,
        )
        return route, cost

    async def get_order_state(self, order_id: int) -> OrderState:
        return await self._call("get_order_state", {"order_id": order_id}, _model(OrderState))

    # --- crews ----------------------------------------------------------------------------------

    async def get_crew_info(self, crew_id: int) -> CrewInfo:
        return await self._call("get_crew_info", {"crew_id": crew_id}, _model(CrewInfo))

    async def get_driver_info(self, driver_id: int, *, need_photo: bool = False) -> DriverInfo:
        params: dict[str, WireValue] = {"driver_id": driver_id, "need_photo": need_photo}
        return await self._call("get_driver_info", params, _model(DriverInfo))

    async def get_car_info(self, car_id: int, *, need_photo: bool = False) -> CarInfo:
        params: dict[str, WireValue] = {"car_id": car_id, "need_photo": need_photo}
        return await self._call("get_car_info", params, _model(CarInfo))

    async def get_crews_coords(self, crew_id: int | None = None) -> list[CrewCoords]:
        """Coordinates of one crew, or of every crew on line. "No coordinates" (100) is an empty
        list for all crews and :class:`TaxiMasterCoordsNotFound` for one crew."""
        try:
            return await self._call(
                "get_crews_coords", {"crew_id": crew_id}, _rows("crews_coords", CrewCoords)
            )
        except TaxiMasterCoordsNotFound:
            if crew_id is None:
                return []
            raise

    # --- addresses ------------------------------------------------------------------------------

    async def get_addresses_like(
        self,
        street: str,
        *,
        get_streets: bool = True,
        get_points: bool = True,
        get_houses: bool = False,
        house: str | None = None,
        max_addresses_count: int | None = None,
    ) -> list[Address]:
        """Streets and points whose name contains ``street``; or, with ``get_houses``, the
        houses of the street named exactly ``street`` starting with ``house``. Nothing found
        (100) is an empty list."""
        if get_houses and (get_streets or get_points):
            raise ValueError("get_houses cannot be combined with get_streets or get_points")
        params: dict[str, WireValue] = {
            "get_streets": get_streets,
            "get_points": get_points,
            "get_houses": get_houses,
            "street": street,
            "house": house if get_houses else None,
            "max_addresses_count": max_addresses_count,
        }
        try:
            return await self._call("get_addresses_like", params, _rows("addresses", Address))
        except TaxiMasterAddressesNotFound:
            return []

    async def find_houses(
        self, street: str, house: str = "", *, max_addresses_count: int | None = None
    ) -> list[Address]:
        """The houses of ``street`` (its full name) whose number starts with ``house``."""
        return await self.get_addresses_like(
            street,
            get_streets=False,
            get_points=False,
            get_houses=True,
            house=house,
            max_addresses_count=max_addresses_count,
        )

    async def analyze_route(self, source: str, dest: str) -> RouteAnalysis:
        """Coordinates, zones and kilometres (city / country) of a trip."""
        return await self._call(
            "analyze_route", {"source": source, "dest": dest}, _model(RouteAnalysis)
        )

    # --- the one place that talks HTTP ----------------------------------------------------------

    async def _call(
        self, request: str, params: Mapping[str, WireValue], parse: Callable[[Any, ZoneInfo], T]
    ) -> T:
        self.stats.calls[request] += 1
        try:
            encoded = encode_params(params, self.tz)
            envelope = await self._send_with_retries(request, encoded)
            if envelope.code != 0:
                raise self._vendor_error(request, envelope)
            try:
                return parse(envelope.data, self.tz)
            except (ValidationError, TypeError, ValueError) as exc:
                count = exc.error_count() if isinstance(exc, ValidationError) else 1
                raise TaxiMasterUnavailable(
                    f"{request}: answer does not match the documented format ({count} errors)",
                    request=request,
                ) from None
        except TaxiMasterError:
            self.stats.errors[request] += 1
            raise

    async def _send_with_retries(self, request: str, encoded: str) -> Envelope:
        return await self._retrying(
            request, lambda: self._send_once(request, encoded), read=request in READ_REQUESTS
        )

    async def _send_once(self, request: str, encoded: str) -> Envelope:
        """One HTTP exchange: ``encoded`` is sent and signed as it is. Returns the envelope
        whatever its ``code``; raises only below the API (and for the signature lock)."""
        if self.auth_locked:
            raise TaxiMasterDisabled(
                f"{request}: not called, the secret was rejected earlier",
                code="AUTH_LOCKED",
                request=request,
            )
        await self._acquire_budget(request)
        response = await self._transport(request, encoded)
        logger.debug("taximaster %s -> HTTP %s", request, response.status_code)
        return self._envelope(request, response)

    async def _transport(self, request: str, encoded: str) -> httpx.Response:
        """httpx errors become :class:`TaxiMasterUnavailable`, raised outside the ``except``
        block on purpose so the httpx exception never rides along as ``__context__``."""
        url = f"{self._base_url}{API_PATH}/{request}"
        headers = {"Signature": sign(encoded, self._secret)}
        try:
            if REQUESTS[request].method is Method.GET:
                return await self._http.get(f"{url}?{encoded}" if encoded else url, headers=headers)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return await self._http.post(url, content=encoded.encode("ascii"), headers=headers)
        except httpx.TimeoutException:
            reason = f"timed out after {self._timeout}s"
        except httpx.HTTPError as exc:
            reason = f"network error {type(exc).__name__}: {self._redact(str(exc))}"
        logger.warning("taximaster %s: %s", request, reason)
        raise TaxiMasterUnavailable(f"{request}: {reason}", request=request, retryable=True)

    def _envelope(self, request: str, response: httpx.Response) -> Envelope:
        status = response.status_code
        if status != 200:  # TMWeb always answers 200; anything else is a proxy or a crash
            logger.warning("taximaster %s: HTTP %s", request, status)
            raise TaxiMasterUnavailable(
                f"{request}: HTTP {status}", code=status, request=request, retryable=True
            )
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or "code" not in payload:
            kind = "not JSON" if payload is None else "not a TMWeb answer"
            logger.warning("taximaster %s: answer is %s", request, kind)
            raise TaxiMasterUnavailable(
                f"{request}: answer is {kind}", request=request, retryable=True
            )
        try:
            return Envelope.model_validate(payload)
        except ValidationError:
            raise TaxiMasterUnavailable(
                f"{request}: answer envelope is malformed", request=request, retryable=True
            ) from None

    def _vendor_error(self, request: str, envelope: Envelope) -> TaxiMasterError:
        error = error_from_response(request, envelope.code, envelope.descr, envelope.data)
        if isinstance(error, TaxiMasterSignatureError):
            self.lock_auth()
            logger.error(
                "taximaster %s: secret rejected (code 4); no further calls until reset_auth_lock()",
                request,
            )
        else:
            logger.info("taximaster %s: code %s %s", request, envelope.code, envelope.descr)
        return error

    def _budget_spent(self, request: str) -> TaxiMasterRateLimited:
        return TaxiMasterRateLimited(
            f"{request}: client-side budget of {self._rps} requests/s spent",
            code="CLIENT_BUDGET",
            request=request,
        )


# --- parsing helpers ------------------------------------------------------------------------------


def _ignore(data: Any, tz: ZoneInfo) -> None:
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        return None


def _model(model: type[M]) -> Callable[[Any, ZoneInfo], M]:
    def parse(data: Any, tz: ZoneInfo) -> M:
        return model.model_validate(data if isinstance(data, dict) else {}, context={"tz": tz})

    return parse


def _rows(names: str | tuple[str, ...], model: type[M]) -> Callable[[Any, ZoneInfo], list[M]]:
    """``data[name]`` as a list of ``model``; ``null``/``{}``/keyed objects included."""
    keys = (names,) if isinstance(names, str) else names
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(data: Any, tz: ZoneInfo) -> list[M]:
        rows: Any = None
        if isinstance(data, dict):
            rows = next((data[key] for key in keys if key in data), None)
        elif isinstance(data, list):
            rows = data
        if rows in (None, "", {}):
            rows = []
        elif isinstance(rows, dict):
            rows = list(rows.values())
        return adapter.validate_python(rows, context={"tz": tz})

    return parse
