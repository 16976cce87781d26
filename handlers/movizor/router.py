"""Movizor's router: every command, wizard step and button of the service."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from handlers.movizor.account import balance, events, operator
from handlers.movizor.callbacks import DriversPageCb, LocateCb, TrackCb
from handlers.movizor.drivers_list import drivers_page_pressed, list_drivers
from handlers.movizor.follow import follow, unfollow
from handlers.movizor.guard import DISPATCHER, VIEWER, RequireMovizor
from handlers.movizor.locate import driver_picked, locate, refresh_pressed
from handlers.movizor.shares import share, shares, unshare
from handlers.movizor.track_wizard import (
    TrackFlow,
    arrival_typed,
    dateoff_skipped,
    dateoff_typed,
    place_picked,
    place_typed,
    points_done,
    route,
    stale_wizard_button,
    tags_skipped,
    tags_typed,
    title_typed,
    track,
)
from handlers.movizor.tracking import reactivate, untrack


def make_router() -> Router:
    router = Router(name="movizor")
    router.message.middleware(RequireMovizor())
    router.callback_query.middleware(RequireMovizor())
    typed = F.text & ~F.text.startswith("/")

    router.message.register(locate, Command("locate"), flags=VIEWER)
    router.callback_query.register(driver_picked, LocateCb.filter(F.action == "show"), flags=VIEWER)
    router.callback_query.register(
        refresh_pressed, LocateCb.filter(F.action == "refresh"), flags=VIEWER
    )
    router.message.register(list_drivers, Command("drivers"), flags=VIEWER)
    router.callback_query.register(drivers_page_pressed, DriversPageCb.filter(), flags=VIEWER)

    router.message.register(track, Command("track"), flags=DISPATCHER)
    router.message.register(route, Command("route"), flags=DISPATCHER)
    router.message.register(title_typed, TrackFlow.title, typed, flags=DISPATCHER)
    router.message.register(place_typed, TrackFlow.place, typed, flags=DISPATCHER)
    router.message.register(arrival_typed, TrackFlow.arrival, typed, flags=DISPATCHER)
    router.message.register(dateoff_typed, TrackFlow.dateoff, typed, flags=DISPATCHER)
    router.message.register(tags_typed, TrackFlow.tags, typed, flags=DISPATCHER)
    router.callback_query.register(
        place_picked, TrackFlow.place, TrackCb.filter(F.action == "pick"), flags=DISPATCHER
    )
    router.callback_query.register(
        points_done, TrackFlow.place, TrackCb.filter(F.action == "done"), flags=DISPATCHER
    )
    router.callback_query.register(
        dateoff_skipped, TrackFlow.dateoff, TrackCb.filter(F.action == "nodate"), flags=DISPATCHER
    )
    router.callback_query.register(
        tags_skipped, TrackFlow.tags, TrackCb.filter(F.action == "notags"), flags=DISPATCHER
    )
    router.callback_query.register(stale_wizard_button, TrackCb.filter(), flags=DISPATCHER)

    router.message.register(untrack, Command("untrack"), flags=DISPATCHER)
    router.message.register(reactivate, Command("reactivate"), flags=DISPATCHER)
    router.message.register(share, Command("share"), flags=DISPATCHER)
    router.message.register(shares, Command("shares"), flags=VIEWER)
    router.message.register(unshare, Command("unshare"), flags=DISPATCHER)
    router.message.register(events, Command("events"), flags=VIEWER)
    router.message.register(operator, Command("operator"), flags=VIEWER)
    router.message.register(balance, Command("balance"), flags=VIEWER)
    router.message.register(follow, Command("follow"), flags=VIEWER)
    router.message.register(unfollow, Command("unfollow"), flags=VIEWER)
    return router
