"""The adoption rule: which current order is the one a lost create made."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integrations.taximaster.matching import find_created, same_place
from integrations.taximaster.models import CurrentOrder
from integrations.taximaster.orders import NewOrder

TZ = ZoneInfo("Asia/Yekaterinburg")
SENT = datetime(2026, 11, 24, 9, 0, 5, tzinfo=UTC)
PICKUP = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 14:00 in Yekaterinburg
ORDER = NewOrder(
    phone="89123456789",
    source="улица Малышева, 51",
    source_time=PICKUP,
    dest="Аэропорт Кольцово",
)


def row(**changes: Any) -> CurrentOrder:
    data: dict[str, Any] = {
        "id": 5001,
        "state_kind": "new_order",
        "crew_id": 0,
        "phone": "+79123456789",
        "source": "Малышева ул., д. 51",
        "destination": "Аэропорт Кольцово",
        "source_time": "20261124140000",
        "start_time": "20261124140006",
        "creation_way": "common_api",
    }
    data.update(changes)
    return CurrentOrder.model_validate(data, context={"tz": TZ})


def test_the_order_as_a_server_lists_it_is_found() -> None:
    assert [r.id for r in find_created(ORDER, SENT, [row()])] == [5001]
    assert row().crew_id is None  # 0 is "no crew yet"


@pytest.mark.parametrize(
    "changes",
    [
        {"phone": "89120000000"},  # another passenger
        {"source_time": "20261124143000"},  # another pickup time
        {"source": "улица Малышева, 15"},  # another house
        {"destination": "Железнодорожный вокзал"},
        {"start_time": "20261124120000"},  # made two hours before we sent ours
        {"creation_way": "operator"},  # a dispatcher took a phone call
    ],
)
def test_what_is_not_ours_is_never_adopted(changes: dict[str, Any]) -> None:
    assert find_created(ORDER, SENT, [row(**changes)]) == []


def test_what_the_server_leaves_out_is_not_held_against_it() -> None:
    bare = row(destination="", start_time="", creation_way="", source_time="")
    assert [r.id for r in find_created(ORDER, SENT, [bare])] == [5001]


def test_orders_already_ours_and_several_candidates() -> None:
    assert find_created(ORDER, SENT, [row()], known_ids={5001}) == []
    twins = find_created(ORDER, SENT, [row(), row(id=5002)])
    assert [r.id for r in twins] == [5001, 5002]  # the caller adopts none of them


def test_an_order_tmweb_says_exists_need_not_be_ours() -> None:
    by_phone = row(creation_way="operator", start_time="20261124133000")
    assert find_created(ORDER, SENT, [by_phone]) == []
    assert [r.id for r in find_created(ORDER, SENT, [by_phone], made_by_us=False)] == [5001]


def test_places_compare_by_their_words() -> None:
    assert same_place("Железнодорожный вокзал", "Железнодорожный вокзал (Вокзальная, 22)")
    assert same_place("проспект Ленина, 24", "пр-т Ленина д 24")
    assert not same_place("улица Ленина, 24", "улица Ленина, 42")
    assert not same_place("", "улица Ленина, 24")
