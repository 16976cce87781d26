"""The /wagon add summary: what will be put on tracking, what is on tracking already, the
settings and their buttons — and the words for what happened after «✅ Поставить».

Every list is cut to a few dozen numbers with "… и ещё N", so 500 numbers still make one
message well under Telegram's 4096 characters, and callback data stays a short token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from handlers.alta.adds import Outcome
from handlers.alta.callbacks import AltaAddCb
from integrations.alta.models import Region, TrackMode

SETTINGS: Final = ("region", "mode", "times", "days", "stop", "reuse")
TIME_PRESETS: Final = (
    ("09:00",),
    ("09:00", "18:00"),
    ("09:00", "13:00", "18:00"),
    ("06:00", "14:00", "22:00"),
)
DAY_PRESETS: Final = ((0, 1, 2, 3, 4, 5, 6), (1, 2, 3, 4, 5))
NUMBERS_SHOWN: Final = 30
EXISTING_SHOWN: Final = 10


def numbers_text(numbers: list[str], shown: int = NUMBERS_SHOWN) -> str:
    """``a, b, c … и ещё 370``."""
    text = ", ".join(numbers[:shown])
    if len(numbers) > shown:
        text += " " + _("alta.more_numbers").format(count=len(numbers) - shown)
    return text


def times_text(times: list[str]) -> str:
    return ", ".join(times)


def days_text(days: list[int]) -> str:
    if sorted(days) == list(range(7)):
        return _("alta.days.all")
    if sorted(days) == [1, 2, 3, 4, 5]:
        return _("alta.days.workdays")
    names = _("alta.days.names").split(",")
    return ", ".join(names[d] for d in sorted(days))


def stop_text(stop: str) -> str:
    if stop == "yes":
        return _("alta.stop.yes")
    if stop == "no":
        return _("alta.stop.no")
    return _("alta.stop.esr").format(code=html.quote(stop))


def region_text(region: str) -> str:
    return _("alta.region.sng") if region == Region.SNG else _("alta.region.ru")


def mode_text(mode: str) -> str:
    return _("alta.mode.trip") if mode == TrackMode.TRIP else _("alta.mode.daily")


def existing_of(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = payload.get("existing")
    return {str(k): dict(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def foreign_of(payload: dict[str, Any]) -> list[str]:
    """Numbers on tracking for another chat this person may not see (handlers/alta/owners.py):
    neither watched from here nor put on tracking anew."""
    raw = payload.get("foreign")
    return [str(n) for n in raw] if isinstance(raw, list) else []


def watchable_of(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The numbers on tracking already that this chat may watch (or put on tracking anew)."""
    foreign = set(foreign_of(payload))
    return {n: known for n, known in existing_of(payload).items() if n not in foreign}


def to_send(payload: dict[str, Any]) -> list[str]:
    """The numbers «✅ Поставить» sends: all typed, but those on tracking already unless the
    person chose to put them on tracking again — and never another chat's."""
    foreign = set(foreign_of(payload))
    numbers = [str(n) for n in [*payload.get("wagons", []), *payload.get("containers", [])]]
    numbers = [n for n in numbers if n not in foreign]
    if not payload.get("reuse", True):
        return numbers
    existing = existing_of(payload)
    return [n for n in numbers if n not in existing]


def since_text(since: Any, tz: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(str(since))
    except ValueError:
        return ""
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def existing_lines(payload: dict[str, Any], tz: ZoneInfo) -> list[str]:
    foreign = foreign_of(payload)
    lines = [_("alta.add.summary_foreign").format(numbers=numbers_text(foreign))] if foreign else []
    existing = watchable_of(payload)
    if not existing:
        return lines
    lines.append(_("alta.add.summary_existing").format(count=len(existing)))
    for number, known in list(existing.items())[:EXISTING_SHOWN]:
        since = since_text(known.get("since"), tz) if known.get("since") else ""
        key = "alta.add.existing_since" if since else "alta.add.existing"
        lines.append(
            _(key).format(number=number, since=since, hash=html.quote(str(known.get("hash"))))
        )
    if len(existing) > EXISTING_SHOWN:
        lines.append(_("alta.card.more").format(count=len(existing) - EXISTING_SHOWN))
    reuse = payload.get("reuse", True)
    lines.append(_("alta.add.existing_reuse" if reuse else "alta.add.existing_again"))
    return lines


def render_summary(payload: dict[str, Any], tz: ZoneInfo) -> str:
    wagons, containers = payload["wagons"], payload["containers"]
    lines = [_("alta.add.summary_title")]
    if wagons:
        lines.append(
            _("alta.add.summary_wagons").format(count=len(wagons), numbers=numbers_text(wagons))
        )
    if containers:
        lines.append(
            _("alta.add.summary_containers").format(
                count=len(containers), numbers=numbers_text(containers)
            )
        )
    lines += existing_lines(payload, tz)
    if payload.get("check_failed"):
        lines.append(_("alta.add.check_failed"))
    elif payload.get("unchecked"):
        lines.append(_("alta.add.unchecked").format(count=payload["unchecked"]))
    lines += [
        _("alta.add.summary_region").format(region=region_text(payload["region"])),
        _("alta.add.summary_mode").format(mode=mode_text(payload["mode"])),
        _("alta.add.summary_times").format(times=times_text(payload["times"])),
        _("alta.add.summary_days").format(days=days_text(payload["days"])),
        _("alta.add.summary_stop").format(stop=stop_text(payload["stop"])),
        "",
        _("alta.add.summary_hint"),
    ]
    return "\n".join(lines)


def yes_text(payload: dict[str, Any]) -> str:
    return _("alta.add.btn_yes") if to_send(payload) else _("alta.add.btn_watch")


def settings_rows(token: str, payload: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
    def button(what: str, text: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=AltaAddCb(token=token, what=what).pack()
        )

    rows = [
        [
            button("region", _("alta.add.btn_region").format(value=region_text(payload["region"]))),
            button("mode", _("alta.add.btn_mode").format(value=mode_text(payload["mode"]))),
        ],
        [
            button("times", _("alta.add.btn_times").format(value=times_text(payload["times"]))),
            button("days", _("alta.add.btn_days").format(value=days_text(payload["days"]))),
        ],
        [button("stop", _("alta.add.btn_stop").format(value=stop_text(payload["stop"])))],
    ]
    if watchable_of(payload):
        key = "alta.add.btn_reuse" if payload.get("reuse", True) else "alta.add.btn_again"
        rows.append([button("reuse", _(key))])
    return rows


def next_of(options: list[Any], current: Any) -> Any:
    """The option after ``current`` (the first when ``current`` is not among them)."""
    unique: list[Any] = []
    for option in options:
        if option not in unique:
            unique.append(option)
    if current not in unique:
        return unique[0]
    return unique[(unique.index(current) + 1) % len(unique)]


def changed(payload: dict[str, Any], what: str) -> dict[str, Any]:
    """The payload with one setting moved to its next choice."""
    defaults = payload.get("defaults") or {}
    new = dict(payload)
    if what == "region":
        new["region"] = Region.SNG.value if payload["region"] == Region.RU else Region.RU.value
    elif what == "mode":
        new["mode"] = (
            TrackMode.TRIP.value if payload["mode"] == TrackMode.DAILY else TrackMode.DAILY.value
        )
    elif what == "times":
        options = [defaults.get("times") or []] + [list(p) for p in TIME_PRESETS]
        new["times"] = next_of([o for o in options if o], payload["times"])
    elif what == "days":
        options = [defaults.get("days") or []] + [list(p) for p in DAY_PRESETS]
        new["days"] = next_of([o for o in options if o], payload["days"])
    elif what == "stop":
        new["stop"] = next_of([defaults.get("stop") or "yes", "yes", "no"], payload["stop"])
    elif what == "reuse":
        new["reuse"] = not payload.get("reuse", True)
    return new


# --- after «✅ Поставить» --------------------------------------------------------------------


def outcome_lines(
    outcome: Outcome | None,
    sent: list[str],
    watched: list[str],
    error_text: str = "",
    foreign: list[str] | None = None,
) -> list[str]:
    """What happened, in words that claim nothing that did not happen. ``outcome`` None:
    nothing was sent (every number was on tracking already). ``error_text`` is HTML
    (bot.texts.error_html). ``foreign``: numbers left alone, being another chat's."""
    lines: list[str] = []
    if foreign:
        lines.append(_("alta.add.foreign_left").format(numbers=numbers_text(foreign)))
    if outcome is None:
        pass
    elif outcome.state == "added":
        lines.append(_("alta.add.done").format(count=len(sent), numbers=numbers_text(sent)))
        for request_hash in outcome.hashes.values():
            lines.append(_("alta.card.hash").format(hash=html.quote(request_hash)))
        if outcome.recovered:
            lines.append(_("alta.add.recovered"))
    elif outcome.state == "refused":
        lines.append(_("alta.add.refused").format(error=error_text))
    elif outcome.check_failed:
        lines.append(_("alta.add.lost_unchecked").format(numbers=numbers_text(sent, 10)))
    else:
        lines.append(_("alta.add.lost_not_found").format(numbers=numbers_text(sent, 10)))
    if watched:
        lines.append(
            _("alta.add.watching_existing").format(
                count=len(watched), numbers=numbers_text(watched)
            )
        )
    if (outcome is not None and outcome.state == "added") or watched:
        lines.append(_("alta.add.done_hint"))
    return lines
