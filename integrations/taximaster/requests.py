"""The 15 documented TMWeb common_api 1.0 requests (and one newer one): method and parameters.

One table serves the client (which method to use, what a parameter looks like on the wire) and
the simulator (what to check). Types follow the document with its errata fixed (see
the vendor documents' errata): ``get_addresses_like`` takes ``get_streets``,
``get_points`` and ``get_houses``; ``analyze_route`` answers ``source_lon`` as a float.

``get_current_orders`` is not in the document: newer TMWeb versions have it (public clients
that talk to real servers use it). It is ``documented=False``: the client treats it as optional
(a server that answers "unknown request" does not have it) and the simulator serves it only
when asked to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Method(StrEnum):
    GET = "GET"  # reads: parameters in the query string
    POST = "POST"  # writes: parameters in an x-www-form-urlencoded body


class ParamType(StrEnum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"  # "true" / "false"
    STRING = "string"
    TIME = "time"  # ГГГГММДДччммсс in the dispatch service's local time
    PHONE = "phone"  # a string of at most 16 characters
    ID_LIST = "id_list"  # "1;2;3"


@dataclass(frozen=True)
class RequestSpec:
    name: str
    method: Method
    required: dict[str, ParamType] = field(default_factory=dict)
    optional: dict[str, ParamType] = field(default_factory=dict)
    # ping is answered whatever the method, key and version (the document says so)
    unchecked: bool = False
    documented: bool = True  # False: a newer request some servers do not have

    @property
    def params(self) -> dict[str, ParamType]:
        return {**self.required, **self.optional}


_I, _F, _B = ParamType.INT, ParamType.FLOAT, ParamType.BOOL
_S, _T = ParamType.STRING, ParamType.TIME

_SPECS = (
    RequestSpec("ping", Method.GET, unchecked=True),
    RequestSpec("get_crew_groups_list", Method.GET),
    RequestSpec("get_uds_list", Method.GET),
    RequestSpec("get_tariffs_list", Method.GET),
    RequestSpec("get_services_list", Method.GET),
    RequestSpec("get_discounts_list", Method.GET),
    RequestSpec(
        "create_order",
        Method.POST,
        required={"phone": ParamType.PHONE, "source": _S, "source_time": _T},
        optional={"dest": _S, "customer": _S, "comment": _S, "crew_group_id": _I, "uds_id": _I},
    ),
    RequestSpec(
        "calc_order_cost",
        Method.GET,
        required={"tariff_id": _I},
        optional={
            "source_time": _T,
            "is_prior": _B,
            "client_id": _I,
            "discount_id": _I,
            "disc_card_id": _I,
            "source_zone_id": _I,
            "dest_zone_id": _I,
            "distance_city": _F,
            "distance_country": _F,
            "source_distance_country": _F,
            "is_country": _B,
            "waiting_minutes": _I,
            "is_hourly": _B,
            "hourly_minutes": _I,
            "is_prize": _B,
            "back_way": _B,
            "services": ParamType.ID_LIST,
        },
    ),
    RequestSpec("get_crew_info", Method.GET, required={"crew_id": _I}),
    RequestSpec(
        "get_driver_info", Method.GET, required={"driver_id": _I}, optional={"need_photo": _B}
    ),
    RequestSpec("get_car_info", Method.GET, required={"car_id": _I}, optional={"need_photo": _B}),
    RequestSpec("get_crews_coords", Method.GET, optional={"crew_id": _I}),
    RequestSpec(
        "get_addresses_like",
        Method.GET,
        required={"get_streets": _B, "get_points": _B, "get_houses": _B, "street": _S},
        optional={"house": _S, "max_addresses_count": _I},
    ),
    RequestSpec("analyze_route", Method.GET, required={"source": _S, "dest": _S}),
    RequestSpec("get_order_state", Method.GET, required={"order_id": _I}),
    RequestSpec(
        "get_current_orders",
        Method.GET,
        optional={
            "client_id": _I,
            "client_employee_id": _I,
            "phone": _S,
            "crew_id": _I,
            "driver_id": _I,
        },
        documented=False,
    ),
)

REQUESTS: Final = MappingProxyType({spec.name: spec for spec in _SPECS})
READ_REQUESTS: Final = frozenset(
    name for name, spec in REQUESTS.items() if spec.method is Method.GET
)
