"""The command catalogue: one place that knows every command, its area and the role it needs.

/help, Telegram's command menus (setMyCommands per role and language), usage lines for bad
arguments and "did you mean" hints are all derived from this list, so they cannot drift apart.
Routers add their own commands with :func:`register`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from storage.users import Role

# Areas in the order /help shows them.
AREAS = ("common", "alerts", "drivers", "tasks", "taxi", "wagons", "admin")


@dataclass(frozen=True)
class CommandSpec:
    name: str  # without the slash
    area: str
    role: Role | None  # None: anyone, even a stranger
    # Text ids: "cmd.<name>" is the one-line description, "usage.<name>" the argument syntax.

    @property
    def description_key(self) -> str:
        return f"cmd.{self.name}"

    @property
    def usage_key(self) -> str:
        return f"usage.{self.name}"


CATALOGUE: dict[str, CommandSpec] = {}


def register(name: str, area: str, role: Role | None) -> CommandSpec:
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r}")
    spec = CommandSpec(name, area, role)
    CATALOGUE[name] = spec
    return spec


def allowed(spec: CommandSpec, role: Role | None) -> bool:
    if spec.role is None:
        return True
    return role is not None and role.allows(spec.role)


def commands_for(role: Role | None) -> list[CommandSpec]:
    """Commands a role may use, grouped by area in /help order."""
    order = {area: i for i, area in enumerate(AREAS)}
    specs = [spec for spec in CATALOGUE.values() if allowed(spec, role)]
    return sorted(specs, key=lambda s: (order[s.area], list(CATALOGUE).index(s.name)))


def closest(name: str, role: Role | None) -> str | None:
    """The command a typo most likely meant, among those the role may use."""
    names = [spec.name for spec in commands_for(role)]
    matches = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    return matches[0] if matches else None


# The foundation's own commands; each area's router registers the rest.
register("start", "common", None)
register("help", "common", None)
register("users", "admin", Role.ADMIN)
register("grant", "admin", Role.ADMIN)
register("revoke", "admin", Role.ADMIN)
register("chats", "admin", Role.ADMIN)
register("audit", "admin", Role.ADMIN)

# Alerts. Viewers manage alerts for their own private chat; in groups a dispatcher is needed
# (checked in the handlers, since it depends on the chat).
register("subscribe", "alerts", Role.VIEWER)
register("unsubscribe", "alerts", Role.VIEWER)
register("subscriptions", "alerts", Role.VIEWER)
register("mute", "alerts", Role.VIEWER)
register("unmute", "alerts", Role.VIEWER)
register("quiet", "alerts", Role.VIEWER)
register("timezone", "alerts", Role.VIEWER)
register("status", "admin", Role.ADMIN)
register("pause", "admin", Role.ADMIN)
register("resume", "admin", Role.ADMIN)

# Drivers (Movizor): viewers read, dispatchers change.
register("locate", "drivers", Role.VIEWER)
register("drivers", "drivers", Role.VIEWER)
register("follow", "drivers", Role.VIEWER)
register("unfollow", "drivers", Role.VIEWER)
register("events", "drivers", Role.VIEWER)
register("operator", "drivers", Role.VIEWER)
register("balance", "drivers", Role.VIEWER)
register("shares", "drivers", Role.VIEWER)
register("track", "drivers", Role.DISPATCHER)
register("route", "drivers", Role.DISPATCHER)
register("untrack", "drivers", Role.DISPATCHER)
register("reactivate", "drivers", Role.DISPATCHER)
register("share", "drivers", Role.DISPATCHER)
register("unshare", "drivers", Role.DISPATCHER)
register("cancel", "common", Role.VIEWER)
