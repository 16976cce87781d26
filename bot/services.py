"""The service shape: what an integration brings to the bot, and the registry of them.

A service is ``integrations/<service>/`` (client, watcher) plus
``handlers/<service>/`` (router, texts, its runtime). Its handlers package registers one
:class:`ServiceSpec` here (``register(SPEC)`` in ``handlers/<service>/service.py``) and
``handlers/__init__.py`` imports it: that line is the only place a service is named. The app,
``/status``, ``/pause``/``/resume``, ``logibot check``, the health endpoint and the access
middleware all work from this registry.

A configured service gets a runtime (:class:`ServiceRuntime`) built with the app's shared parts
(:class:`ServiceContext`); a service without credentials has none, its commands answer "not
configured" (bot/policy.py, ``service=``) and its dependency names are ``None`` for handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import Bot, Router

from bot.config import Settings
from bot.i18n import PoI18n
from bot.metrics import Metrics
from integrations.base import Watcher
from storage import Repos

if TYPE_CHECKING:
    from bot.alerts.pipeline import AlertPipeline
    from bot.settings.values import SettingsValues


@dataclass(frozen=True)
class ServiceContext:
    """The app's shared parts a service runtime may use."""

    settings: Settings
    bot: Bot
    repos: Repos
    i18n: PoI18n
    metrics: Metrics
    pipeline: AlertPipeline
    # The settings changed from the chat: a runtime reads its knobs here and registers
    # change hooks (bot/settings); its poll period reschedules its watcher by itself.
    settings_values: SettingsValues


class ServiceRuntime(Protocol):
    """A configured service inside a running bot."""

    def dependencies(self) -> dict[str, Any]:
        """What its handlers ask for by name (typed keyword arguments), e.g. its client."""
        ...

    def watchers(self) -> list[tuple[Watcher, int]]:
        """Its watchers and their poll periods in seconds."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Stop background work and close clients (called once, at shutdown)."""
        ...

    def unlock(self) -> bool:
        """Lift a lock the client set after the vendor refused our credentials (``/resume``);
        True if there was one."""
        ...

    def locked(self) -> bool:
        """Whether calls are stopped after the vendor refused our credentials."""
        ...


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # integration name: the watcher's, the /pause argument, the settings prefix
    title: str  # as people know it: "Taxi-Master"
    make_router: Callable[[], Router]
    configured: Callable[[Settings], bool]
    build: Callable[[ServiceContext], ServiceRuntime]
    # `logibot check`: the cheapest call that proves address and credentials -> a short line.
    check: Callable[[Settings], Awaitable[str]]
    # Names its handlers ask for; None for each while the service is not configured.
    dependency_names: tuple[str, ...] = ()
    # The alert area its kinds belong to (bot/alerts/kinds.py); the demo group hears it.
    area: str = ""
    # /balance: the service's lines, given the handler's data (its dependencies by name); called
    # only while the service is configured. A typed integration error is shown in its place.
    balance: Callable[[dict[str, Any]], Awaitable[list[str]]] | None = None


REGISTRY: dict[str, ServiceSpec] = {}


def register(spec: ServiceSpec) -> ServiceSpec:
    REGISTRY[spec.name] = spec
    return spec


def title_of(name: str) -> str:
    spec = REGISTRY.get(name)
    return spec.title if spec else name
