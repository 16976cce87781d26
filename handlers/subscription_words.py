"""What people type to /subscribe, /mute, /quiet and /timezone, and the set algebra of
subscriptions (pure: no Telegram, no storage).

The subscriptions of one filter are treated as a set of kinds and stored in canonical form
(``all`` > ``area:x`` > ``kind:y``): unsubscribing ``drivers`` from a chat that has ``all`` then
leaves the other areas, which is what people mean, instead of silently doing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import time, timedelta

from bot.alerts.kinds import AREAS, KINDS, matches, resolve_selector
from bot.phones import possible_phone
from bot.settings.kinds import parse_minutes, parse_window

ALL = "all"
KINDS_PER_PAGE = 10
MAX_MUTE_MINUTES = 7 * 24 * 60
ON, OFF, PARTLY = "✅", "▫️", "◐"

# Words people type for an area, besides the area's own name (resolve_selector knows those).
AREA_WORDS = {
    "водители": "drivers",
    "водитель": "drivers",
    "driver": "drivers",
    "задачи": "tasks",
    "задача": "tasks",
    "task": "tasks",
    "такси": "taxi",
    "вагоны": "wagons",
    "вагон": "wagons",
    "контейнеры": "wagons",
    "wagon": "wagons",
    "система": "system",
    "системные": "system",
}
# The Russian word shown next to each area in the list of valid choices.
AREA_RU = {
    "drivers": "водители",
    "tasks": "задачи",
    "taxi": "такси",
    "wagons": "вагоны",
    "system": "система",
}
# `prefix:value` filters (Russian prefixes too) -> the subject type the pipeline compares with.
FILTER_PREFIXES = {
    "tag": "tag",
    "тег": "tag",
    "driver": "driver",
    "водитель": "driver",
    "phone": "driver",
    "тел": "driver",
    "task": "task",
    "задача": "task",
    "order": "order",
    "заказ": "order",
    "wagon": "wagon",
    "вагон": "wagon",
    "container": "container",
    "контейнер": "container",
}
OFF_WORDS = frozenset({"off", "no", "none", "выкл", "нет", "-"})
ZONE_EXAMPLES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Vladivostok",
)


# --- parsing (pure) -------------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """What `/subscribe …` asked for: selectors, one subject filter, and what made no sense."""

    selectors: tuple[str, ...] = ()
    filter: str = ""
    unknown: tuple[str, ...] = ()
    bad_filter: str | None = None


_PHONE_TOKEN = re.compile(r"[+\d()\-]*\d[+\d()\-]*")
_ID_VALUE = re.compile(r"[\w\-/.]{1,40}")
_SEPARATOR = re.compile(r"(?:^|\s)--(?:\s|$)")
_TOKEN_SPLIT = re.compile(r"[\s,;]+")


def parse_filter(text: str) -> str | None:
    """A subject filter the pipeline understands (`driver:7…`, `tag:…`, `task:…`), or None."""
    text = text.strip()
    prefix, colon, value = text.partition(":")
    if not colon:
        phone = possible_phone(text)
        return f"driver:{phone}" if phone else None
    subject = FILTER_PREFIXES.get(prefix.strip().lower())
    value = value.strip()
    if subject is None or not value:
        return None
    if subject == "driver":
        phone = possible_phone(value)
        return f"driver:{phone}" if phone else None
    if subject == "tag":
        return f"tag:{value}" if len(value) <= 64 else None
    if subject == "wagon":
        return f"wagon:{value}" if re.fullmatch(r"[0-9]{8}", value) else None
    if subject == "container":
        value = value.upper()
        return f"container:{value}" if re.fullmatch(r"[A-Z]{4}[0-9]{7}", value) else None
    return f"{subject}:{value}" if _ID_VALUE.fullmatch(value) else None


def resolve_word(word: str) -> list[str] | None:
    """A selector word in English or Russian: all / an area / a kind name."""
    found = resolve_selector(word)
    if found is not None:
        return found
    area = AREA_WORDS.get(word.strip().lower())
    return [f"area:{area}"] if area else None


def _tokens(text: str) -> list[str]:
    """Words of the arguments, with a phone typed in pieces (`+7 999 123-45-67`) kept whole."""
    tokens: list[str] = []
    phone_run = False
    for word in filter(None, _TOKEN_SPLIT.split(text)):
        is_phone = bool(_PHONE_TOKEN.fullmatch(word))
        if is_phone and phone_run:
            tokens[-1] += word
        else:
            tokens.append(word)
        phone_run = is_phone
    return tokens


def parse_selection(text: str) -> Selection:
    """`drivers driver.late tag:Склад` or `all -- +7 999 123 45 67`; at most one filter."""
    parts = _SEPARATOR.split(f" {text} ", maxsplit=1)
    selectors: list[str] = []
    filters: list[str] = []
    unknown: list[str] = []
    for word in _tokens(parts[0]):
        found = resolve_word(word)
        subject = None if found else parse_filter(word)
        if found:
            selectors += [s for s in found if s not in selectors]
        elif subject:
            filters.append(subject)
        else:
            unknown.append(word)
    if len(parts) > 1 and parts[1].strip():
        subject = parse_filter(parts[1])
        if subject is None:
            return Selection(tuple(selectors), unknown=tuple(unknown), bad_filter=parts[1].strip())
        filters.append(subject)
    if len(filters) > 1:
        return Selection(tuple(selectors), unknown=tuple(unknown), bad_filter=" ".join(filters))
    if ALL in selectors:
        selectors = [ALL]
    return Selection(tuple(selectors), filters[0] if filters else "", tuple(unknown))


def parse_duration(text: str) -> timedelta | None:
    """`30m`, `2ч`, `1д`, `1h30m`, `90` (minutes) -> a duration up to 7 days, else None."""
    minutes = parse_minutes(text)
    if minutes is None or not 0 < minutes <= MAX_MUTE_MINUTES:
        return None
    return timedelta(minutes=minutes)


def parse_quiet(text: str) -> tuple[time, time] | None:
    """`22:00-07:00`, `22-7`, `23.30–6.00` -> (start, end); the window may cross midnight."""
    return parse_window(text)


# --- the set algebra of subscriptions (pure) ----------------------------------------------
def area_kinds(area: str) -> frozenset[str]:
    return frozenset(name for name, spec in KINDS.items() if spec.area == area)


def covered(selectors: Iterable[str]) -> frozenset[str]:
    """Every known kind the selectors let through."""
    selectors = list(selectors)
    return frozenset(k for k in KINDS if any(matches(s, k) for s in selectors))


def canonical(kinds: Set[str]) -> set[str]:
    """The fewest selectors for a set of kinds: `all`, whole areas, then single kinds."""
    if kinds >= KINDS.keys():
        return {ALL}
    selectors: set[str] = set()
    for area in AREAS:
        in_area = area_kinds(area)
        if in_area and in_area <= kinds:
            selectors.add(f"area:{area}")
        else:
            selectors |= {f"kind:{k}" for k in in_area & kinds}
    return selectors


def plan(
    current: Iterable[str], targets: Iterable[str], *, subscribe: bool
) -> tuple[set[str], set[str]]:
    """Rows to (add, remove) so the chat hears ``current`` plus/minus ``targets``.

    Nothing changes when the set of kinds heard stays the same, so rows someone wrote in
    another shape are left alone.
    """
    current = set(current)
    have, asked = covered(current), covered(targets)
    wanted = have | asked if subscribe else have - asked
    if wanted == have:
        return set(), set()
    result = canonical(wanted)
    return result - current, current - result


def selector_order(selector: str) -> tuple[int, int]:
    """all, then areas in registry order, then kinds in registry order."""
    if selector == ALL:
        return (0, 0)
    if selector.startswith("area:") and selector[5:] in AREAS:
        return (1, AREAS.index(selector[5:]))
    names = list(KINDS)
    name = selector.removeprefix("kind:")
    return (2, names.index(name) if name in names else len(names))
