"""Movizor's router: every command, wizard step and button of the service."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.policy import rule
from handlers.movizor.account import balance, events, operator
from handlers.movizor.callbacks import DriversPageCb, LocateCb, TrackCb
from handlers.movizor.drivers_list import drivers_page_pressed, list_drivers
from handlers.movizor.follow import follow, unfollow
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

# The /track and /route wizard's steps and buttons need what /track needs.
TRACK = rule("track")


def make_router() -> Router:
    router = Router(name="movizor")
    typed = F.text & ~F.text.startswith("/")

    router.message.register(locate, Command("locate"), flags=rule("locate"))
    router.callback_query.register(
        driver_picked, LocateCb.filter(F.action == "show"), flags=rule("button.driver_pick")
    )
    router.callback_query.register(
        refresh_pressed, LocateCb.filter(F.action == "refresh"), flags=rule("button.driver_refresh")
    )
    router.message.register(list_drivers, Command("drivers"), flags=rule("drivers"))
    router.callback_query.register(
        drivers_page_pressed, DriversPageCb.filter(), flags=rule("button.drivers_page")
    )

    router.message.register(track, Command("track"), flags=rule("track"))
    router.message.register(route, Command("route"), flags=rule("route"))
    router.message.register(title_typed, TrackFlow.title, typed, flags=TRACK)
    router.message.register(place_typed, TrackFlow.place, typed, flags=TRACK)
    router.message.register(arrival_typed, TrackFlow.arrival, typed, flags=TRACK)
    router.message.register(dateoff_typed, TrackFlow.dateoff, typed, flags=TRACK)
    router.message.register(tags_typed, TrackFlow.tags, typed, flags=TRACK)
    router.callback_query.register(
        place_picked, TrackFlow.place, TrackCb.filter(F.action == "pick"), flags=TRACK
    )
    router.callback_query.register(
        points_done, TrackFlow.place, TrackCb.filter(F.action == "done"), flags=TRACK
    )
    router.callback_query.register(
        dateoff_skipped, TrackFlow.dateoff, TrackCb.filter(F.action == "nodate"), flags=TRACK
    )
    router.callback_query.register(
        tags_skipped, TrackFlow.tags, TrackCb.filter(F.action == "notags"), flags=TRACK
    )
    router.callback_query.register(stale_wizard_button, TrackCb.filter(), flags=TRACK)

    router.message.register(untrack, Command("untrack"), flags=rule("untrack"))
    router.message.register(reactivate, Command("reactivate"), flags=rule("reactivate"))
    router.message.register(share, Command("share"), flags=rule("share"))
    router.message.register(shares, Command("shares"), flags=rule("shares"))
    router.message.register(unshare, Command("unshare"), flags=rule("unshare"))
    router.message.register(events, Command("events"), flags=rule("events"))
    router.message.register(operator, Command("operator"), flags=rule("operator"))
    router.message.register(balance, Command("balance"), flags=rule("balance"))
    router.message.register(follow, Command("follow"), flags=rule("follow"))
    router.message.register(unfollow, Command("unfollow"), flags=rule("unfollow"))
    return router
