"""The settings registry: every knob an admin or a chat may change, declared once.

A pure declaration module (no aiogram, no storage): a feature declares its settings in its own
module at import (``declare(Setting(...))``), the app imports those modules while it is built,
and `all_settings()` is then complete. Values live elsewhere: `bot.settings.values` reads the
effective value (stored, else environment, else default) and changes it.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bot.settings.kinds import (
    Choice,
    Code,
    Duration,
    Flag,
    Kind,
    Number,
    OptionalKind,
    SettingError,
    TextList,
    TimeOfDay,
    TimesOfDay,
    TimeWindow,
    Zone,
    tr,
)

T = TypeVar("T")

__all__ = [
    "SERVICES",
    "ChatKey",
    "ChatSection",
    "Choice",
    "Code",
    "Duration",
    "Flag",
    "Kind",
    "Number",
    "OptionalKind",
    "Scope",
    "Setting",
    "SettingError",
    "TextList",
    "TimeOfDay",
    "TimeWindow",
    "TimesOfDay",
    "Zone",
    "all_settings",
    "chat_sections",
    "declare",
    "declare_poll",
    "find_setting",
    "register_chat_section",
    "tr",
]

# The services a setting may belong to, in the order the /settings screen lists them
# (None, the general settings, comes first).
SERVICES = ("movizor", "mobiforce", "taximaster", "alta")


class Scope(enum.Enum):
    GLOBAL = "global"  # one value for the whole bot (env default, admin changes it)
    CHAT = "chat"  # one value per chat and forum topic: ChatKey(chat_id, thread_id)


@dataclass(frozen=True)
class ChatKey:
    chat_id: int
    thread_id: int = 0  # 0 = the whole chat (not a topic)

    @property
    def whole_chat(self) -> ChatKey:
        return ChatKey(self.chat_id, 0)


# A rule beyond the kind's own (a vendor's limit that depends on the value): raises SettingError.
Rule = Callable[[Any], None]


@dataclass(frozen=True)
class Setting(Generic[T]):
    name: str  # dotted, lower case: "alta.poll_seconds", "digest.hour"
    kind: Kind[T]
    default: T | None  # used when neither env nor a stored value gives one
    scope: Scope
    service: str | None  # "movizor" | "mobiforce" | "taximaster" | "alta" | None (general)
    area: str  # grouping on the /settings screen: "polling", "alerts", "digest"…
    live: bool  # applies without restart
    env: str | None = None  # GLOBAL only: the environment variable that gives the default
    secret: bool = False  # never shown, never settable from a chat
    rules: tuple[Rule, ...] = field(default=(), compare=False)  # vendors' rules beyond the kind
    # CHAT: a forum topic without its own value takes its chat's (False: the default instead,
    # as quiet hours do: routing reads a topic's own).
    topic_inherits: bool = True
    # Where the values live when not in setting_values: "chat_prefs.timezone" or
    # "chat_prefs.quiet" (the columns routing reads; bot/settings/stores.py).
    stored_in: str | None = None

    def __post_init__(self) -> None:
        if self.name != self.name.lower() or "." not in self.name or " " in self.name:
            raise ValueError(f"setting names are dotted lower case: {self.name!r}")
        if self.env is not None and self.scope is not Scope.GLOBAL:
            raise ValueError(f"{self.name}: only a GLOBAL setting takes its default from env")
        if self.service is not None and self.service not in SERVICES:
            raise ValueError(f"{self.name}: unknown service {self.service!r}")

    @property
    def label(self) -> str:
        """How rules and `logibot check` name it: the environment variable when there is one."""
        return self.env or self.name

    @property
    def title_key(self) -> str:
        """The .po key of the setting's human name on the /settings screen."""
        return f"setting.{self.name}"

    def validate(self, value: T, extra_rules: tuple[Rule, ...] = ()) -> T:
        """The kind's check, then the setting's own rules (and those the app added: a budget
        known only once the client is built); raises SettingError naming the rule."""
        value = self.kind.check(value)
        for rule in (*self.rules, *extra_rules):
            rule(value)
        return value

    def parse(self, text: str) -> T:
        """A typed value, validated: raises SettingError naming the rule."""
        return self.validate(self.kind.parse(text))


_REGISTRY: dict[str, Setting[Any]] = {}


def declare(setting: Setting[T]) -> Setting[T]:
    """Register a setting (names are unique) and return it, for the declaring module to keep."""
    known = _REGISTRY.get(setting.name)
    if known is not None and known != setting:
        raise ValueError(f"setting {setting.name!r} is declared twice")
    _REGISTRY[setting.name] = setting
    return setting


def declare_poll(
    service: str, default: int, *, min: int, rule_key: str | None = None
) -> Setting[int]:
    """A service's poll period, "<service>.poll_seconds" from <SERVICE>_POLL_SECONDS (at most
    a day): the app reschedules the service's watcher when it changes (bot/app.py)."""
    kind = Number(min=min, max=24 * 3600, unit="seconds", rule_key=rule_key)
    return declare(
        Setting(
            f"{service}.poll_seconds",
            kind,  # type: ignore[arg-type]
            default,
            Scope.GLOBAL,
            service,
            "polling",
            live=True,
            env=f"{service.upper()}_POLL_SECONDS",
        )
    )


def all_settings() -> list[Setting[Any]]:
    return list(_REGISTRY.values())


def find_setting(name: str) -> Setting[Any] | None:
    return _REGISTRY.get(name.strip().lower())


@dataclass(frozen=True)
class ChatSection:
    """A row of a chat's /settings screen that opens a feature's own screen (what needs more
    than one typed value: an escalation chain's steps, an on-call rota). The row is a button
    sending ``open_callback_prefix`` as its callback data; the feature's router answers it."""

    area: str  # the area whose rows it joins (titled by "setting.area.<area>")
    title_key: str  # the .po key of the button's text
    open_callback_prefix: str  # the callback data (short: Telegram allows 64 bytes)


_SECTIONS: dict[str, ChatSection] = {}


def register_chat_section(area: str, title_key: str, open_callback_prefix: str) -> ChatSection:
    section = ChatSection(area, title_key, open_callback_prefix)
    known = _SECTIONS.get(open_callback_prefix)
    if known is not None and known != section:
        raise ValueError(f"chat section {open_callback_prefix!r} is registered twice")
    _SECTIONS[open_callback_prefix] = section
    return section


def chat_sections() -> list[ChatSection]:
    return list(_SECTIONS.values())


# A change hook: the new effective value and the chat it changed for (None: GLOBAL).
ChangeHook = Callable[[Any, ChatKey | None], Awaitable[None]]
