"""Taxi-Master wire format, TLS settings and tolerant models (no network)."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.taximaster.parsing import parse_order_id
from integrations.taximaster.errors import error_from_response, param_from_data
from integrations.taximaster.models import (
    CarInfo,
    CrewCoords,
    DriverInfo,
    Envelope,
    OrderState,
    PricedItem,
    RouteAnalysis,
)
from integrations.taximaster.orders import NewOrder
from integrations.taximaster.tls import LEGACY_CIPHERS, build_ssl_context
from integrations.taximaster.wire import encode_params, format_value, parse_time, sign

DATA = Path(__file__).parents[1] / "data" / "taximaster"
MOSCOW = ZoneInfo("Europe/Moscow")
YEKATERINBURG = ZoneInfo("Asia/Yekaterinburg")


def sample(name: str) -> Any:
    return Envelope.model_validate(json.loads((DATA / name).read_text())).data


def test_the_documents_signature_vector() -> None:
    vector = json.loads((DATA / "signature_vector.json").read_text())
    params = encode_params({"tariff_id": 1, "distance_city": 10.0}, MOSCOW)
    assert params == vector["params"]
    assert sign(params, vector["secret"]) == vector["signature"]


def test_values_on_the_wire() -> None:
    moment = datetime(2012, 5, 1, 6, 0, tzinfo=UTC)
    assert format_value(moment, MOSCOW) == "20120501100000"
    assert format_value(moment, YEKATERINBURG) == "20120501120000"  # UTC+6 in 2012
    assert format_value(True, MOSCOW) == "true" and format_value(False, MOSCOW) == "false"
    assert format_value(10.0, MOSCOW) == "10" and format_value(1.25, MOSCOW) == "1.25"
    assert format_value([1, 2, 3], MOSCOW) == "1;2;3"
    assert encode_params({"a": None, "b": "x y&z", "c": 0}, MOSCOW) == "b=x+y%26z&c=0"
    with pytest.raises(ValueError):
        format_value(datetime(2012, 5, 1), MOSCOW)  # naive


def test_times_are_read_in_the_dispatch_zone() -> None:
    assert parse_time("20120101101010", MOSCOW) == datetime(
        2012, 1, 1, 6, 10, 10, tzinfo=UTC
    )  # MSK was UTC+4
    assert parse_time("2012-01-01", MOSCOW) is None and parse_time("20121301000000", MOSCOW) is None


def test_an_order_body_is_stable_and_keyed() -> None:
    order = NewOrder(
        "89123456789",
        "SOURCE",
        datetime(2012, 5, 1, 6, tzinfo=UTC),
        dest="DEST",
        customer="CUSTOMER",
        comment="COMMENT",
        crew_group_id=1,
        uds_id=1,
    )
    body = order.body(MOSCOW)
    assert body == (
        "phone=89123456789&source=SOURCE&source_time=20120501100000&dest=DEST"
        "&customer=CUSTOMER&comment=COMMENT&crew_group_id=1&uds_id=1"
    )  # the document's example body, byte for byte
    assert order.key(MOSCOW) == NewOrder(**order.__dict__).key(MOSCOW)
    assert order.key(MOSCOW) != order.key(YEKATERINBURG)
    with pytest.raises(ValueError):
        NewOrder("8" * 17, "SOURCE", order.source_time)
    with pytest.raises(ValueError):
        NewOrder("89123456789", "SOURCE", datetime(2012, 5, 1))


# --- TLS ------------------------------------------------------------------------------------------


def test_default_tls_verifies() -> None:
    context = build_ssl_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.cert_store_stats()["x509_ca"] > 50  # the public CAs


def test_verify_off_accepts_any_certificate() -> None:
    context = build_ssl_context(verify_tls=False)
    assert context.verify_mode is ssl.CERT_NONE and not context.check_hostname


def test_ca_file_trusts_exactly_that_ca() -> None:
    context = build_ssl_context(ca_file=DATA / "tmweb-test.crt")
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    [ca] = context.get_ca_certs()
    assert "127.0.0.1" in str(ca["subject"])
    with pytest.raises(ValueError):
        build_ssl_context(verify_tls=False, ca_file=DATA / "tmweb-test.crt")


def test_legacy_tls_lowers_the_security_level_only() -> None:
    context = build_ssl_context(legacy_tls=True)
    assert context.minimum_version is ssl.TLSVersion.MINIMUM_SUPPORTED
    assert context.options & 0x4  # SSL_OP_LEGACY_SERVER_CONNECT
    strict = build_ssl_context()
    assert len(context.get_ciphers()) >= len(strict.get_ciphers())
    assert context.verify_mode is ssl.CERT_REQUIRED  # still verifies unless told not to
    assert LEGACY_CIPHERS.endswith("@SECLEVEL=0")
    assert not strict.options & 0x4


# --- tolerant models ------------------------------------------------------------------------------


def test_document_samples_parse() -> None:
    crews = [
        CrewCoords.model_validate(row, context={"tz": MOSCOW})
        for row in sample("get_crews_coords.json")["crews_coords"]
    ]
    assert crews[0].lat == 11.111111 and crews[0].lon == 22.222222
    assert crews[0].coords_time == datetime(2012, 1, 1, 6, 10, 10, tzinfo=UTC)  # MSK was UTC+4
    car = CarInfo.model_validate(sample("get_car_info.json"))
    assert car.production_year == 2000 and car.model == "MODEL" and car.gos_number == "a123bc"
    driver = DriverInfo.model_validate(sample("get_driver_info.json"))
    assert driver.birthday is not None and driver.birthday.year == 1980
    state = OrderState.model_validate(sample("get_order_state.json"))
    assert (state.state_kind, state.crew_id, state.car_id) == ("car_at_place", 1, 3)
    route = RouteAnalysis.model_validate(sample("analyze_route.json"))
    assert route.source_lon == 22.222222 and route.source_country_dist == 3.3
    discounts = sample("get_discounts_list.json")["discounts"]
    assert PricedItem.model_validate(discounts[1]).percent == 10


def test_habits_are_tolerated() -> None:
    car = CarInfo.model_validate({"car_id": "7", "code": 123, "production_year": True})
    assert car.car_id == 7 and car.code == "123" and car.production_year is None
    state = OrderState.model_validate({"order_id": "1", "state_id": "", "crew_id": 0, "extra": 1})
    assert state.state_id is None and state.crew_id is None
    route = RouteAnalysis.model_validate({"city_dist": "1,5", "country_dist": None})
    assert route.city_dist == 1.5 and route.country_dist == 0.0
    driver = DriverInfo.model_validate({"driver_id": 1, "name": 5, "is_locked": "false"})
    assert driver.name == "5" and driver.is_locked is False


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ("phone", "phone"),
        ({"param": "phone"}, "phone"),
        ({"x": "phone"}, "phone"),
        (["phone"], "phone"),
        ({}, None),
        (None, None),
    ],
)
def test_the_named_parameter_in_any_shape(data: object, param: str | None) -> None:
    assert param_from_data(data) == param


def test_code_8_without_a_name_still_reads_well() -> None:
    error = error_from_response("create_order", 8, "", {})
    assert error.user_message == "Такси-Мастеру не хватает параметра запроса."
    named = error_from_response("create_order", 8, "", "source_time")
    assert named.user_message == "Такси-Мастеру не хватает параметра «время подачи» (source_time)."


@pytest.mark.parametrize(
    ("typed", "order_id"),
    [
        ("12345", 12345),
        ("№12345", 12345),
        ("# 12345", 12345),
        ("12 345", 12345),
        ("1 234 567", 1234567),
        ("12\u00a0345", 12345),
        ("12\u202f345", 12345),
        ("12  345", None),  # two spaces: not one number
        ("12 34a", None),
        ("0", None),
        ("", None),
    ],
)
def test_order_ids_as_people_write_them(typed: str, order_id: int | None) -> None:
    assert parse_order_id(typed) == order_id
