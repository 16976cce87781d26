"""Answers as real TMWeb servers send them, beyond the document (``wire="public"``).

The field types and extra fields come from a public client that talks to real servers
(ros-tel/taximaster, Go): ids are numbers and ``0`` means "none yet" (no crew, driver or car
before a crew is assigned), tariffs carry ``is_active``, a driver's phones come as a
``phones`` list (``mobile_phone`` being "устаревшее поле"), ``get_order_state`` adds the
order's phone, addresses and times, coordinates add speed and direction. The bot must keep to
the document and tolerate all of this.

``get_current_orders`` (not in the document at all) is answered in this shape only: its rows
are :meth:`World.order_row`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.simulators.taximaster.world import World

Data = dict[str, Any]


def _order_state(data: Data, world: World, now: datetime) -> Data:
    order = world.book.orders[int(data["order_id"])]
    row = world.order_row(order, now)
    row.pop("id")
    return {**row, **{k: v if v is not None else 0 for k, v in data.items()}}


def _tariffs(data: Data, world: World, now: datetime) -> Data:
    return {
        "tariffs": [
            {**tariff, "is_active": tariff["id"] not in world.inactive_tariffs}
            for tariff in data["tariffs"]
        ]
    }


def _car(data: Data, world: World, now: datetime) -> Data:
    return {
        **data,
        "is_locked": False,
        "fuel_level": 0,
        "uds_id": 0,
        "car_class": "B",
        "vin": "",
        "comment": "",
        "order_params": [],
        "attribute_values": [],
    }


def _driver(data: Data, world: World, now: datetime) -> Data:
    phone = data.get("mobile_phone", "")
    return {
        **data,
        "mobile_phone": "",  # "устаревшее поле": the phone is in ``phones``
        "phones": [{"phone": phone, "is_default": True, "use_for_call": True}] if phone else [],
        "balance": 0,
        "number": str(data["driver_id"]),
        "driver_license": data.get("license", ""),
        "time_block": None,
        "self_employed": False,
        "uds_id": 0,
        "accounts": [],
        "attribute_values": [],
    }


def _crew(data: Data, world: World, now: datetime) -> Data:
    return {
        **{k: v if v is not None else 0 for k, v in data.items()},
        "crew_state_id": 1,
        "online": True,
        "common_priority": 0,
        "order_params": [],
        "attribute_values": [],
    }


def _coords(data: Data, world: World, now: datetime) -> Data:
    return {
        "crews_coords": [
            {**row, "speed": 0, "direction": -1} for row in data.get("crews_coords", [])
        ]
    }


RESHAPE: Mapping[str, Callable[[Data, World, datetime], Data]] = {
    "get_tariffs_list": _tariffs,
    "get_order_state": _order_state,
    "get_car_info": _car,
    "get_driver_info": _driver,
    "get_crew_info": _crew,
    "get_crews_coords": _coords,
}


def reshape(request: str, data: Data, world: World, now: datetime) -> Data:
    """``data`` of a successful answer as a real server sends it."""
    change = RESHAPE.get(request)
    return change(data, world, now) if change is not None else data
