"""Taxi-Master's router: every command, wizard step and button of the service."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.policy import rule
from handlers.taximaster.callbacks import (
    CrewMapCb,
    CrewsPageCb,
    OrderCb,
    OrdersPageCb,
    PendingCb,
    TaxiCb,
)
from handlers.taximaster.info import (
    crew_map_pressed,
    crews,
    crews_page_pressed,
    tariffs,
    taxi_cost,
)
from handlers.taximaster.ordering import order_confirmed, repeat_confirmed, repeat_declined
from handlers.taximaster.orders import open_pressed, order, refresh_pressed, watch_pressed
from handlers.taximaster.orders_list import orders, orders_page_pressed
from handlers.taximaster.pending import check_pressed, repeat_pressed, self_pressed
from handlers.taximaster.taxi_wizard import (
    TaxiFlow,
    group_pressed,
    house_picked,
    house_typed,
    no_dest,
    phone_typed,
    place_picked,
    place_typed,
    stale_wizard_button,
    taxi,
    when_pressed,
    when_typed,
)

# The /taxi wizard's steps and buttons need what /taxi needs; so do the buttons of an order
# whose create is unknown (check, I'll check, order again).
TAXI = rule("taxi")
# The confirmations' actions (bot.confirm registry), registered on import
CONFIRM_ACTIONS = (order_confirmed, repeat_confirmed, repeat_declined)


def make_router() -> Router:
    router = Router(name="taximaster")
    typed = F.text & ~F.text.startswith("/")

    router.message.register(taxi, Command("taxi"), flags=TAXI)
    router.message.register(phone_typed, TaxiFlow.phone, typed, flags=TAXI)
    router.message.register(place_typed, TaxiFlow.place, typed, flags=TAXI)
    router.message.register(house_typed, TaxiFlow.house, typed, flags=TAXI)
    router.message.register(when_typed, TaxiFlow.when, typed, flags=TAXI)
    router.callback_query.register(
        place_picked, TaxiFlow.place, TaxiCb.filter(F.action == "pick"), flags=TAXI
    )
    router.callback_query.register(
        no_dest, TaxiFlow.place, TaxiCb.filter(F.action == "nodest"), flags=TAXI
    )
    router.callback_query.register(
        house_picked, TaxiFlow.house, TaxiCb.filter(F.action == "house"), flags=TAXI
    )
    router.callback_query.register(
        when_pressed, TaxiFlow.when, TaxiCb.filter(F.action.in_({"now", "in30"})), flags=TAXI
    )
    router.callback_query.register(
        group_pressed, TaxiFlow.group, TaxiCb.filter(F.action == "group"), flags=TAXI
    )
    router.callback_query.register(stale_wizard_button, TaxiCb.filter(), flags=TAXI)
    router.callback_query.register(check_pressed, PendingCb.filter(F.action == "check"), flags=TAXI)
    router.callback_query.register(self_pressed, PendingCb.filter(F.action == "self"), flags=TAXI)
    router.callback_query.register(
        repeat_pressed, PendingCb.filter(F.action == "repeat"), flags=TAXI
    )

    router.message.register(order, Command("order"), flags=rule("order"))
    router.callback_query.register(
        refresh_pressed,
        OrderCb.filter(F.action == "refresh"),
        flags=rule("button.taximaster_order_refresh"),
    )
    router.callback_query.register(
        open_pressed, OrderCb.filter(F.action == "open"), flags=rule("order")
    )
    router.callback_query.register(
        watch_pressed,
        OrderCb.filter(F.action == "watch"),
        flags=rule("button.taximaster_order_watch"),
    )
    router.message.register(orders, Command("orders"), flags=rule("orders"))
    router.callback_query.register(orders_page_pressed, OrdersPageCb.filter(), flags=rule("orders"))
    router.message.register(taxi_cost, Command("taxi_cost"), flags=rule("taxi_cost"))
    router.message.register(crews, Command("crews"), flags=rule("crews"))
    router.callback_query.register(
        crew_map_pressed, CrewMapCb.filter(), flags=rule("button.taximaster_crew_map")
    )
    router.callback_query.register(
        crews_page_pressed, CrewsPageCb.filter(), flags=rule("button.taximaster_crews_page")
    )
    router.message.register(tariffs, Command("tariffs"), flags=rule("tariffs"))
    return router
