"""Who may do what: the one access table.

Every command, wizard step and button names its rule here when its router registers it
(``flags=rule("locate")``); the access middleware (bot/access.py) reads the rule of the handler
that matched and enforces it, for messages and button presses alike. /help, the command menus
and the README's role table are derived from or checked against this table (tests/unit).

A rule says:
- ``role``: the least role needed (None: anyone, strangers included);
- ``in_groups``: a stricter role needed in a group chat (a group's alerts are everyone's there);
- ``service``: the integration that must be configured (else "not configured" is answered);
- ``private_only``: it shows people or internals, so in a group it only says "ask me in private";
- ``any_service``: at least one of these must be (a command that speaks for several, /balance).

A command may have subcommands that need another role (``/wagon 54676515`` reads,
``/wagon add …`` changes): they are rules of their own in :data:`SUBCOMMANDS`, named
``"<command> <word>"``, and the README lists them as rows of their own.

Roles: viewer < dispatcher < admin (storage.users.Role).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from storage.users import Role

V, D, A = Role.VIEWER, Role.DISPATCHER, Role.ADMIN

# Areas in the order /help shows them.
AREAS = ("common", "alerts", "drivers", "tasks", "taxi", "wagons", "admin")
GROUP_TYPES = frozenset({"group", "supergroup"})


@dataclass(frozen=True)
class Rule:
    role: Role | None
    in_groups: Role | None = None
    service: str | None = None
    private_only: bool = False
    any_service: tuple[str, ...] = ()

    def unconfigured(self, present: Callable[[str], bool]) -> tuple[str, ...]:
        """The services whose absence refuses this rule now (empty: go ahead)."""
        if self.service is not None and not present(self.service):
            return (self.service,)
        if self.any_service and not any(present(name) for name in self.any_service):
            return self.any_service
        return ()

    def required(self, chat_type: str | None) -> Role | None:
        """The role needed in a chat of this type."""
        if chat_type in GROUP_TYPES and self.in_groups is not None:
            return self.in_groups
        return self.role


@dataclass(frozen=True)
class CommandRule(Rule):
    area: str = "common"
    # A command that reads for everyone but changes something when given arguments (/quiet
    # shows the quiet hours; /quiet 22:00-07:00 sets them): the role that changing needs in a
    # group. The handler asks :func:`may_change` before it changes anything.
    changes_in_groups: Role | None = None


def _cmd(area: str, role: Role | None, **options: object) -> CommandRule:
    return CommandRule(role, area=area, **options)  # type: ignore[arg-type]


# --- commands (the order within an area is /help's order) --------------------------------------
COMMANDS: Final[dict[str, CommandRule]] = {
    "start": _cmd("common", None),
    "help": _cmd("common", None),
    "cancel": _cmd("common", V),
    # Every configured service's balance (Movizor, Alta): on while at least one is configured.
    "balance": _cmd("common", V, any_service=("movizor", "alta")),
    # One search box over every service: it skips those that are not configured itself.
    "find": _cmd("common", V),
    # Alerts: viewers set up their own private chat; a group's alerts need a dispatcher.
    "subscribe": _cmd("alerts", V, changes_in_groups=D),
    "unsubscribe": _cmd("alerts", V, changes_in_groups=D),
    "subscriptions": _cmd("alerts", V),
    "mute": _cmd("alerts", V, in_groups=D),
    "unmute": _cmd("alerts", V, in_groups=D),
    "quiet": _cmd("alerts", V, changes_in_groups=D),
    "timezone": _cmd("alerts", V, changes_in_groups=D),
    # Digests and reports: anyone reads; a group's digest hour is a dispatcher's to set.
    "digest": _cmd("alerts", V, changes_in_groups=D),
    "report": _cmd("alerts", V),
    # Escalation and on-call (bot/escalation): everyone reads, a group's dispatchers change.
    "escalation": _cmd("alerts", V, changes_in_groups=D),
    "oncall": _cmd("alerts", V, changes_in_groups=D),
    # A chat's own settings (zone, quiet hours, language…): a dispatcher changes a group's,
    # anyone their private chat's; the bot's settings are an admin's, in private
    # (handlers/settings/router.py checks which).
    "settings": _cmd("alerts", V, changes_in_groups=D),
    # Drivers (Movizor): viewers read, dispatchers change.
    "locate": _cmd("drivers", V, service="movizor"),
    "drivers": _cmd("drivers", V, service="movizor"),
    "follow": _cmd("drivers", V, service="movizor"),
    "unfollow": _cmd("drivers", V, service="movizor"),
    "events": _cmd("drivers", V, service="movizor"),
    "operator": _cmd("drivers", V, service="movizor"),
    "shares": _cmd("drivers", V, service="movizor"),
    "track": _cmd("drivers", D, service="movizor"),
    "route": _cmd("drivers", D, service="movizor"),
    "untrack": _cmd("drivers", D, service="movizor"),
    "reactivate": _cmd("drivers", D, service="movizor"),
    "share": _cmd("drivers", D, service="movizor"),
    "unshare": _cmd("drivers", D, service="movizor"),
    # Tasks (Mobiforce): viewers read, dispatchers change.
    "task": _cmd("tasks", V, service="mobiforce"),
    "tasks": _cmd("tasks", V, service="mobiforce"),
    "clients": _cmd("tasks", V, service="mobiforce"),
    "client": _cmd("tasks", V, service="mobiforce"),
    "employees": _cmd("tasks", V, service="mobiforce"),
    "comment": _cmd("tasks", D, service="mobiforce"),
    "close": _cmd("tasks", D, service="mobiforce"),
    # Taxi (Taxi-Master): viewers read, dispatchers order.
    "taxi": _cmd("taxi", D, service="taximaster"),
    "order": _cmd("taxi", V, service="taximaster"),
    "orders": _cmd("taxi", V, service="taximaster"),
    "taxi_cost": _cmd("taxi", V, service="taximaster"),
    "crews": _cmd("taxi", V, service="taximaster"),
    "tariffs": _cmd("taxi", V, service="taximaster"),
    # Wagons and containers (Alta): viewers read, dispatchers put on / take off tracking.
    "wagon": _cmd("wagons", V, service="alta"),
    "wagons": _cmd("wagons", V, service="alta"),
    # Administration.
    "users": _cmd("admin", A, private_only=True),
    "grant": _cmd("admin", A),
    "revoke": _cmd("admin", A),
    "chats": _cmd("admin", A, private_only=True),
    "audit": _cmd("admin", A, private_only=True),
    "status": _cmd("admin", A, private_only=True),
    "pause": _cmd("admin", A),
    "resume": _cmd("admin", A),
}

# --- subcommands that need another role than their command's reading form --------------------
SUBCOMMANDS: Final[dict[str, CommandRule]] = {
    "task new": _cmd("tasks", D, service="mobiforce"),  # the wizard, its steps and buttons
    "wagon add": _cmd("wagons", D, service="alta"),
    "wagon cancel": _cmd("wagons", D, service="alta"),
}

# --- buttons and actions inside commands ---------------------------------------------------------
ACTIONS: Final[dict[str, Rule]] = {
    # An alert's buttons silence it for the whole chat: in a group, what /mute needs there.
    "button.alert_ack": Rule(V, in_groups=D),
    "button.alert_silence": Rule(V, in_groups=D),
    # An escalation's copy: in a group as the alert's own buttons; in private, whoever it
    # reached may take it (the on-call person always may).
    "button.escalation": Rule(V, in_groups=D),
    "button.escalation_section": Rule(V),  # the /settings row: shows the chain (reading only)
    "button.alert_list": Rule(V),  # a storm summary's list and its subjects: reading only
    "button.digest_list": Rule(V),  # a digest's list of one area: reading only
    "button.confirm": Rule(V),  # the confirmation itself is tied to the user who asked
    "button.access_request": Rule(A),
    "button.chat_status": Rule(A),
    "button.subscriptions": Rule(V),
    "button.settings": Rule(V),  # the role each change needs is checked when pressed
    "button.find": Rule(V),  # a /find choice; the chosen service is checked when pressed
    "button.driver_pick": Rule(V, service="movizor"),
    "button.driver_refresh": Rule(D, service="movizor"),  # a paid pos_request
    "button.drivers_page": Rule(V, service="movizor"),
    "button.mobiforce_task": Rule(V, service="mobiforce"),
    "button.mobiforce_tasks_page": Rule(V, service="mobiforce"),
    "button.mobiforce_client": Rule(V, service="mobiforce"),
    "button.mobiforce_change": Rule(D, service="mobiforce"),
    "button.alta_add_settings": Rule(D, service="alta"),
    "button.alta_wagons_page": Rule(V, service="alta"),
    "button.taximaster_order_refresh": Rule(V, service="taximaster"),
    # An order nobody here watches goes on the poll only by an admin's explicit choice.
    "button.taximaster_order_watch": Rule(A, service="taximaster"),
    "button.taximaster_crew_map": Rule(V, service="taximaster"),
    "button.taximaster_crews_page": Rule(V, service="taximaster"),
}

RULES: Final[dict[str, Rule]] = {**COMMANDS, **SUBCOMMANDS, **ACTIONS}
DEFAULT_RULE: Final = Rule(V)


def rule(name: str) -> dict[str, str]:
    """Handler flags naming a rule of this table (unknown names fail at start-up)."""
    if name not in RULES:
        raise KeyError(f"no access rule {name!r} in bot/policy.py")
    return {"rule": name}


def rule_of(name: str | None) -> Rule:
    return RULES.get(name or "", DEFAULT_RULE)


def allows(role: Role | None, needed: Role | None) -> bool:
    return needed is None or (role is not None and role.allows(needed))


def change_role(command: str, chat_type: str | None) -> Role | None:
    """The role needed to change something with ``command`` in a chat of this type."""
    spec = COMMANDS[command]
    if chat_type in GROUP_TYPES and spec.changes_in_groups is not None:
        return spec.changes_in_groups
    return spec.required(chat_type)


def may_change(command: str, chat_type: str | None, role: Role | None) -> bool:
    return allows(role, change_role(command, chat_type))
