"""Movizor models against the document's own samples, the known errata, and the form encoder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from integrations.errors import IntegrationDisabled, RateLimited, UpstreamUnavailable
from integrations.movizor.errors import (
    ERRORS,
    WORD_ERRORS,
    MovizorAuthError,
    MovizorDisabled,
    MovizorError,
    MovizorInvalidDateoff,
    MovizorLimitExceeded,
    MovizorNotConfirmed,
    MovizorUnavailable,
    error_from_response,
)
from integrations.movizor.functions import FUNCTIONS
from integrations.movizor.models import (
    MOSCOW_TZ,
    Ack,
    Balance,
    DeleteResult,
    DistanceSearchResult,
    Envelope,
    Event,
    EventType,
    Forecast,
    ObjectInfo,
    ObjectListItem,
    ObjectPosition,
    ObjectStatus,
    Operator,
    Position,
    PosRequestTicket,
    RoutePoint,
    ShareCreated,
    ShareLink,
    TariffCalculation,
)
from integrations.movizor.phpform import decode_php_form, encode_php_form

DATA = Path(__file__).parent.parent / "data" / "movizor"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return payload


def data_of(name: str) -> Any:
    envelope = Envelope.model_validate(load(name))
    assert envelope.result == "success"
    return envelope.data


# Every sample file and the model its data parses into (None: an Ack from the envelope).
SAMPLES: dict[str, tuple[type[BaseModel] | None, bool]] = {
    "balance.json": (Balance, False),
    "object_add.json": (None, False),
    "object_get.json": (ObjectInfo, False),
    "object_get_extended.json": (ObjectInfo, False),
    "object_get_metadata_list.json": (ObjectInfo, False),
    "object_edit.json": (None, False),
    "object_list.json": (ObjectListItem, True),
    "object_delete_disabled.json": (None, False),
    "object_delete_deleted.json": (None, False),
    "object_reactivate.json": (None, False),
    "object_cancel_tariff.json": (None, False),
    "pos_last.json": (Position, False),
    "pos_list.json": (Position, True),
    "pos_request_ok.json": (PosRequestTicket, False),
    "pos_request_wait.json": (PosRequestTicket, False),
    "pos_get.json": (Position, False),
    "pos_get_numbers.json": (Position, False),
    "pos_objects.json": (ObjectPosition, True),
    "distance_search.json": (DistanceSearchResult, True),
    "get_operator.json": (Operator, False),
    "tariff_calculator.json": (TariffCalculation, False),
    "events.json": (Event, True),
    "share_list.json": (ShareLink, True),
    "share_add.json": (ShareCreated, False),
    "share_delete.json": (None, False),
}


def test_every_sample_file_is_covered() -> None:
    on_disk = {path.name for path in DATA.glob("*.json")}
    errors = {"object_add_error.json", "error_access_denied.json"}
    assert on_disk == set(SAMPLES) | errors


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_document_samples_parse(name: str) -> None:
    model, is_list = SAMPLES[name]
    envelope = Envelope.model_validate(load(name))
    assert envelope.result == "success"
    if model is None:
        assert Ack.model_validate({"code": envelope.code, "message": envelope.message}).code
    elif is_list:
        rows = [model.model_validate(row) for row in envelope.data]
        assert rows
    else:
        model.model_validate(envelope.data)


def test_object_get_sample_values() -> None:
    info = ObjectInfo.model_validate(data_of("object_get.json"))
    assert info.phone == "79111111115"
    assert info.status is ObjectStatus.NEW
    assert info.confirmed is False
    assert info.tariff == "manual"
    assert info.last_timestamp is None  # 0 means "never"
    assert info.timestamp_off is None  # "0" too
    assert info.current_lat is None and info.place is None
    assert info.metadata == {} and info.destination == []
    assert not info.is_tracking


def test_object_get_undocumented_fields() -> None:
    info = ObjectInfo.model_validate(data_of("object_get_extended.json"))
    assert info.on_parking is False
    assert info.timestamp_add == datetime(2019, 2, 14, 12, 54, 3, tzinfo=UTC)
    assert [point.status for point in info.destination] == [Forecast.FINISHED, Forecast.NEW]
    first = info.destination[0]
    assert first.planned_at == datetime(2019, 2, 14, 21, 50, tzinfo=MOSCOW_TZ)
    assert first.planned_at.utcoffset() is not None
    assert (first.lat, first.lon) == (55.795631, 37.582039)
    assert info.distance == 17.0 and info.distance_forecast_time == 1.0
    assert info.metadata["Клиент"] == 'ООО "Ромашка"'  # HTML entities undone


def test_object_get_tolerates_numbers_nulls_and_empty_arrays() -> None:
    info = ObjectInfo.model_validate(data_of("object_get_metadata_list.json"))
    assert info.phone == "79150001123"  # a number on the wire
    assert info.status == "no_confirmed" and info.status is ObjectStatus.NO_CONFIRMED
    assert info.confirmed is False and info.at_request is False  # "0"
    assert info.title == "" and info.tariff == "15"
    assert info.metadata == {}  # [] instead of {}
    assert info.on_parking is None


def test_unknown_status_and_extra_fields_are_kept() -> None:
    info = ObjectInfo.model_validate({"phone": "79000000000", "status": "sleeping", "x_new": 1})
    assert info.status == "sleeping"
    assert info.model_extra == {"x_new": 1}


def test_positions_strings_and_numbers_alike() -> None:
    as_text = Position.model_validate(data_of("pos_last.json"))
    assert as_text.lat == 59.29125 and as_text.lon == 30.16491
    assert as_text.timestamp == datetime(2014, 7, 4, 5, 35, 31, tzinfo=UTC)
    assert as_text.radius == 300 and as_text.distance == 25.0
    assert as_text.place is None and as_text.distance_forecast_status is None
    assert as_text.has_fix and not as_text.is_late

    as_numbers = Position.model_validate(data_of("pos_get_numbers.json"))
    assert as_numbers.radius == 4300 and as_numbers.lon == 42.799377
    assert (
        as_numbers.is_late
        and as_numbers.eta is not None
        and as_numbers.eta.total_seconds() == 36000
    )
    assert as_numbers.model_extra == {"timestamp_request": 1556635814}
    assert Position.model_validate({"radius": 790}).radius == 790
    assert Position.model_validate({"radius": "790.0", "lat": "", "lon": None}).radius == 790


def test_pos_objects_sample_nulls() -> None:
    [row] = [ObjectPosition.model_validate(r) for r in data_of("pos_objects.json")]
    assert row.phone == "791111234567"  # 12 digits in the document: kept as sent
    assert row.place is None and row.distance is None and row.timestamp is None
    assert row.radius == 0


def test_balance_sample_and_tariff_lists() -> None:
    balance = Balance.model_validate(data_of("balance.json"))
    assert balance.balance == 497.0 and balance.credit == 10.0
    assert balance.tariffs["mts"]["0"].title == "Вручную"
    assert balance.tariffs["mts"]["0"].request == 3.0
    listed = Balance.model_validate(
        {"balance": 1, "tariff": {"eventsms": [{"abon": 0, "request": "4.00", "title": "SMS"}]}}
    )
    assert listed.tariffs["eventsms"]["0"].request == 4.0
    assert Balance.model_validate({"balance": "0.00", "tariff": []}).tariffs == {}


def test_events_sample() -> None:
    events = [Event.model_validate(row) for row in data_of("events.json")]
    assert [e.id for e in events] == [3947080, 3818735]
    assert events[0].type is EventType.OFF and events[1].type is EventType.AUTO_OFF
    assert events[0].timestamp == datetime(2016, 3, 18, 14, 50, 40, tzinfo=UTC)
    odd = Event.model_validate({"id": 1, "timestamp": 0, "phone": "7", "type": "teleport"})
    assert odd.type == "teleport" and not odd.known
    extra = Event.model_validate(
        {"id": "2", "type": "pos_late", "lat": "55.1", "lon": 37, "text": "опаздывает"}
    )
    assert (extra.lat, extra.lon, extra.text) == (55.1, 37.0, "опаздывает")


def test_event_type_list_is_the_documents() -> None:
    assert {t.value for t in EventType} == {
        "add", "auto_off", "off", "confirm", "reject", "request", "request_error",
        "request_offline", "request_roaming", "reactivate", "tariff_auto", "pos_ok",
        "pos_late", "pos_finished", "autoinform", "no_confirm", "limit", "onroute",
        "returnroute", "leftroute", "notroute", "onparking", "offparking", "mstart", "mstop",
    }  # fmt: skip


def test_misc_samples() -> None:
    assert Operator.model_validate(data_of("get_operator.json")).title == "МТС"
    [place] = [DistanceSearchResult.model_validate(r) for r in data_of("distance_search.json")]
    assert place.title.startswith("Ростов-на-Дону") and place.lat == 47.2248606
    tariff = TariffCalculation.model_validate(data_of("tariff_calculator.json"))
    assert tariff.type == "daily" and tariff.price == 0.0
    assert "<" not in tariff.description_text and "1.50 руб." in tariff.description_text
    [share] = [ShareLink.model_validate(r) for r in data_of("share_list.json")]
    assert share.link == "https://movizor.ru/share/111-221-955-532-1911"
    assert share.timestamp_off is None and share.req_limit == 10
    assert ShareCreated.model_validate(data_of("share_add.json")).objects_count == 1
    assert PosRequestTicket.model_validate(data_of("pos_request_ok.json")).request_id == "12345"


def test_delete_result_codes() -> None:
    assert DeleteResult.model_validate({"code": "DISABLED"}).disabled
    assert DeleteResult.model_validate({"code": "DELETED"}).deleted


def test_route_point_form_is_moscow_time() -> None:
    naive = RoutePoint(
        text="Казань", lat=55.760419, lon=49.190294, planned_at=datetime(2016, 5, 10, 18, 0)
    )
    assert naive.to_form() == {
        "text": "Казань",
        "coord": "55.760419,49.190294",
        "time": "10.05.2016 18:00",
    }
    utc = RoutePoint(
        text="Москва", lat=55.7, lon=37.05, planned_at=datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    )
    assert utc.to_form()["time"] == "01.01.2024 12:00"
    assert "time" not in RoutePoint(text="x", lat=0, lon=0).to_form()
    with pytest.raises(ValueError):
        RoutePoint(text="x", lat=91, lon=0)


# --- the error table ------------------------------------------------------------------------------


def test_error_table_is_sane() -> None:
    for (function, code), spec in ERRORS.items():
        assert function in FUNCTIONS
        assert code.isdigit()
        assert issubclass(spec.exc, MovizorError)
        assert spec.vendor_text and spec.ru and spec.en
        assert any("а" <= ch <= "я" for ch in spec.ru.lower())
    for spec in WORD_ERRORS.values():
        assert spec.ru and spec.en


def test_same_code_means_different_things_per_function() -> None:
    assert isinstance(error_from_response("pos_request", {"error_code": "2"}), MovizorNotConfirmed)
    assert isinstance(error_from_response("object_add", {"error_code": 2}), MovizorInvalidDateoff)


def test_error_from_document_sample() -> None:
    error = error_from_response("object_add", load("object_add_error.json"))
    assert error.code == "1" and error.function == "object_add"
    assert error.vendor_text == "Incorrect phone format (79XXXXXXXXX)"
    assert error.user_message == ERRORS[("object_add", "1")].ru
    assert error.message_for("en") == ERRORS[("object_add", "1")].en


def test_word_code_access_denied() -> None:
    error = error_from_response("balance", load("error_access_denied.json"))
    assert type(error) is MovizorAuthError and error.code == "ACCESS_DENIED"
    assert "Auth rate limit exceeded" in str(error)


def test_transport_errors_are_also_the_shared_classes() -> None:
    unavailable = MovizorUnavailable("x")
    assert isinstance(unavailable, UpstreamUnavailable) and unavailable.integration == "movizor"
    assert unavailable.user_message == UpstreamUnavailable.default_message
    assert isinstance(MovizorDisabled(), IntegrationDisabled)
    assert isinstance(MovizorLimitExceeded(), RateLimited)
    assert str(MovizorDisabled("balance: not called", code="AUTH_LOCKED")).startswith("movizor:")


def test_unknown_code_keeps_vendor_text() -> None:
    error = error_from_response("pos_last", {"error_code": " 77 ", "error_text": "Something new"})
    assert type(error) is MovizorError and error.code == "77"
    assert error.vendor_text == "Something new" and "77" in error.user_message


# --- PHP form encoding ----------------------------------------------------------------------------


def test_encode_document_examples() -> None:
    pairs = encode_php_form(
        {
            "phone": "79991234567",
            "destination": [
                {"text": "Казань", "coord": "55.760419,49.190294", "time": "10.05.2016 18:00"}
            ],
            "metadata": {"Склад": "Восточный"},
            "st": ["12:00", "17:00"],
            "sw1": True,
            "package_prolong": False,
            "title": None,
            "tariff": 2,
        }
    )
    assert pairs == [
        ("phone", "79991234567"),
        ("destination[0][text]", "Казань"),
        ("destination[0][coord]", "55.760419,49.190294"),
        ("destination[0][time]", "10.05.2016 18:00"),
        ("metadata[Склад]", "Восточный"),
        ("st[0]", "12:00"),
        ("st[1]", "17:00"),
        ("sw1", "1"),
        ("package_prolong", "0"),
        ("tariff", "2"),
    ]


def test_encode_rejects_keys_php_cannot_carry() -> None:
    for bad in ({"": "x"}, {"a[b]": "x"}, {"m": {"": "x"}}, {"m": {"a]": "x"}}):
        with pytest.raises(ValueError):
            encode_php_form(bad)


def test_decode_php_append_syntax() -> None:
    assert decode_php_form([("phone[]", "79000000001"), ("phone[]", "79000000002")]) == {
        "phone": ["79000000001", "79000000002"]
    }


_KEY = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="[]"), min_size=1, max_size=8
).filter(lambda key: not key.isdigit())
_LEAF = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
_VALUE = st.recursive(
    _LEAF,
    lambda children: (
        st.lists(children, min_size=1, max_size=4)
        | st.dictionaries(_KEY, children, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(_KEY, _VALUE, max_size=5))
def test_php_form_round_trip(data: dict[str, Any]) -> None:
    pairs = encode_php_form(data)
    assert decode_php_form(pairs) == data
    # and through the wire format too
    assert decode_php_form(parse_qsl(urlencode(pairs), keep_blank_values=True)) == data


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Москва, Москва, Россия", "Москва, Россия"),
        ("Казань, Республика Татарстан, казань", "Казань, Республика Татарстан"),
        (" Тверь ,, Тверь ", "Тверь"),
        ("Химки", "Химки"),
        ("", None),
        (None, None),
    ],
)
def test_a_place_keeps_each_of_its_parts_once(sent, kept):
    position = Position.model_validate({"lat": "55.7", "lon": "37.6", "place": sent})
    assert position.place == kept
    info = ObjectInfo.model_validate({"phone": "79991234567", "status": "ok", "place": sent})
    assert info.place == kept
    found = DistanceSearchResult.model_validate({"lat": "55.7", "lon": "37.6", "title": sent})
    assert found.title == (kept or "")
