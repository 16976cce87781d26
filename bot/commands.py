"""The command catalogue, derived from the access table (bot/policy.py).

/help, Telegram's command menus (setMyCommands per role and language), usage lines for bad
arguments and "did you mean" hints are all derived from it, so they cannot drift apart.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.policy import AREAS, COMMANDS
from bot.policy import allows as policy_allows
from storage.users import Role


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


CATALOGUE: dict[str, CommandSpec] = {
    name: CommandSpec(name, rule.area, rule.role) for name, rule in COMMANDS.items()
}


def allowed(spec: CommandSpec, role: Role | None) -> bool:
    return policy_allows(role, spec.role)


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
