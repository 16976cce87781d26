"""The access table (bot/policy.py) is the one policy: every handler names a rule from it, and
the README's role table says what it says."""

import re
from pathlib import Path

from aiogram import Router

from bot.policy import COMMANDS, RULES, SUBCOMMANDS, V
from handlers import build_root_router

README = Path(__file__).resolve().parents[2] / "README.md"
README_ROLES = {"viewer": V, "dispatcher": COMMANDS["track"].role, "admin": COMMANDS["users"].role}


def handlers_of(router: Router):
    for observer in (router.message, router.callback_query):
        yield from observer.handlers
    for child in router.sub_routers:
        yield from handlers_of(child)


def test_every_message_and_button_handler_names_a_rule_of_the_table():
    unnamed, unknown = [], []
    for handler in handlers_of(build_root_router()):
        flags = handler.flags
        if flags.get("system"):
            continue  # service messages about a chat, not requests
        name = flags.get("rule")
        if name is None:
            unnamed.append(handler.callback.__qualname__)
        elif name not in RULES:
            unknown.append(name)
    # The fallback router answers unknown commands and stray text to anyone with access.
    unnamed = [n for n in unnamed if n not in {"unknown_command", "not_a_command"}]
    assert not unnamed, f"handlers without an access rule: {unnamed}"
    assert not unknown


def readme_role_table() -> dict[str, tuple[str, bool]]:
    """command (or "command subcommand") -> (role word, footnote ¹ = stricter in groups), from
    the README's table."""
    rows: dict[str, tuple[str, bool]] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) < 3 or not cells[0].startswith("`/"):
            continue
        match = re.fullmatch(r"(viewer|dispatcher|admin)(¹?)", cells[1])
        if match is None:
            continue
        for name, word in re.findall(r"`/(\w+)(?: (\w+))?", cells[0]):
            key = f"{name} {word}" if f"{name} {word}" in SUBCOMMANDS else name
            rows[key] = (match.group(1), bool(match.group(2)))
    return rows


def test_the_readme_role_table_matches_the_policy():
    table = readme_role_table()
    listed = set(COMMANDS) | set(SUBCOMMANDS)
    assert set(table) == listed, "README and bot/policy.py list different commands"
    for name, (word, stricter_in_groups) in table.items():
        rule = COMMANDS.get(name) or SUBCOMMANDS[name]
        assert (rule.role or V) == README_ROLES[word], name
        assert stricter_in_groups == bool(rule.in_groups or rule.changes_in_groups), name
