"""The effective value of every setting, and changing it: one per app (`LogiBot.settings_values`,
handed to handlers as ``settings_values``).

Where a value comes from, first found wins:

- GLOBAL: the value an admin set (database), else the environment (`.env`, as before the
  registry), else the setting's default;
- CHAT: the topic's own value, else (in a topic) the whole chat's, else the default.

`set` and `reset` validate, store, write the audit entry in the same transaction (who, old ->
new), then call the setting's change hooks (a watcher rescheduled, a cache dropped).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from bot.settings.registry import ChangeHook, ChatKey, Rule, Scope, Setting, SettingError
from bot.settings.stores import ChatPrefsStore, TableStore, ValueStore
from storage import Repos
from storage.audit import AuditRepo
from storage.db import Transaction
from storage.setting_values import StoredValue

log = logging.getLogger(__name__)

T = TypeVar("T")

SourceKind = Literal["default", "env", "set"]


@dataclass(frozen=True)
class ValueSource:
    kind: SourceKind
    by: int | None = None  # "set": who
    at: datetime | None = None  # "set": when
    inherited: bool = False  # a topic's value that is its chat's


class SettingsValues:
    def __init__(self, repos: Repos, from_environment: Mapping[str, Any] | None = None) -> None:
        """``from_environment``: the GLOBAL settings' values the deployment's environment gave,
        by setting name, already checked (`read_environment`)."""
        self.repos = repos
        self._table = TableStore(repos)
        self._chat_prefs = ChatPrefsStore(repos)
        self._stores: dict[str, ValueStore] = {}
        self._hooks: dict[str, list[ChangeHook]] = {}
        self._hooked: dict[str, Setting[Any]] = {}
        self._rules: dict[str, tuple[Rule, ...]] = {}
        self._applied: dict[str, Any] = {}  # what each GLOBAL setting's hooks last got
        self._from_environment = dict(from_environment or {})

    # --- wiring ------------------------------------------------------------------------
    def use_store(self, setting: Setting[Any], store: ValueStore) -> None:
        self._stores[setting.name] = store

    def on_change(self, setting: Setting[T], hook: ChangeHook) -> None:
        self._hooks.setdefault(setting.name, []).append(hook)
        self._hooked[setting.name] = setting

    def add_rule(self, setting: Setting[Any], rule: Rule) -> None:
        """A rule known only once the app is built (Movizor's budget is the client's)."""
        self._rules[setting.name] = (*self._rules.get(setting.name, ()), rule)

    def validate(self, setting: Setting[T], value: T) -> T:
        return setting.validate(value, self._rules.get(setting.name, ()))

    def parse(self, setting: Setting[T], text: str) -> T:
        """What a person typed, validated by every rule: raises SettingError naming it."""
        return self.validate(setting, setting.kind.parse(text))

    async def apply_all(self) -> None:
        """At start: every GLOBAL setting's hooks get its effective value (a value set from
        the chat before the restart wins over what the app was built with)."""
        await self.refresh(everything=True)

    async def refresh(self, *, everything: bool = False) -> list[str]:
        """Call the hooks of every GLOBAL setting whose value is not the one they last got:
        a value changed by another process on the same PostgreSQL (the app runs this now
        and then there). Returns the names refreshed."""
        refreshed = []
        for name, setting in self._hooked.items():
            if setting.scope is not Scope.GLOBAL:
                continue
            value = await self.get(setting)
            if not everything and name in self._applied and self._applied[name] == value:
                continue
            await self._call_hooks(setting, value, None)
            refreshed.append(name)
        return refreshed

    # --- reading -----------------------------------------------------------------------
    async def get(self, setting: Setting[T], chat: ChatKey | None = None) -> T:
        value, _source = await self._effective(setting, chat)
        return value

    async def source(self, setting: Setting[Any], chat: ChatKey | None = None) -> ValueSource:
        _value, source = await self._effective(setting, chat)
        return source

    async def effective(
        self, setting: Setting[T], chat: ChatKey | None = None
    ) -> tuple[T, ValueSource]:
        """The value and where it comes from, in one read."""
        return await self._effective(setting, chat)

    async def _effective(
        self, setting: Setting[T], chat: ChatKey | None, *, own: bool = True
    ) -> tuple[T, ValueSource]:
        """``own=False``: what it would be without this place's own value (after a reset)."""
        chat = self._checked_place(setting, chat)
        places: list[ChatKey | None] = [chat] if own else []
        if chat is not None and chat.thread_id and setting.topic_inherits:
            places.append(chat.whole_chat)
        for place in places:
            stored = await self._load(setting, place)
            if stored is not None:
                value, row = stored
                inherited = place != chat
                return value, ValueSource("set", row.set_by, row.set_at, inherited)
        return self._fallback(setting)

    def _fallback(self, setting: Setting[T]) -> tuple[T, ValueSource]:
        if setting.name in self._from_environment:
            return self._from_environment[setting.name], ValueSource("env")
        return setting.default, ValueSource("default")  # type: ignore[return-value]

    async def _load(
        self, setting: Setting[T], chat: ChatKey | None
    ) -> tuple[T, StoredValue] | None:
        row = await self._store(setting).load(setting, chat)
        if row is None:
            return None
        try:
            return self.validate(setting, setting.kind.load(row.value)), row
        except (SettingError, TypeError, ValueError) as exc:
            # A value stored under older rules: ignored (logged), not fatal.
            log.warning("setting %s: stored value %r refused (%s)", setting.name, row.value, exc)
            return None

    # --- changing ----------------------------------------------------------------------
    async def set(
        self, setting: Setting[T], value: T, *, by: int, chat: ChatKey | None = None
    ) -> None:
        """Validate (SettingError naming the rule), store, audit, then the change hooks."""
        chat = self._checked_place(setting, chat)
        self._refuse_secret(setting)
        value = self.validate(setting, value)
        old, _source = await self._effective(setting, chat)
        async with self.repos.db.transaction() as tx:
            await self._store(setting).save(tx, setting, setting.kind.dump(value), by, chat)
            await self._audit(tx, "setting.set", setting, by, chat, old, value)
        await self._changed(setting, chat)

    async def reset(self, setting: Setting[Any], *, by: int, chat: ChatKey | None = None) -> None:
        """Back to the environment's value (GLOBAL) or the default / the whole chat's (CHAT)."""
        chat = self._checked_place(setting, chat)
        self._refuse_secret(setting)
        old, _source = await self._effective(setting, chat)
        new, _source = await self._effective(setting, chat, own=False)
        async with self.repos.db.transaction() as tx:
            await self._store(setting).remove(tx, setting, chat)
            await self._audit(tx, "setting.reset", setting, by, chat, old, new)
        await self._changed(setting, chat)

    async def _audit(
        self,
        tx: Transaction,
        action: str,
        setting: Setting[Any],
        by: int,
        chat: ChatKey | None,
        old: Any,
        new: Any,
    ) -> None:
        place = {} if chat is None else {"chat_id": chat.chat_id, "thread_id": chat.thread_id}
        await AuditRepo.record_in(
            tx,
            by,
            action,
            setting.name,
            old=None if old is None else setting.kind.dump(old),
            new=None if new is None else setting.kind.dump(new),
            **place,
        )

    async def _changed(self, setting: Setting[Any], chat: ChatKey | None) -> None:
        if self._hooks.get(setting.name):
            await self._call_hooks(setting, await self.get(setting, chat), chat)

    async def _call_hooks(self, setting: Setting[Any], value: Any, chat: ChatKey | None) -> None:
        if chat is None:
            self._applied[setting.name] = value
        for hook in self._hooks.get(setting.name, []):
            try:
                await hook(value, chat)
            except Exception:
                # The value is stored; a hook that fails (a watcher not rescheduled) is logged
                # and the next start applies it.
                log.exception("setting %s: a change hook failed", setting.name)

    # --- helpers -----------------------------------------------------------------------
    def _store(self, setting: Setting[Any]) -> ValueStore:
        if setting.name in self._stores:
            return self._stores[setting.name]
        if setting.stored_in is not None and setting.stored_in.startswith("chat_prefs."):
            return self._chat_prefs
        return self._table

    @staticmethod
    def _checked_place(setting: Setting[Any], chat: ChatKey | None) -> ChatKey | None:
        if setting.scope is Scope.GLOBAL:
            return None  # a GLOBAL setting has one value whatever chat asks
        if chat is None:
            raise ValueError(f"{setting.name} is set per chat: a ChatKey is needed")
        return chat

    @staticmethod
    def _refuse_secret(setting: Setting[Any]) -> None:
        if setting.secret:
            raise SettingError("setting.rule.secret")


def read_environment(
    settings: Iterable[Setting[Any]], config: Any
) -> tuple[dict[str, Any], list[str]]:
    """The GLOBAL settings' values from the variables a deployment gave (``config``, a
    `bot.config.Settings`: only the variables set, not pydantic's defaults), by setting name,
    and the problems: a value that breaks a setting's rule, one line each (the app refuses to
    start with them, as with any wrong variable)."""
    given = {name.upper(): getattr(config, name) for name in config.model_fields_set}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in settings:
        if setting.env is None or setting.env not in given:
            continue
        try:
            values[setting.name] = setting.validate(setting.kind.from_env(given[setting.env]))
        except SettingError as exc:
            problems.append(f"{setting.env}: {exc}")
    return values, problems
